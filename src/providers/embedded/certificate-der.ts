import { createHash } from 'node:crypto';
import { isIPv4, isIPv6 } from 'node:net';
import { bitString, boolean, contextConstructed, contextPrimitive, generalizedTime, integer, objectIdentifier, octetString, readSubjectPublicKey, sequence, set, utcTime, utf8String } from './der.js';

/**
 * The dev CA's certificates, DER-encoded here and signed with node:crypto.
 *
 * Why not @peculiar/x509 here: through its schema layer one end-entity certificate cost ~5 ms
 * of event-loop CPU (and a CSR, then verifying it, ~5 ms more), and loading it adds ~16 MiB and
 * ~0.4 s. asn1js alone, without the schema layer, still took ~3.8 ms per certificate (and cannot
 * place already-encoded bytes inside a constructed value). A publish of a volume with a
 * certificate must stay near 1 ms, and a node serving a rollout of 200 pods issues 200
 * certificates at once (bench/README.md). The embedded provider makes the key itself, so it
 * needs no CSR: the public key goes straight into the certificate. The structures are RFC 5280
 * §4.1's, written with the TLV helpers in der.ts; the signature is one WebCrypto call on the thread pool. Tests parse
 * every shape with two independent parsers (OpenSSL through node:crypto's X509Certificate, and
 * @peculiar/x509). Certificate requests from other signers (cert-manager, Vault) still go
 * through @peculiar/x509.
 */

/** KeyUsage bits as flags: bit n of RFC 5280's BIT STRING is `1 << n` (the same numbering as @peculiar/x509's KeyUsageFlags). */
export const KeyUsage = {
  digitalSignature: 1 << 0,
  nonRepudiation: 1 << 1,
  keyEncipherment: 1 << 2,
  dataEncipherment: 1 << 3,
  keyAgreement: 1 << 4,
  keyCertSign: 1 << 5,
  cRLSign: 1 << 6,
  encipherOnly: 1 << 7,
  decipherOnly: 1 << 8,
} as const;

export const ExtendedKeyUsage = { serverAuth: '1.3.6.1.5.5.7.3.1', clientAuth: '1.3.6.1.5.5.7.3.2' } as const;

export interface SubjectAltNames {
  readonly dnsNames: readonly string[];
  readonly ipAddresses: readonly string[];
  readonly uris: readonly string[];
}

export interface CertificateFields {
  /** Positive, at most 20 bytes, no superfluous leading zero (RFC 5280 §4.1.2.2). */
  readonly serial: Uint8Array;
  /** The issuer's Name, DER (the CA certificate's subject). */
  readonly issuer: Uint8Array;
  /** The subject's Name, DER; an empty Name when the certificate identifies by SANs only. */
  readonly subject: Uint8Array;
  /** Whole seconds: X.509 stores no fractions. */
  readonly notBefore: Date;
  readonly notAfter: Date;
  /** SubjectPublicKeyInfo, DER, as `KeyObject.export({ type: 'spki', format: 'der' })` gives it. */
  readonly subjectPublicKeyInfo: Uint8Array;
  /** `undefined`: an end-entity certificate; a number: a CA that may sign that many CAs below it. */
  readonly caPathLength?: number;
  readonly keyUsages: number;
  readonly extendedKeyUsages: readonly string[];
  readonly altNames?: SubjectAltNames;
  /** The issuer's subjectKeyIdentifier; absent for a self-signed root. */
  readonly authorityKeyIdentifier?: Uint8Array;
}

const OID = {
  ecdsaWithSha256: '1.2.840.10045.4.3.2',
  commonName: '2.5.4.3',
  subjectKeyIdentifier: '2.5.29.14',
  keyUsage: '2.5.29.15',
  subjectAltName: '2.5.29.17',
  basicConstraints: '2.5.29.19',
  authorityKeyIdentifier: '2.5.29.35',
  extKeyUsage: '2.5.29.37',
} as const;

/**
 * Signs TBS bytes with the issuer's ECDSA P-256 key over SHA-256 and returns the signature in
 * DER (Ecdsa-Sig-Value), as X.509 carries it.
 */
export type TbsSigner = (tbs: Uint8Array) => Promise<Uint8Array>;

/** A certificate for `fields`, signed by `signer` with ecdsa-with-SHA256. Returns the DER. */
export async function buildCertificate(fields: CertificateFields, signer: TbsSigner): Promise<Uint8Array> {
  // 1. TBSCertificate (RFC 5280 §4.1), in field order
  const signatureAlgorithm = sequence(objectIdentifier(OID.ecdsaWithSha256));
  const tbs = sequence(
    contextConstructed(0, integer(Uint8Array.of(2))), // version v3
    integer(fields.serial),
    signatureAlgorithm,
    fields.issuer,
    sequence(time(fields.notBefore), time(fields.notAfter)),
    fields.subject,
    fields.subjectPublicKeyInfo,
    contextConstructed(3, sequence(...extensions(fields))),
  );
  // 2. the signature over the TBS bytes
  const signature = await signer(tbs);
  // 3. Certificate ::= SEQUENCE { tbsCertificate, signatureAlgorithm, signatureValue }
  return sequence(tbs, signatureAlgorithm, bitString(signature, 0));
}

/** A Name of one RDN `CN=<commonName>` (UTF8String), or the empty Name. */
export function commonNameDer(commonName: string | undefined): Uint8Array {
  if (commonName === undefined) return sequence();
  return sequence(set(sequence(objectIdentifier(OID.commonName), utf8String(commonName))));
}

/** RFC 5280 §4.2.1.2 method 1: SHA-1 of the subjectPublicKey BIT STRING's bytes. */
export function subjectKeyIdentifier(subjectPublicKeyInfo: Uint8Array): Uint8Array {
  return createHash('sha1').update(readSubjectPublicKey(subjectPublicKeyInfo)).digest();
}

/** `-----BEGIN <label>-----`, base64 in 64-character lines. */
export function pem(der: Uint8Array, label: string): string {
  const base64 = Buffer.from(der).toString('base64');
  const lines = base64.match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${label}-----\n${lines.join('\n')}\n-----END ${label}-----\n`;
}

function extensions(fields: CertificateFields): Uint8Array[] {
  const isCa = fields.caPathLength !== undefined;
  const list = [extension(OID.basicConstraints, true, isCa ? sequence(boolean(true), integer(Uint8Array.of(fields.caPathLength ?? 0))) : sequence())];
  if (fields.keyUsages !== 0) list.push(extension(OID.keyUsage, true, keyUsageBits(fields.keyUsages)));
  if (fields.extendedKeyUsages.length > 0) list.push(extension(OID.extKeyUsage, false, sequence(...fields.extendedKeyUsages.map(objectIdentifier))));
  list.push(extension(OID.subjectKeyIdentifier, false, octetString(subjectKeyIdentifier(fields.subjectPublicKeyInfo))));
  if (fields.authorityKeyIdentifier !== undefined) {
    // AuthorityKeyIdentifier ::= SEQUENCE { keyIdentifier [0] IMPLICIT OCTET STRING }
    list.push(extension(OID.authorityKeyIdentifier, false, sequence(contextPrimitive(0, fields.authorityKeyIdentifier))));
  }
  const names = fields.altNames === undefined ? [] : generalNames(fields.altNames);
  // With an empty subject the SANs are the identity, and the extension must be critical (RFC 5280 §4.2.1.6).
  if (names.length > 0) list.push(extension(OID.subjectAltName, isEmptyName(fields.subject), sequence(...names)));
  return list;
}

/** Extension ::= SEQUENCE { extnID, critical BOOLEAN DEFAULT FALSE, extnValue OCTET STRING } — DER omits a false default. */
function extension(oid: string, critical: boolean, value: Uint8Array): Uint8Array {
  return critical ? sequence(objectIdentifier(oid), boolean(true), octetString(value)) : sequence(objectIdentifier(oid), octetString(value));
}

/** GeneralName: dNSName [2], uniformResourceIdentifier [6] (IA5String), iPAddress [7] (4 or 16 octets), all IMPLICIT. */
function generalNames(names: SubjectAltNames): Uint8Array[] {
  return [
    ...names.dnsNames.map((name) => contextPrimitive(2, Buffer.from(name, 'ascii'))),
    ...names.ipAddresses.map((ip) => contextPrimitive(7, ipAddressBytes(ip))),
    ...names.uris.map((uri) => contextPrimitive(6, Buffer.from(uri, 'ascii'))),
  ];
}

/** The named bits set in `flags`, as DER wants them: no trailing zero octets, unused bits counted. */
function keyUsageBits(flags: number): Uint8Array {
  const highest = 31 - Math.clz32(flags);
  const bytes = new Uint8Array((highest >> 3) + 1);
  for (let bit = 0; bit <= highest; bit++) {
    if ((flags & (1 << bit)) !== 0) bytes[bit >> 3] = (bytes[bit >> 3] ?? 0) | (0x80 >> (bit & 7));
  }
  return bitString(bytes, 7 - (highest & 7));
}

/** UTCTime through 2049, GeneralizedTime from 2050 (RFC 5280 §4.1.2.5). */
function time(date: Date): Uint8Array {
  return date.getUTCFullYear() < 2050 ? utcTime(date) : generalizedTime(date);
}

function isEmptyName(name: Uint8Array): boolean {
  return name.length === 2 && name[0] === 0x30 && name[1] === 0x00;
}

/** An IPv4 or IPv6 address (already validated by the parameters) as its 4 or 16 octets. */
export function ipAddressBytes(ip: string): Uint8Array {
  if (isIPv4(ip)) return Uint8Array.from(ip.split('.').map(Number));
  if (!isIPv6(ip)) throw new Error(`not an IP address: ${ip}`);
  // 1. an IPv4 tail (::ffff:1.2.3.4) becomes two groups
  let text = ip.includes('%') ? ip.slice(0, ip.indexOf('%')) : ip;
  const v4 = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(text);
  if (v4 !== null) {
    const [a, b, c, d] = v4.slice(1).map(Number) as [number, number, number, number];
    text = `${text.slice(0, v4.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  // 2. "::" stands for as many zero groups as are missing
  const [head = '', tail] = text.split('::');
  const headGroups = head === '' ? [] : head.split(':');
  const tailGroups = tail === undefined || tail === '' ? [] : tail.split(':');
  const zeros = tail === undefined ? [] : new Array<string>(8 - headGroups.length - tailGroups.length).fill('0');
  const groups = [...headGroups, ...zeros, ...tailGroups];
  const bytes = new Uint8Array(16);
  groups.forEach((group, i) => {
    const value = parseInt(group, 16);
    bytes[i * 2] = value >> 8;
    bytes[i * 2 + 1] = value & 0xff;
  });
  return bytes;
}

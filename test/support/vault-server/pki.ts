/**
 * The PKI secrets engine: one in-memory root CA per mount (ECDSA P-256, made when the first role
 * is added), `issue/<role>` (Vault makes the key) and `sign/<role>` (the caller's CSR).
 * Name checks, TTL capping and response fields follow the PKI API docs and the engine's
 * cert_util.go: the CN and `alt_names` must be allowed by the role, IP/URI SANs need the role's
 * permission, a TTL above the role's `max_ttl` is capped with Vault's warning, NotBefore is 30 s
 * in the past, serials are colon-separated hex, PEM blocks have no trailing newline.
 */
import { KeyObject, randomBytes, webcrypto } from 'node:crypto';
import { x509 } from '../../../src/providers/x509.js';
import type { PkiRoleOptions } from './types.js';
import { goDuration, parseDurationSeconds, type Now } from './time.js';
import { failure, ok, type Reply } from './wire.js';

type KeyPair = { privateKey: webcrypto.CryptoKey; publicKey: webcrypto.CryptoKey };

const CA_SIGNING = { name: 'ECDSA', hash: 'SHA-256' } as const;
const BACKDATE_MS = 30_000;
const CA_VALIDITY_MS = 10 * 365 * 86_400_000;

interface Names {
  readonly commonName: string;
  readonly dnsNames: string[];
  readonly emails: string[];
  readonly ips: string[];
  readonly uris: string[];
}

export class PkiMount {
  private readonly roles = new Map<string, PkiRoleOptions>();

  private constructor(
    private readonly now: Now,
    private readonly defaultTtl: number,
    private readonly maxTtl: number,
    private readonly ca: x509.X509Certificate,
    private readonly caKey: webcrypto.CryptoKey,
    /** The CA certificate, PEM, no trailing newline. */
    readonly caPem: string,
  ) {}

  static async create(mount: string, now: Now, defaultTtl: number, maxTtl: number): Promise<PkiMount> {
    const keys = (await webcrypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, false, ['sign', 'verify'])) as KeyPair;
    const start = now();
    const ca = await x509.X509CertificateGenerator.createSelfSigned({
      serialNumber: serial(),
      name: `CN=vault-test-server ${mount} root CA`,
      notBefore: new Date(Math.floor((start - BACKDATE_MS) / 1000) * 1000),
      notAfter: new Date(Math.floor((start + CA_VALIDITY_MS) / 1000) * 1000),
      keys,
      signingAlgorithm: CA_SIGNING,
      extensions: [
        new x509.BasicConstraintsExtension(true, undefined, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign | x509.KeyUsageFlags.digitalSignature, true),
        await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
      ],
    });
    return new PkiMount(now, defaultTtl, maxTtl, ca, keys.privateKey, pem(ca.toString('pem')));
  }

  addRole(name: string, role: PkiRoleOptions): void {
    this.roles.set(name, role);
  }

  /** `POST <mount>/issue/<role>` */
  async issue(roleName: string, body: Record<string, unknown>): Promise<Reply> {
    const role = this.roles.get(roleName);
    if (role === undefined) return failure(400, `unknown role: ${roleName}`);
    const format = stringParam(body, 'format') || 'pem';
    if (!['pem', 'der', 'pem_bundle'].includes(format)) return failure(400, `unknown format for "format": ${format}`);
    const keyFormat = stringParam(body, 'private_key_format') || 'der';
    if (!['der', 'pem', 'pkcs8'].includes(keyFormat)) return failure(400, `unknown format for "private_key_format": ${keyFormat}`);
    const names = requestedNames(body, undefined);
    const refused = checkNames(role, names);
    if (refused !== undefined) return failure(400, refused);
    const ttl = this.ttl(role, body);
    if ('error' in ttl) return failure(400, ttl.error);

    const keyType = role.keyType ?? 'rsa';
    const pair = await generateKey(keyType, role.keyBits);
    const certificate = await this.signCertificate(names, pair.keys.publicKey, ttl.ttl, bool(body, 'exclude_cn_from_sans'));
    const privateKey = exportKey(pair.keys.privateKey, keyType, keyFormat, format);
    const data: Record<string, unknown> = this.certificateFields(certificate, format);
    data['private_key'] = privateKey;
    data['private_key_type'] = keyType;
    if (format === 'pem_bundle') data['certificate'] = [privateKey, pem(certificate.toString('pem')), this.caPem].join('\n');
    return ok({ data, warnings: ttl.warnings, mountType: 'pki' });
  }

  /** `POST <mount>/sign/<role>` with a PEM `csr`. */
  async sign(roleName: string, body: Record<string, unknown>): Promise<Reply> {
    const role = this.roles.get(roleName);
    if (role === undefined) return failure(400, `unknown role: ${roleName}`);
    const format = stringParam(body, 'format') || 'pem';
    if (!['pem', 'der', 'pem_bundle'].includes(format)) return failure(400, `unknown format for "format": ${format}`);
    const csrText = stringParam(body, 'csr');
    if (csrText === '') return failure(400, '"csr" is empty');
    let csr: x509.Pkcs10CertificateRequest;
    try {
      csr = new x509.Pkcs10CertificateRequest(csrText);
    } catch {
      return failure(400, 'certificate request could not be parsed');
    }
    if (!(await csr.verify())) return failure(400, 'request signature invalid');
    const names = requestedNames(body, csr);
    const refused = checkNames(role, names);
    if (refused !== undefined) return failure(400, refused);
    const ttl = this.ttl(role, body);
    if ('error' in ttl) return failure(400, ttl.error);
    const publicKey = await csr.publicKey.export();
    const certificate = await this.signCertificate(names, publicKey, ttl.ttl, bool(body, 'exclude_cn_from_sans'));
    const data = this.certificateFields(certificate, format);
    if (format === 'pem_bundle') data['certificate'] = [pem(certificate.toString('pem')), this.caPem].join('\n');
    return ok({ data, warnings: ttl.warnings, mountType: 'pki' });
  }

  /** cert_util.go `getCertificateNotAfter`: request ttl, else role ttl, else mount default; capped with a warning. */
  private ttl(role: PkiRoleOptions, body: Record<string, unknown>): { ttl: number; warnings: string[] } | { error: string } {
    const requested = parseDurationSeconds(body['ttl']);
    if (body['ttl'] !== undefined && body['ttl'] !== '' && requested === undefined) return { error: `error converting input ${String(body['ttl'])} for field "ttl"` };
    let ttl = requested ?? 0;
    if (ttl === 0 && (role.ttlSeconds ?? 0) > 0) ttl = role.ttlSeconds ?? 0;
    if (ttl === 0) ttl = this.defaultTtl;
    const max = (role.maxTtlSeconds ?? 0) > 0 ? (role.maxTtlSeconds ?? 0) : this.maxTtl;
    const warnings: string[] = [];
    if (ttl > max) {
      warnings.push(`TTL ${JSON.stringify(goDuration(ttl))} is longer than permitted maxTTL ${JSON.stringify(goDuration(max))}, so maxTTL is being used`);
      ttl = max;
    }
    return { ttl, warnings };
  }

  private async signCertificate(names: Names, publicKey: webcrypto.CryptoKey, ttl: number, excludeCn: boolean): Promise<x509.X509Certificate> {
    const base = Math.floor(this.now() / 1000) * 1000;
    const dns = [...names.dnsNames];
    const emails = [...names.emails];
    if (names.commonName !== '' && !excludeCn) {
      if (names.commonName.includes('@')) {
        if (!emails.includes(names.commonName)) emails.unshift(names.commonName);
      } else if (!dns.includes(names.commonName)) {
        dns.unshift(names.commonName);
      }
    }
    const sans = [
      ...dns.map((value) => ({ type: 'dns' as const, value })),
      ...emails.map((value) => ({ type: 'email' as const, value })),
      ...names.ips.map((value) => ({ type: 'ip' as const, value })),
      ...names.uris.map((value) => ({ type: 'url' as const, value })),
    ];
    const extensions: x509.Extension[] = [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyAgreement | x509.KeyUsageFlags.keyEncipherment, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth, x509.ExtendedKeyUsage.clientAuth]),
      await x509.SubjectKeyIdentifierExtension.create(publicKey),
      await x509.AuthorityKeyIdentifierExtension.create(this.ca.publicKey),
    ];
    if (sans.length > 0) extensions.push(new x509.SubjectAlternativeNameExtension(sans, names.commonName === ''));
    return x509.X509CertificateGenerator.create({
      serialNumber: serial(),
      subject: names.commonName === '' ? '' : `CN=${names.commonName.replace(/[\\,+"<>;=]/g, '\\$&')}`,
      issuer: this.ca.subject,
      notBefore: new Date(base - BACKDATE_MS),
      notAfter: new Date(base + ttl * 1000),
      publicKey,
      signingKey: this.caKey,
      signingAlgorithm: CA_SIGNING,
      extensions,
    });
  }

  private certificateFields(certificate: x509.X509Certificate, format: string): Record<string, unknown> {
    const encode = (c: x509.X509Certificate): string => (format === 'der' ? Buffer.from(c.rawData).toString('base64') : pem(c.toString('pem')));
    return {
      certificate: encode(certificate),
      issuing_ca: encode(this.ca),
      ca_chain: [encode(this.ca)],
      serial_number: colonHex(certificate.serialNumber),
      expiration: Math.floor(certificate.notAfter.getTime() / 1000),
    };
  }
}

/** Names from the request body and, for `sign`, the CSR (use_csr_common_name and use_csr_sans default true). */
function requestedNames(body: Record<string, unknown>, csr: x509.Pkcs10CertificateRequest | undefined): Names {
  let commonName = stringParam(body, 'common_name');
  const dnsNames: string[] = [];
  const emails: string[] = [];
  const ips = listParam(body, 'ip_sans');
  const uris = listParam(body, 'uri_sans');
  for (const name of listParam(body, 'alt_names')) (name.includes('@') ? emails : dnsNames).push(name);
  if (csr !== undefined) {
    if (commonName === '') commonName = csr.subjectName.getField('CN')[0] ?? '';
    const san = csr.extensions.find((e): e is x509.SubjectAlternativeNameExtension => e instanceof x509.SubjectAlternativeNameExtension);
    for (const item of san?.names.items ?? []) {
      if (item.type === 'dns' && !dnsNames.includes(item.value)) dnsNames.push(item.value);
      if (item.type === 'email' && !emails.includes(item.value)) emails.push(item.value);
      if (item.type === 'ip' && !ips.includes(item.value)) ips.push(item.value);
      if (item.type === 'url' && !uris.includes(item.value)) uris.push(item.value);
    }
  }
  return { commonName, dnsNames, emails, ips, uris };
}

/** cert_util.go `generateCreationBundle` checks, first failure's message. */
function checkNames(role: PkiRoleOptions, names: Names): string | undefined {
  if (names.commonName === '' && (role.requireCn ?? true)) {
    return 'the common_name field is required, or must be provided in a CSR with "use_csr_common_name" set to true, unless "require_cn" is set to false';
  }
  if (names.commonName !== '' && !nameAllowed(role, names.commonName)) return `common name ${names.commonName} not allowed by this role`;
  const badDns = names.dnsNames.find((n) => !nameAllowed(role, n));
  if (badDns !== undefined) return `subject alternate name ${badDns} not allowed by this role`;
  const badEmail = names.emails.find((n) => !nameAllowed(role, n));
  if (badEmail !== undefined) return `email address ${badEmail} not allowed by this role`;
  if (names.ips.length > 0 && !(role.allowIpSans ?? true)) return `IP Subject Alternative Names are not allowed in this role, but was provided ${names.ips.join(',')}`;
  if (names.uris.length > 0) {
    const allowed = role.allowedUriSans ?? [];
    if (allowed.length === 0) return 'URI Subject Alternative Names are not allowed in this role, but were provided via the API';
    const bad = names.uris.find((u) => !allowed.some((g) => glob(g, u)));
    if (bad !== undefined) return `URI Subject Alternative Name ${bad} not allowed by this role`;
  }
  return undefined;
}

function nameAllowed(role: PkiRoleOptions, raw: string): boolean {
  const allowAnyName = role.allowAnyName ?? role.allowedDomains === undefined;
  if (allowAnyName) return true;
  const name = (raw.includes('@') ? raw.slice(raw.indexOf('@') + 1) : raw).toLowerCase();
  if ((role.allowLocalhost ?? true) && (name === 'localhost' || name === 'localdomain')) return true;
  for (const domainRaw of role.allowedDomains ?? []) {
    const domain = domainRaw.toLowerCase();
    if ((role.allowBareDomains ?? false) && name === domain) return true;
    if ((role.allowSubdomains ?? false) && name.endsWith(`.${domain}`)) return true;
    if ((role.allowGlobDomains ?? false) && domain.includes('*') && glob(domain, name)) return true;
  }
  return false;
}

function glob(pattern: string, value: string): boolean {
  const escaped = pattern
    .split('*')
    .map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
    .join('.*');
  return new RegExp(`^${escaped}$`).test(value);
}

async function generateKey(type: 'rsa' | 'ec' | 'ed25519', bits: number | undefined): Promise<{ keys: KeyPair }> {
  const usages: webcrypto.KeyUsage[] = ['sign', 'verify'];
  switch (type) {
    case 'rsa':
      return {
        keys: (await webcrypto.subtle.generateKey(
          { name: 'RSASSA-PKCS1-v1_5', modulusLength: bits ?? 2048, publicExponent: new Uint8Array([1, 0, 1]), hash: 'SHA-256' },
          true,
          usages,
        )) as KeyPair,
      };
    case 'ec': {
      const curve = bits === 384 ? 'P-384' : bits === 521 ? 'P-521' : 'P-256';
      return { keys: (await webcrypto.subtle.generateKey({ name: 'ECDSA', namedCurve: curve }, true, usages)) as KeyPair };
    }
    case 'ed25519':
      return { keys: (await webcrypto.subtle.generateKey({ name: 'Ed25519' }, true, usages)) as KeyPair };
  }
}

/** `private_key_format` der (default: PKCS#1 for RSA, SEC 1 for EC) or pkcs8; base64 DER when `format` is der. */
function exportKey(key: webcrypto.CryptoKey, type: 'rsa' | 'ec' | 'ed25519', keyFormat: string, format: string): string {
  const object = KeyObject.from(key);
  const encoding = keyFormat === 'pkcs8' || type === 'ed25519' ? 'pkcs8' : type === 'rsa' ? 'pkcs1' : 'sec1';
  if (format === 'der') return (object.export({ type: encoding, format: 'der' }) as Buffer).toString('base64');
  return (object.export({ type: encoding, format: 'pem' }) as string).trim();
}

/** 20 random bytes, positive, first byte non-zero (Vault's serials are 159-bit random numbers). */
function serial(): string {
  const bytes = randomBytes(20);
  bytes[0] = ((bytes[0] ?? 0) & 0x7f) | 0x01;
  return bytes.toString('hex');
}

function colonHex(hex: string): string {
  const even = hex.length % 2 === 0 ? hex : `0${hex}`;
  return (even.toLowerCase().match(/../g) ?? []).join(':');
}

function pem(text: string): string {
  return text.replace(/\r\n/g, '\n').trim();
}

function stringParam(body: Record<string, unknown>, key: string): string {
  const value = body[key];
  return typeof value === 'string' ? value.trim() : '';
}

/** Vault's comma-separated list parameters (a JSON array is accepted too). */
function listParam(body: Record<string, unknown>, key: string): string[] {
  const value = body[key];
  const items = Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : typeof value === 'string' ? value.split(',') : [];
  return items.map((s) => s.trim()).filter((s) => s !== '');
}

function bool(body: Record<string, unknown>, key: string): boolean {
  const value = body[key];
  return value === true || value === 'true';
}

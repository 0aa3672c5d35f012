import { randomBytes, webcrypto } from 'node:crypto';
import { Errors } from '../../errors/catalogue.js';
import { subjectAltNameExtension, subjectName, type CertificateNames } from './node-key.js';
import { x509 } from '../x509.js';

/**
 * The embedded provider's development CA: a self-signed ECDSA P-256 root made in memory when the
 * provider starts. Its private key is a non-extractable WebCrypto key — it cannot be exported,
 * so it is never written anywhere; a restart makes a new CA (pods get the new `ca.crt` on their
 * next refresh). For demos and development only.
 */

export interface DevCaOptions {
  /** Time of creation; the CA is valid from a day before it. */
  readonly now?: Date;
  readonly commonName?: string;
  readonly validityMs?: number;
}

export interface SignRequest extends CertificateNames {
  /** The CSR carries the public key and proves possession of its private key; its own subject and extensions are ignored. */
  readonly csr: x509.Pkcs10CertificateRequest;
  readonly ttlMs: number;
  readonly now: Date;
  /** A full subject instead of `CN=<commonName>` (the certificates provider's subject fields). */
  readonly subject?: x509.Name;
  /** Key usage flags instead of the default (digitalSignature, plus keyEncipherment for RSA). */
  readonly keyUsages?: number;
  /** Extended key usage OIDs instead of the default (serverAuth, clientAuth); empty: none. */
  readonly extendedKeyUsages?: readonly string[];
}

/** Certificates are backdated so that a node whose clock is a little behind accepts them. */
export const BACKDATE_MS = 30_000;
const CA_SIGNING = { name: 'ECDSA', hash: 'SHA-256' } as const;
const DAY_MS = 86_400_000;

export class DevCa {
  private constructor(
    readonly certificate: x509.X509Certificate,
    private readonly privateKey: webcrypto.CryptoKey,
    private readonly pem: string,
  ) {}

  static async create(options: DevCaOptions = {}): Promise<DevCa> {
    const now = options.now ?? new Date();
    // 1. the key: non-extractable, so no code path can serialise it
    const keys = (await webcrypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, false, ['sign', 'verify'])) as {
      privateKey: webcrypto.CryptoKey;
      publicKey: webcrypto.CryptoKey;
    };
    // 2. the self-signed root, marked as a CA that signs only end-entity certificates
    const name = subjectName(options.commonName ?? `credmount embedded dev CA ${randomBytes(4).toString('hex')}`);
    const certificate = await x509.X509CertificateGenerator.createSelfSigned({
      serialNumber: randomSerial(),
      name,
      notBefore: truncateToSeconds(new Date(now.getTime() - DAY_MS)),
      notAfter: truncateToSeconds(new Date(now.getTime() + (options.validityMs ?? 365 * DAY_MS))),
      keys,
      signingAlgorithm: CA_SIGNING,
      extensions: [
        new x509.BasicConstraintsExtension(true, 0, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign | x509.KeyUsageFlags.digitalSignature, true),
        await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
      ],
    });
    return new DevCa(certificate, keys.privateKey, certificate.toString('pem'));
  }

  /** The same for every certificate: computed (a hash of the CA key) once. */
  private aki: Promise<x509.AuthorityKeyIdentifierExtension> | undefined;

  private authorityKeyIdentifier(): Promise<x509.AuthorityKeyIdentifierExtension> {
    this.aki ??= x509.AuthorityKeyIdentifierExtension.create(this.certificate.publicKey);
    return this.aki;
  }

  /** The CA certificate, PEM — what pods get as `ca.crt`. */
  certificatePem(): string {
    return this.pem;
  }

  /**
   * Sign a CSR into an end-entity certificate for `names`:
   * random 128-bit serial, NotBefore = now − 30 s, NotAfter = now + ttl (both whole seconds),
   * digitalSignature (+ keyEncipherment for RSA keys), serverAuth + clientAuth.
   */
  async sign(request: SignRequest): Promise<x509.X509Certificate> {
    // 1. proof of possession: the CSR must be signed by the key it carries
    if (!(await request.csr.verify())) throw Errors.internal('the certificate request signature does not verify');
    const publicKey = request.csr.publicKey;
    // 2. RFC 5480/8410: keyEncipherment belongs to RSA keys only
    const isRsa = publicKey.algorithm.name.startsWith('RSA');
    const usages = request.keyUsages ?? x509.KeyUsageFlags.digitalSignature | (isRsa ? x509.KeyUsageFlags.keyEncipherment : 0);
    const extended = request.extendedKeyUsages ?? [x509.ExtendedKeyUsage.serverAuth, x509.ExtendedKeyUsage.clientAuth];
    // 3. validity in whole seconds, so that what X.509 stores is what we computed
    const base = Math.floor(request.now.getTime() / 1000) * 1000;
    const extensions: x509.Extension[] = [
      new x509.BasicConstraintsExtension(false, undefined, true),
      ...(usages === 0 ? [] : [new x509.KeyUsagesExtension(usages, true)]),
      ...(extended.length === 0 ? [] : [new x509.ExtendedKeyUsageExtension([...extended])]),
      await x509.SubjectKeyIdentifierExtension.create(publicKey),
      await this.authorityKeyIdentifier(),
    ];
    // With no subject, the SAN extension must be critical (RFC 5280 4.2.1.6).
    const subject = request.subject ?? subjectName(request.commonName);
    const san = subjectAltNameExtension(request, (typeof subject === 'string' ? subject : subject.toString()) === '');
    if (san !== undefined) extensions.push(san);
    return x509.X509CertificateGenerator.create({
      serialNumber: randomSerial(),
      subject,
      issuer: this.certificate.subject,
      notBefore: new Date(base - BACKDATE_MS),
      notAfter: new Date(base + request.ttlMs),
      publicKey,
      signingKey: this.privateKey,
      signingAlgorithm: CA_SIGNING,
      extensions,
    });
  }
}

/** 16 random bytes, positive and without a leading zero byte, so its DER form keeps all 16. */
function randomSerial(): string {
  const bytes = randomBytes(16);
  bytes[0] = ((bytes[0] ?? 0) & 0x7f) | 0x40;
  return bytes.toString('hex');
}

function truncateToSeconds(date: Date): Date {
  return new Date(Math.floor(date.getTime() / 1000) * 1000);
}

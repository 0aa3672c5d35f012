import { randomBytes, sign, webcrypto, type KeyObject } from 'node:crypto';
import { Errors } from '../../errors/catalogue.js';
import type { x509 } from '../x509.js';
import { buildCertificate, commonNameDer, ExtendedKeyUsage, KeyUsage, pem, subjectKeyIdentifier, type SubjectAltNames } from './certificate-der.js';
import type { CertificateNames } from './node-key.js';

/**
 * The embedded provider's development CA: a self-signed ECDSA P-256 root made in memory when the
 * first certificate is asked for. Its private key is a non-extractable WebCrypto key — it cannot
 * be exported, so it is never written anywhere; a restart makes a new CA (pods get the new
 * `ca.crt` on their next refresh). For demos and development only.
 *
 * Certificates are encoded by certificate-der.ts and signed through WebCrypto (on the thread
 * pool); @peculiar/x509 is loaded only to check a CSR from elsewhere (`sign`).
 */

export interface DevCaOptions {
  /** Time of creation; the CA is valid from a day before it. */
  readonly now?: Date;
  readonly commonName?: string;
  readonly validityMs?: number;
}

/** A certificate for a public key the caller holds the private key of (made on this node). */
export interface IssueRequest extends CertificateNames {
  /** SubjectPublicKeyInfo, DER. */
  readonly subjectPublicKeyInfo: Uint8Array;
  /** keyEncipherment is added to the default usages for RSA keys only (RFC 5480/8410). */
  readonly isRsa: boolean;
  readonly ttlMs: number;
  readonly now: Date;
  /** A full subject Name (DER) instead of `CN=<commonName>` (the certificates provider's subject fields). */
  readonly subject?: Uint8Array;
  /** KeyUsage flags (certificate-der.ts KeyUsage) instead of the default (digitalSignature, plus keyEncipherment for RSA). */
  readonly keyUsages?: number;
  /** Extended key usage OIDs instead of the default (serverAuth, clientAuth); empty: none. */
  readonly extendedKeyUsages?: readonly string[];
}

export interface SignRequest extends CertificateNames {
  /** The CSR carries the public key and proves possession of its private key; its own subject and extensions are ignored. */
  readonly csr: x509.Pkcs10CertificateRequest;
  readonly ttlMs: number;
  readonly now: Date;
  /** A full subject instead of `CN=<commonName>` (the certificates provider's subject fields). */
  readonly subject?: x509.Name;
  /** KeyUsage flags (the same bit numbering as @peculiar/x509's KeyUsageFlags) instead of the default. */
  readonly keyUsages?: number;
  /** Extended key usage OIDs instead of the default (serverAuth, clientAuth); empty: none. */
  readonly extendedKeyUsages?: readonly string[];
}

export interface IssuedCertificate {
  readonly der: Uint8Array;
  readonly pem: string;
  /** Lower-case hex, as X.509 tools print it. */
  readonly serial: string;
  readonly notBefore: Date;
  readonly notAfter: Date;
}

/** Certificates are backdated so that a node whose clock is a little behind accepts them. */
export const BACKDATE_MS = 30_000;
const DAY_MS = 86_400_000;

export class DevCa {
  private constructor(
    /** Non-extractable: WebCrypto refuses to export it. */
    private readonly privateKey: webcrypto.CryptoKey,
    private readonly subject: Uint8Array,
    private readonly keyIdentifier: Uint8Array,
    private readonly pem: string,
  ) {}

  static async create(options: DevCaOptions = {}): Promise<DevCa> {
    const now = options.now ?? new Date();
    // 1. the key: non-extractable, so no code path can serialise it
    const keys = (await webcrypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, false, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
    const spki = new Uint8Array(await webcrypto.subtle.exportKey('spki', keys.publicKey));
    // 2. the self-signed root, marked as a CA that signs only end-entity certificates
    const subject = commonNameDer(options.commonName ?? `credmount embedded dev CA ${randomBytes(4).toString('hex')}`);
    const der = await buildCertificate(
      {
        serial: randomSerial(),
        issuer: subject,
        subject,
        notBefore: wholeSeconds(now.getTime() - DAY_MS),
        notAfter: wholeSeconds(now.getTime() + (options.validityMs ?? 365 * DAY_MS)),
        subjectPublicKeyInfo: spki,
        caPathLength: 0,
        keyUsages: KeyUsage.keyCertSign | KeyUsage.cRLSign | KeyUsage.digitalSignature,
        extendedKeyUsages: [],
      },
      signerFor(keys.privateKey),
    );
    return new DevCa(keys.privateKey, subject, subjectKeyIdentifier(spki), pem(der, 'CERTIFICATE'));
  }

  /** The CA certificate, PEM — what pods get as `ca.crt`. */
  certificatePem(): string {
    return this.pem;
  }

  /**
   * An end-entity certificate for a key made on this node: random 128-bit serial,
   * NotBefore = now − 30 s, NotAfter = now + ttl (both whole seconds), and by default
   * digitalSignature (+ keyEncipherment for RSA keys), serverAuth + clientAuth.
   */
  async issue(request: IssueRequest): Promise<IssuedCertificate> {
    const serial = randomSerial();
    const base = Math.floor(request.now.getTime() / 1000) * 1000;
    const notBefore = new Date(base - BACKDATE_MS);
    const notAfter = new Date(base + request.ttlMs);
    const altNames: SubjectAltNames = { dnsNames: request.dnsNames, ipAddresses: request.ipAddresses, uris: request.uris };
    const der = await buildCertificate(
      {
        serial,
        issuer: this.subject,
        subject: request.subject ?? commonNameDer(request.commonName),
        notBefore,
        notAfter,
        subjectPublicKeyInfo: request.subjectPublicKeyInfo,
        // RFC 5480/8410: keyEncipherment belongs to RSA keys only
        keyUsages: request.keyUsages ?? KeyUsage.digitalSignature | (request.isRsa ? KeyUsage.keyEncipherment : 0),
        extendedKeyUsages: request.extendedKeyUsages ?? [ExtendedKeyUsage.serverAuth, ExtendedKeyUsage.clientAuth],
        altNames,
        authorityKeyIdentifier: this.keyIdentifier,
      },
      signerFor(this.privateKey),
    );
    return { der, pem: pem(der, 'CERTIFICATE'), serial: Buffer.from(serial).toString('hex'), notBefore, notAfter };
  }

  /** Sign a CSR from elsewhere: its signature must verify (proof of possession), then as `issue`. */
  async sign(request: SignRequest): Promise<IssuedCertificate> {
    if (!(await request.csr.verify())) throw Errors.internal('the certificate request signature does not verify');
    const { csr, subject, ...rest } = request;
    return this.issue({
      ...rest,
      ...(subject === undefined ? {} : { subject: new Uint8Array(subject.toArrayBuffer()) }),
      subjectPublicKeyInfo: new Uint8Array(csr.publicKey.rawData),
      isRsa: csr.publicKey.algorithm.name.startsWith('RSA'),
    });
  }
}

/**
 * ECDSA with SHA-256, the signature DER-encoded as X.509 wants it. node:crypto's sign() takes the
 * non-extractable WebCrypto key as it is (nothing is exported) and signs in place in ~0.05 ms,
 * where WebCrypto's sign() is a thread-pool round trip that cost a publish ~1 ms of waiting.
 */
function signerFor(key: webcrypto.CryptoKey) {
  // Node.js documents CryptoKey among sign()'s key types; @types/node lists only KeyObject forms.
  const signingKey = key as unknown as KeyObject;
  return async (tbs: Uint8Array) => sign('sha256', tbs, signingKey);
}

/** 16 random bytes, positive and without a leading zero byte, so its DER form keeps all 16. */
function randomSerial(): Uint8Array {
  const bytes = randomBytes(16);
  bytes[0] = ((bytes[0] ?? 0) & 0x7f) | 0x40;
  return bytes;
}

function wholeSeconds(ms: number): Date {
  return new Date(Math.floor(ms / 1000) * 1000);
}

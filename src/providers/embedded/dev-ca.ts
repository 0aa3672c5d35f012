import { createPrivateKey, generateKeyPair, randomBytes, sign, type KeyObject } from 'node:crypto';
import { promisify } from 'node:util';
import { Errors } from '../../errors/catalogue.js';
import type { x509 } from '../x509.js';
import { buildCertificate, commonNameDer, ExtendedKeyUsage, KeyUsage, pem, subjectKeyIdentifier, type SubjectAltNames } from './certificate-der.js';
import type { CertificateNames } from './node-key.js';

/**
 * The embedded provider's development CA: a self-signed ECDSA P-256 root made in memory when the
 * first certificate is asked for. Its private key lives only in a node:crypto KeyObject that no
 * code exports — it is never written anywhere, and a KeyObject prints and serialises without its
 * key material; a restart makes a new CA (pods get the new `ca.crt` on their next refresh). For
 * demos and development only.
 *
 * Not a WebCrypto key: node:crypto's sign() signs in place (~0.05 ms) where WebCrypto's sign() is
 * a thread-pool round trip, and Node.js 24 deprecates passing a CryptoKey to node:crypto (DEP0203,
 * a warning on every driver's first certificate until session 9).
 *
 * Certificates are encoded by certificate-der.ts; @peculiar/x509 is loaded only to check a CSR from
 * elsewhere (`sign`).
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
    /** Never exported (see the class comment). */
    private readonly privateKey: KeyObject,
    private readonly subject: Uint8Array,
    private readonly keyIdentifier: Uint8Array,
    private readonly pem: string,
  ) {}

  static async create(options: DevCaOptions = {}): Promise<DevCa> {
    const now = options.now ?? new Date();
    // 1. the key: generated on the thread pool with its encodings (~0.5 ms of OpenSSL that the first
    //    publish's event loop need not wait on; and no generated KeyObject is exported — key-encoding.ts
    //    says why that matters on Node.js 20), the private one read into a KeyObject and its bytes zeroed
    const generated = await generateEncoded('ec', { namedCurve: 'P-256', publicKeyEncoding: { type: 'spki', format: 'der' }, privateKeyEncoding: { type: 'pkcs8', format: 'der' } });
    const privateKey = createPrivateKey({ key: generated.privateKey, format: 'der', type: 'pkcs8' });
    generated.privateKey.fill(0);
    const spki = new Uint8Array(generated.publicKey);
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
      signerFor(privateKey),
    );
    return new DevCa(privateKey, subject, subjectKeyIdentifier(spki), pem(der, 'CERTIFICATE'));
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

const generateEncoded = promisify(generateKeyPair);

/** ECDSA with SHA-256, the signature DER-encoded as X.509 wants it; node:crypto signs in place. */
function signerFor(key: KeyObject) {
  return async (tbs: Uint8Array) => sign('sha256', tbs, key);
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

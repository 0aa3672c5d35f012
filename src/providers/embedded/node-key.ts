import { webcrypto } from 'node:crypto';
import type { KeyAlgorithm } from './parameters.js';
import { x509 } from '../x509.js';

/**
 * Private keys for pod certificates are generated here, on the node, in memory, and leave the
 * process only as the pod's `<objectName>.key` file. The CA sees a CSR, never the key.
 */

type WebCryptoKeyPair = Awaited<ReturnType<typeof generateRaw>>;

export interface NodeKeyPair {
  readonly keys: WebCryptoKeyPair;
  /** The algorithm to sign the CSR with (the key's own algorithm plus its hash). */
  readonly signingAlgorithm: { name: string; hash?: string };
}

/** Subject and subjectAltNames for a CSR. */
export interface CertificateNames {
  readonly commonName: string | undefined;
  readonly dnsNames: readonly string[];
  readonly ipAddresses: readonly string[];
  readonly uris: readonly string[];
}

const EC_CURVES: Readonly<Record<number, { curve: string; hash: string }>> = {
  256: { curve: 'P-256', hash: 'SHA-256' },
  384: { curve: 'P-384', hash: 'SHA-384' },
  521: { curve: 'P-521', hash: 'SHA-512' },
};

function generateRaw(algorithm: webcrypto.RsaHashedKeyGenParams | webcrypto.EcKeyGenParams | webcrypto.Algorithm) {
  // Extractable, because the pod needs the key as PKCS#8; it is exported once, in memory.
  return webcrypto.subtle.generateKey(algorithm, true, ['sign', 'verify']) as Promise<{ privateKey: webcrypto.CryptoKey; publicKey: webcrypto.CryptoKey }>;
}

export async function generateNodeKeyPair(algorithm: KeyAlgorithm, keySize: number | undefined): Promise<NodeKeyPair> {
  switch (algorithm) {
    case 'ECDSA': {
      const ec = EC_CURVES[keySize ?? 256];
      if (ec === undefined) throw new RangeError(`unsupported ECDSA key size ${keySize}`);
      return { keys: await generateRaw({ name: 'ECDSA', namedCurve: ec.curve }), signingAlgorithm: { name: 'ECDSA', hash: ec.hash } };
    }
    case 'RSA': {
      const rsa = { name: 'RSASSA-PKCS1-v1_5', modulusLength: keySize ?? 2048, publicExponent: new Uint8Array([1, 0, 1]), hash: 'SHA-256' };
      return { keys: await generateRaw(rsa), signingAlgorithm: { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' } };
    }
    case 'Ed25519':
      return { keys: await generateRaw({ name: 'Ed25519' }), signingAlgorithm: { name: 'Ed25519' } };
  }
}

/** The subjectAltName extension for these names, or undefined when there are none. */
export function subjectAltNameExtension(names: CertificateNames, critical: boolean): x509.SubjectAlternativeNameExtension | undefined {
  const entries = [
    ...names.dnsNames.map((value) => ({ type: 'dns' as const, value })),
    ...names.ipAddresses.map((value) => ({ type: 'ip' as const, value })),
    ...names.uris.map((value) => ({ type: 'url' as const, value })),
  ];
  return entries.length === 0 ? undefined : new x509.SubjectAlternativeNameExtension(entries, critical);
}

/** A DN string for the subject: `CN=<name>` with RFC 4514 escaping, or empty. */
export function subjectName(commonName: string | undefined): string {
  if (commonName === undefined) return '';
  const escaped = commonName.replace(/[\\,+"<>;=]/g, '\\$&').replace(/^[ #]/, '\\$&').replace(/ $/, '\\ ');
  return `CN=${escaped}`;
}

/** A PKCS#10 request signed with the new key (proof of possession for the CA). */
export async function createCertificateRequest(pair: NodeKeyPair, names: CertificateNames): Promise<x509.Pkcs10CertificateRequest> {
  const san = subjectAltNameExtension(names, names.commonName === undefined);
  return x509.Pkcs10CertificateRequestGenerator.create({
    name: subjectName(names.commonName),
    keys: pair.keys,
    signingAlgorithm: pair.signingAlgorithm,
    extensions: san === undefined ? [] : [san],
  });
}

/** The private key as PKCS#8 PEM (`-----BEGIN PRIVATE KEY-----`). */
export async function privateKeyPem(pair: NodeKeyPair): Promise<string> {
  const der = await webcrypto.subtle.exportKey('pkcs8', pair.keys.privateKey);
  return x509.PemConverter.encode(der, 'PRIVATE KEY');
}

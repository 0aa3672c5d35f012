import { KeyObject, webcrypto } from 'node:crypto';
import type { KeyAlgorithm, KeyEncoding } from './certificate-spec.js';

/**
 * Private keys are generated here, on the node, in memory (OpenSSL through node:crypto, off the
 * event loop), and leave the process only as the pod's key file. Signers see a CSR, never a key.
 */
export interface NodeKey {
  readonly algorithm: KeyAlgorithm;
  readonly size: number | undefined;
  readonly privateKey: webcrypto.CryptoKey;
  readonly publicKey: webcrypto.CryptoKey;
  /** What the CSR is signed with: the key's own algorithm and hash. */
  readonly signingAlgorithm: { readonly name: string; readonly hash?: string };
}

const EC: Readonly<Record<number, { curve: string; hash: string }>> = {
  256: { curve: 'P-256', hash: 'SHA-256' },
  384: { curve: 'P-384', hash: 'SHA-384' },
  521: { curve: 'P-521', hash: 'SHA-512' },
};

export async function generateNodeKey(algorithm: KeyAlgorithm, size: number | undefined): Promise<NodeKey> {
  let params: webcrypto.RsaHashedKeyGenParams | webcrypto.EcKeyGenParams | webcrypto.Algorithm;
  let signingAlgorithm: NodeKey['signingAlgorithm'];
  switch (algorithm) {
    case 'RSA':
      params = { name: 'RSASSA-PKCS1-v1_5', modulusLength: size ?? 2048, publicExponent: new Uint8Array([1, 0, 1]), hash: 'SHA-256' };
      signingAlgorithm = { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' };
      break;
    case 'ECDSA': {
      const ec = EC[size ?? 256];
      if (ec === undefined) throw new RangeError(`unsupported ECDSA size ${size}`);
      params = { name: 'ECDSA', namedCurve: ec.curve };
      signingAlgorithm = { name: 'ECDSA', hash: ec.hash };
      break;
    }
    case 'Ed25519':
      params = { name: 'Ed25519' };
      signingAlgorithm = { name: 'Ed25519' };
      break;
  }
  // Extractable only because the pod needs the key as a file; it is exported once, in memory.
  const pair = (await webcrypto.subtle.generateKey(params, true, ['sign', 'verify'])) as { privateKey: webcrypto.CryptoKey; publicKey: webcrypto.CryptoKey };
  return { algorithm, size, privateKey: pair.privateKey, publicKey: pair.publicKey, signingAlgorithm };
}

/** The key as the pod's file: PKCS#1 (`RSA PRIVATE KEY`, RSA only) or PKCS#8 (`PRIVATE KEY`), PEM. */
export function privateKeyPem(key: NodeKey, encoding: KeyEncoding): string {
  const object = KeyObject.from(key.privateKey);
  return object.export({ type: encoding === 'PKCS1' ? 'pkcs1' : 'pkcs8', format: 'pem' }) as string;
}

/** The key as PKCS#8 DER (for the PKCS#12 key bag). */
export function privateKeyDer(key: NodeKey): Buffer {
  return KeyObject.from(key.privateKey).export({ type: 'pkcs8', format: 'der' });
}

/** SPKI DER of the public key: compares a certificate's key with ours. */
export function publicKeyDer(key: NodeKey): Buffer {
  return KeyObject.from(key.publicKey).export({ type: 'spki', format: 'der' });
}

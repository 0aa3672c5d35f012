import { generateKeyPair, generateKeyPairSync } from 'node:crypto';
import { promisify } from 'node:util';
import type { KeyAlgorithm } from './parameters.js';

/**
 * Private keys for pod certificates are generated here, on the node, in memory, and leave the
 * process only as the pod's `<objectName>.key` file. RSA keys are generated on libuv's thread
 * pool (hundreds of milliseconds: the event loop must not wait), so a burst of publishes uses
 * every core for them; EC and Ed25519 keys take ~0.1 ms, less than a thread-pool round trip, and
 * are made in place. The exports are native and in memory.
 */
export interface PodKeyPair {
  /** SubjectPublicKeyInfo, DER: what goes into the certificate. */
  readonly subjectPublicKeyInfo: Uint8Array;
  /** PKCS#8 PEM (`-----BEGIN PRIVATE KEY-----`): the pod's key file. Secret. */
  readonly privateKeyPem: string;
  readonly isRsa: boolean;
}

const generate = promisify(generateKeyPair);
const EC_CURVES: Readonly<Record<number, string>> = { 256: 'P-256', 384: 'P-384', 521: 'P-521' };

/**
 * The encodings are asked of the generator itself: the key material is produced already encoded,
 * without KeyObjects to export afterwards (that export was most of the cost of an EC key).
 */
const PUBLIC = { type: 'spki', format: 'der' } as const;
const PRIVATE = { type: 'pkcs8', format: 'pem' } as const;

export async function generatePodKeyPair(algorithm: KeyAlgorithm, keySize: number | undefined): Promise<PodKeyPair> {
  let pair: { publicKey: Buffer; privateKey: string };
  switch (algorithm) {
    case 'ECDSA': {
      const namedCurve = EC_CURVES[keySize ?? 256];
      if (namedCurve === undefined) throw new RangeError(`unsupported ECDSA key size ${keySize}`);
      pair = generateKeyPairSync('ec', { namedCurve, publicKeyEncoding: PUBLIC, privateKeyEncoding: PRIVATE });
      break;
    }
    case 'RSA':
      pair = await generate('rsa', { modulusLength: keySize ?? 2048, publicExponent: 0x10001, publicKeyEncoding: PUBLIC, privateKeyEncoding: PRIVATE });
      break;
    case 'Ed25519':
      pair = generateKeyPairSync('ed25519', { publicKeyEncoding: PUBLIC, privateKeyEncoding: PRIVATE });
      break;
  }
  return {
    subjectPublicKeyInfo: new Uint8Array(pair.publicKey.buffer, pair.publicKey.byteOffset, pair.publicKey.byteLength),
    privateKeyPem: pair.privateKey,
    isRsa: algorithm === 'RSA',
  };
}

import { generateKeyPair, type KeyObject } from 'node:crypto';
import { promisify } from 'node:util';
import type { KeyAlgorithm } from './parameters.js';

/**
 * Private keys for pod certificates are generated here, on the node, in memory, and leave the
 * process only as the pod's `<objectName>.key` file. Key generation runs on libuv's thread pool,
 * so a burst of publishes uses every core for it; the exports are native and in memory.
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

export async function generatePodKeyPair(algorithm: KeyAlgorithm, keySize: number | undefined): Promise<PodKeyPair> {
  let pair: { publicKey: KeyObject; privateKey: KeyObject };
  switch (algorithm) {
    case 'ECDSA': {
      const namedCurve = EC_CURVES[keySize ?? 256];
      if (namedCurve === undefined) throw new RangeError(`unsupported ECDSA key size ${keySize}`);
      pair = await generate('ec', { namedCurve });
      break;
    }
    case 'RSA':
      pair = await generate('rsa', { modulusLength: keySize ?? 2048, publicExponent: 0x10001 });
      break;
    case 'Ed25519':
      pair = await generate('ed25519');
      break;
  }
  return {
    subjectPublicKeyInfo: new Uint8Array(pair.publicKey.export({ type: 'spki', format: 'der' })),
    privateKeyPem: pair.privateKey.export({ type: 'pkcs8', format: 'pem' }) as string,
    isRsa: algorithm === 'RSA',
  };
}

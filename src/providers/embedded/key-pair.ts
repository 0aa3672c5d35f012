import { generateKeyPair, generateKeyPairSync } from 'node:crypto';
import { promisify } from 'node:util';
import { pem } from './certificate-der.js';
import { ecPkcs8, ecSubjectPublicKeyInfo, ed25519Pkcs8, ed25519SubjectPublicKeyInfo, type EcCurve } from './key-encoding.js';
import type { KeyAlgorithm } from './parameters.js';

/**
 * Private keys for pod certificates are generated here, on the node, in memory, and leave the
 * process only as the pod's `<objectName>.key` file. RSA keys are generated on libuv's thread
 * pool (hundreds of milliseconds: the event loop must not wait), so a burst of publishes uses
 * every core for them; EC and Ed25519 keys take ~0.05 ms, less than a thread-pool round trip, and
 * are made in place and encoded from their JWK numbers (key-encoding.ts says why).
 */
export interface PodKeyPair {
  /** SubjectPublicKeyInfo, DER: what goes into the certificate. */
  readonly subjectPublicKeyInfo: Uint8Array;
  /** PKCS#8 PEM (`-----BEGIN PRIVATE KEY-----`): the pod's key file. Secret. */
  readonly privateKeyPem: string;
  readonly isRsa: boolean;
}

const generate = promisify(generateKeyPair);
const EC_CURVES: Readonly<Record<number, EcCurve>> = { 256: 'P-256', 384: 'P-384', 521: 'P-521' };

export async function generatePodKeyPair(algorithm: KeyAlgorithm, keySize: number | undefined): Promise<PodKeyPair> {
  switch (algorithm) {
    case 'ECDSA': {
      const curve = EC_CURVES[keySize ?? 256];
      if (curve === undefined) throw new RangeError(`unsupported ECDSA key size ${keySize}`);
      const jwk = generateKeyPairSync('ec', { namedCurve: curve }).privateKey.export({ format: 'jwk' });
      const numbers = { x: jwk.x ?? '', y: jwk.y ?? '', d: jwk.d ?? '' };
      return { subjectPublicKeyInfo: ecSubjectPublicKeyInfo(curve, numbers), privateKeyPem: pem(ecPkcs8(curve, numbers), 'PRIVATE KEY'), isRsa: false };
    }
    case 'Ed25519': {
      const jwk = generateKeyPairSync('ed25519').privateKey.export({ format: 'jwk' });
      const numbers = { x: jwk.x ?? '', d: jwk.d ?? '' };
      return { subjectPublicKeyInfo: ed25519SubjectPublicKeyInfo(numbers), privateKeyPem: pem(ed25519Pkcs8(numbers), 'PRIVATE KEY'), isRsa: false };
    }
    case 'RSA': {
      // Encoded by the generator: RSA keys are rare and their generation dwarfs any export.
      const pair = await generate('rsa', { modulusLength: keySize ?? 2048, publicExponent: 0x10001, publicKeyEncoding: { type: 'spki', format: 'der' }, privateKeyEncoding: { type: 'pkcs8', format: 'pem' } });
      return { subjectPublicKeyInfo: new Uint8Array(pair.publicKey.buffer, pair.publicKey.byteOffset, pair.publicKey.byteLength), privateKeyPem: pair.privateKey, isRsa: true };
    }
  }
}

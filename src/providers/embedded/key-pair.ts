import { createECDH, generateKeyPair, generateKeyPairSync, type ECDH } from 'node:crypto';
import { promisify } from 'node:util';
import { pem } from './certificate-der.js';
import { EC_CURVE_INFO, ecPkcs8, ecSubjectPublicKeyInfo, type EcCurve } from './key-encoding.js';
import type { KeyAlgorithm } from './parameters.js';

/**
 * Private keys for pod certificates are generated here, on the node, in memory, and leave the
 * process only as the pod's `<objectName>.key` file. RSA keys are generated on libuv's thread
 * pool (hundreds of milliseconds: the event loop must not wait), so a burst of publishes uses
 * every core for them; EC and Ed25519 keys take ~0.05 ms, less than a thread-pool round trip, and
 * are made in place — EC keys through ECDH and encoded here (key-encoding.ts says why).
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
      // ECDH key generation is EC key generation: the same scalar and point, without a KeyObject.
      const ecdh = ecdhFor(curve);
      const point = ecdh.generateKeys();
      const privateKey = ecdh.getPrivateKey();
      return { subjectPublicKeyInfo: ecSubjectPublicKeyInfo(curve, point), privateKeyPem: pem(ecPkcs8(curve, privateKey, point), 'PRIVATE KEY'), isRsa: false };
    }
    case 'Ed25519': {
      const pair = generateKeyPairSync('ed25519', { publicKeyEncoding: PUBLIC, privateKeyEncoding: PRIVATE });
      return { subjectPublicKeyInfo: bytesOf(pair.publicKey), privateKeyPem: pair.privateKey, isRsa: false };
    }
    case 'RSA': {
      const pair = await generate('rsa', { modulusLength: keySize ?? 2048, publicExponent: 0x10001, publicKeyEncoding: PUBLIC, privateKeyEncoding: PRIVATE });
      return { subjectPublicKeyInfo: bytesOf(pair.publicKey), privateKeyPem: pair.privateKey, isRsa: true };
    }
  }
}

/**
 * One ECDH object per curve, made on first use: generateKeys() draws a new key pair every call,
 * and making the object (the curve's group) cost as much as the generation itself (~25 µs each,
 * bench/README.md, session 9). Calls are synchronous, so no two publishes share a key. The last
 * private key stays in the object until the next generation — in memory, as it is in the pod's
 * file content until the write.
 */
const ecdhByCurve = new Map<EcCurve, ECDH>();

function ecdhFor(curve: EcCurve): ECDH {
  let ecdh = ecdhByCurve.get(curve);
  if (ecdh === undefined) {
    ecdh = createECDH(EC_CURVE_INFO[curve].openssl);
    ecdhByCurve.set(curve, ecdh);
  }
  return ecdh;
}

/** Encodings asked of the generator itself (Ed25519, RSA: rare, and their cost is the generation). */
const PUBLIC = { type: 'spki', format: 'der' } as const;
const PRIVATE = { type: 'pkcs8', format: 'pem' } as const;

function bytesOf(buffer: Buffer): Uint8Array {
  return new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength);
}

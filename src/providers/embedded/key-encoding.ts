import { bitString, contextConstructed, integer, objectIdentifier, octetString, sequence } from './der.js';

/**
 * SubjectPublicKeyInfo (RFC 5280, RFC 5480) and PKCS#8 PrivateKeyInfo around ECPrivateKey
 * (RFC 5208, RFC 5915) of an EC key, encoded from its raw numbers: the private scalar and the
 * uncompressed public point, as node:crypto's ECDH gives them.
 *
 * Why not generateKeyPairSync + KeyObject.export: OpenSSL 3 looks up an encoder for every
 * spki/pkcs8 export (~0.3 ms per EC key, five times the generation, on every certificate a
 * publish issues); and exporting a freshly generated key as JWK instead can deadlock Node.js 20
 * (the export holds the key's mutex while allocating, and a garbage collection in between runs
 * the key-generation job's destructor, which takes the same mutex). The output is byte for byte
 * what OpenSSL writes (the unit test has OpenSSL re-encode it).
 */

export type EcCurve = 'P-256' | 'P-384' | 'P-521';

/** OpenSSL's name of each curve (for createECDH) and its private-key length in bytes. */
export const EC_CURVE_INFO: Readonly<Record<EcCurve, { readonly openssl: string; readonly privateKeyBytes: number; readonly oid: string }>> = {
  'P-256': { openssl: 'prime256v1', privateKeyBytes: 32, oid: '1.2.840.10045.3.1.7' },
  'P-384': { openssl: 'secp384r1', privateKeyBytes: 48, oid: '1.3.132.0.34' },
  'P-521': { openssl: 'secp521r1', privateKeyBytes: 66, oid: '1.3.132.0.35' },
};

/** id-ecPublicKey with the named curve as its parameters, per curve, encoded once. */
const EC_ALGORITHM = new Map((Object.keys(EC_CURVE_INFO) as EcCurve[]).map((curve) => [curve, sequence(objectIdentifier('1.2.840.10045.2.1'), objectIdentifier(EC_CURVE_INFO[curve].oid))]));
const VERSION_0 = integer(Uint8Array.of(0));
const EC_PRIVATE_KEY_VERSION_1 = integer(Uint8Array.of(1));

function ecAlgorithm(curve: EcCurve): Uint8Array {
  const algorithm = EC_ALGORITHM.get(curve);
  if (algorithm === undefined) throw new RangeError(`unsupported curve ${curve}`);
  return algorithm;
}

/** `point` is the uncompressed public point 04‖x‖y. */
export function ecSubjectPublicKeyInfo(curve: EcCurve, point: Uint8Array): Uint8Array {
  return sequence(ecAlgorithm(curve), bitString(point, 0));
}

/**
 * PrivateKeyInfo around ECPrivateKey { version 1, privateKey, [1] publicKey } (the curve is in the
 * algorithm). The private key is left-padded to the curve's length, as RFC 5915 requires (ECDH
 * drops leading zero bytes: about one key in 256).
 */
export function ecPkcs8(curve: EcCurve, privateKey: Uint8Array, point: Uint8Array): Uint8Array {
  const length = EC_CURVE_INFO[curve]?.privateKeyBytes;
  if (length === undefined) throw new RangeError(`unsupported curve ${curve}`);
  if (privateKey.length > length) throw new RangeError(`a ${curve} private key has at most ${length} bytes`);
  const padded = new Uint8Array(length);
  padded.set(privateKey, length - privateKey.length);
  const ecPrivateKey = sequence(EC_PRIVATE_KEY_VERSION_1, octetString(padded), contextConstructed(1, bitString(point, 0)));
  return sequence(VERSION_0, ecAlgorithm(curve), octetString(ecPrivateKey));
}

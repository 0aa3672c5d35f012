import { bitString, contextConstructed, integer, objectIdentifier, octetString, sequence } from './der.js';

/**
 * SubjectPublicKeyInfo (RFC 5280, RFC 5480, RFC 8410) and PKCS#8 PrivateKeyInfo (RFC 5208,
 * RFC 5915, RFC 8410) of EC and Ed25519 keys, encoded from their JWK form.
 *
 * Why not KeyObject.export: OpenSSL 3 looks up an encoder for every spki/pkcs8 export, which
 * took ~0.3 ms per EC key — five times the key generation itself, on every certificate a
 * publish issues — while the JWK export is a plain read of the key's numbers (~0.01 ms). The
 * output is byte for byte what OpenSSL writes (the unit test compares both for every curve).
 */

export type EcCurve = 'P-256' | 'P-384' | 'P-521';

/** The key's numbers as a JWK export gives them (base64url, each as long as its field). */
export interface EcJwk {
  readonly x: string;
  readonly y: string;
  readonly d: string;
}
export interface OkpJwk {
  readonly x: string;
  readonly d: string;
}

const CURVE_OID: Readonly<Record<EcCurve, string>> = { 'P-256': '1.2.840.10045.3.1.7', 'P-384': '1.3.132.0.34', 'P-521': '1.3.132.0.35' };
/** id-ecPublicKey with the named curve as its parameters, per curve, encoded once. */
const EC_ALGORITHM = new Map((Object.keys(CURVE_OID) as EcCurve[]).map((curve) => [curve, sequence(objectIdentifier('1.2.840.10045.2.1'), objectIdentifier(CURVE_OID[curve]))]));
/** id-Ed25519, without parameters (RFC 8410 §3). */
const ED25519_ALGORITHM = sequence(objectIdentifier('1.3.101.112'));
const VERSION_0 = integer(Uint8Array.of(0));
const EC_PRIVATE_KEY_VERSION_1 = integer(Uint8Array.of(1));

const bytes = (base64url: string): Uint8Array => new Uint8Array(Buffer.from(base64url, 'base64url'));

function ecAlgorithm(curve: EcCurve): Uint8Array {
  const algorithm = EC_ALGORITHM.get(curve);
  if (algorithm === undefined) throw new RangeError(`unsupported curve ${curve}`);
  return algorithm;
}

/** The uncompressed point 04‖x‖y, as a BIT STRING. */
function ecPoint(jwk: EcJwk): Uint8Array {
  const x = bytes(jwk.x);
  const y = bytes(jwk.y);
  const point = new Uint8Array(1 + x.length + y.length);
  point[0] = 0x04;
  point.set(x, 1);
  point.set(y, 1 + x.length);
  return bitString(point, 0);
}

export function ecSubjectPublicKeyInfo(curve: EcCurve, jwk: EcJwk): Uint8Array {
  return sequence(ecAlgorithm(curve), ecPoint(jwk));
}

/** PrivateKeyInfo around ECPrivateKey { version 1, privateKey, [1] publicKey } (the curve is in the algorithm). */
export function ecPkcs8(curve: EcCurve, jwk: EcJwk): Uint8Array {
  const ecPrivateKey = sequence(EC_PRIVATE_KEY_VERSION_1, octetString(bytes(jwk.d)), contextConstructed(1, ecPoint(jwk)));
  return sequence(VERSION_0, ecAlgorithm(curve), octetString(ecPrivateKey));
}

export function ed25519SubjectPublicKeyInfo(jwk: OkpJwk): Uint8Array {
  return sequence(ED25519_ALGORITHM, bitString(bytes(jwk.x), 0));
}

/** PrivateKeyInfo around CurvePrivateKey ::= OCTET STRING (RFC 8410 §7). */
export function ed25519Pkcs8(jwk: OkpJwk): Uint8Array {
  return sequence(VERSION_0, ED25519_ALGORITHM, octetString(octetString(bytes(jwk.d))));
}

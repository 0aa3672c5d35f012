import * as assert from 'node:assert/strict';
import { createPrivateKey, createPublicKey, generateKeyPairSync, sign, verify } from 'node:crypto';
import { describe, it } from 'node:test';
import { ecPkcs8, ecSubjectPublicKeyInfo, ed25519Pkcs8, ed25519SubjectPublicKeyInfo, type EcCurve } from '../../../../src/providers/embedded/key-encoding.js';
import { generatePodKeyPair } from '../../../../src/providers/embedded/key-pair.js';

// Enough keys that coordinates with leading zero bytes (1 in 256 per coordinate) come up for
// P-256, where a length slip would show.
const KEYS_PER_CURVE = 300;

void describe('key encodings from JWK numbers', () => {
  for (const curve of ['P-256', 'P-384', 'P-521'] as EcCurve[]) {
    void it(`${curve}: SubjectPublicKeyInfo and PKCS#8 are byte for byte what OpenSSL exports`, () => {
      for (let i = 0; i < (curve === 'P-256' ? KEYS_PER_CURVE : 50); i++) {
        const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve: curve });
        const jwk = privateKey.export({ format: 'jwk' });
        const numbers = { x: jwk.x ?? '', y: jwk.y ?? '', d: jwk.d ?? '' };
        assert.deepEqual(Buffer.from(ecSubjectPublicKeyInfo(curve, numbers)), publicKey.export({ type: 'spki', format: 'der' }));
        assert.deepEqual(Buffer.from(ecPkcs8(curve, numbers)), privateKey.export({ type: 'pkcs8', format: 'der' }));
      }
    });
  }

  void it('Ed25519: SubjectPublicKeyInfo and PKCS#8 are byte for byte what OpenSSL exports', () => {
    for (let i = 0; i < 50; i++) {
      const { publicKey, privateKey } = generateKeyPairSync('ed25519');
      const jwk = privateKey.export({ format: 'jwk' });
      const numbers = { x: jwk.x ?? '', d: jwk.d ?? '' };
      assert.deepEqual(Buffer.from(ed25519SubjectPublicKeyInfo(numbers)), publicKey.export({ type: 'spki', format: 'der' }));
      assert.deepEqual(Buffer.from(ed25519Pkcs8(numbers)), privateKey.export({ type: 'pkcs8', format: 'der' }));
    }
  });

  void it('an unknown curve is refused', () => {
    assert.throws(() => ecSubjectPublicKeyInfo('P-192' as EcCurve, { x: '', y: '', d: '' }), /unsupported curve P-192/);
  });
});

void describe('generatePodKeyPair', () => {
  for (const [algorithm, size] of [['ECDSA', 256], ['ECDSA', 384], ['ECDSA', 521], ['Ed25519', undefined], ['RSA', 2048]] as const) {
    void it(`${algorithm}${size === undefined ? '' : ` ${size}`}: the PEM private key and the SPKI are one key pair`, async () => {
      const pair = await generatePodKeyPair(algorithm, size);
      const privateKey = createPrivateKey(pair.privateKeyPem);
      const publicKey = createPublicKey({ key: Buffer.from(pair.subjectPublicKeyInfo), format: 'der', type: 'spki' });
      assert.match(pair.privateKeyPem, /^-----BEGIN PRIVATE KEY-----\n[A-Za-z0-9+/=\n]+-----END PRIVATE KEY-----\n$/);
      assert.equal(privateKey.asymmetricKeyType, algorithm === 'ECDSA' ? 'ec' : algorithm.toLowerCase());
      if (algorithm === 'ECDSA') assert.equal(privateKey.asymmetricKeyDetails?.namedCurve, { 256: 'prime256v1', 384: 'secp384r1', 521: 'secp521r1' }[size]);
      if (algorithm === 'RSA') assert.equal(privateKey.asymmetricKeyDetails?.modulusLength, 2048);
      assert.equal(pair.isRsa, algorithm === 'RSA');
      // The public half really is the private key's: a signature by one verifies with the other.
      const data = Buffer.from('proof of possession');
      const digest = algorithm === 'Ed25519' ? null : 'sha256';
      assert.ok(verify(digest, data, publicKey, sign(digest, data, privateKey)));
      // And it is the public key OpenSSL derives from the private one.
      assert.deepEqual(createPublicKey(privateKey).export({ type: 'spki', format: 'der' }), Buffer.from(pair.subjectPublicKeyInfo));
    });
  }
});

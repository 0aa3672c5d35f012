import * as assert from 'node:assert/strict';
import { createECDH, createPrivateKey, createPublicKey, sign, verify } from 'node:crypto';
import { describe, it } from 'node:test';
import { EC_CURVE_INFO, ecPkcs8, ecSubjectPublicKeyInfo, type EcCurve } from '../../../../src/providers/embedded/key-encoding.js';
import { generatePodKeyPair } from '../../../../src/providers/embedded/key-pair.js';
import { runModuleScript, sourceModule } from '../../../support/module-script.js';

// Enough keys that private scalars with leading zero bytes (about 1 in 256, which ECDH returns
// shorter) come up for P-256, where a missing pad would show.
const KEYS_PER_CURVE = 1_000;

void describe('EC key encodings from raw numbers', () => {
  for (const curve of ['P-256', 'P-384', 'P-521'] as EcCurve[]) {
    void it(`${curve}: SubjectPublicKeyInfo and PKCS#8 are byte for byte what OpenSSL writes for the same key`, () => {
      let padded = 0;
      // P-256: at least KEYS_PER_CURVE keys, and on until a short scalar has come up (1,000 keys
      // alone miss one about 2 % of the time; 10,000 about never).
      const enough = (i: number) => (curve === 'P-256' ? i >= KEYS_PER_CURVE && (padded > 0 || i >= 10 * KEYS_PER_CURVE) : i >= 50);
      for (let i = 0; !enough(i); i++) {
        const ecdh = createECDH(EC_CURVE_INFO[curve].openssl);
        const point = new Uint8Array(ecdh.generateKeys());
        const privateKey = new Uint8Array(ecdh.getPrivateKey());
        if (privateKey.length < EC_CURVE_INFO[curve].privateKeyBytes) padded++;
        const pkcs8 = Buffer.from(ecPkcs8(curve, privateKey, point));
        // OpenSSL parses ours and writes its own encoding of the same key: they must be identical.
        const parsed = createPrivateKey({ key: pkcs8, format: 'der', type: 'pkcs8' });
        assert.deepEqual(parsed.export({ type: 'pkcs8', format: 'der' }), pkcs8);
        assert.deepEqual(createPublicKey(parsed).export({ type: 'spki', format: 'der' }), Buffer.from(ecSubjectPublicKeyInfo(curve, point)));
        // And the key OpenSSL read is the one ECDH made (same public point from the same scalar).
        assert.deepEqual(Buffer.from(parsed.export({ format: 'jwk' }).d ?? '', 'base64url').subarray(-privateKey.length), Buffer.from(privateKey));
      }
      if (curve === 'P-256') assert.ok(padded > 0, 'no short private key came up: the padding was not exercised');
    });
  }

  void it('refuses an unknown curve and a private key longer than the curve', () => {
    assert.throws(() => ecSubjectPublicKeyInfo('P-192' as EcCurve, new Uint8Array(65)), /unsupported curve P-192/);
    assert.throws(() => ecPkcs8('P-256', new Uint8Array(33), new Uint8Array(65)), /at most 32 bytes/);
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

  void it('ECDSA: every call makes a new key pair, each one whole, though one generator serves a curve', async () => {
    const pairs = [];
    for (let i = 0; i < 20; i++) pairs.push(await generatePodKeyPair('ECDSA', i % 2 === 0 ? 256 : 384));
    assert.equal(new Set(pairs.map((pair) => pair.privateKeyPem)).size, pairs.length);
    assert.equal(new Set(pairs.map((pair) => Buffer.from(pair.subjectPublicKeyInfo).toString('hex'))).size, pairs.length);
    // A pair read back after later generations is still its own: nothing shared was overwritten.
    for (const pair of pairs) {
      assert.deepEqual(createPublicKey(createPrivateKey(pair.privateKeyPem)).export({ type: 'spki', format: 'der' }), Buffer.from(pair.subjectPublicKeyInfo));
    }
  });
});

void describe('generatePodKeyPair under garbage collection', () => {
  // Node.js 20 can deadlock when a freshly generated KeyObject is exported while a collection runs
  // (key-encoding.ts): a loop of exports hung within ~2,000 keys. Thousands of keys in a child
  // process, with a small young generation so that collections run often, must finish.
  void it('makes 5,000 EC keys in a row without stalling', async () => {
    const script = `const m = await import(${sourceModule('providers/embedded/key-pair.js')}); for (let i = 0; i < 5000; i++) await m.generatePodKeyPair('ECDSA', 256); console.log('done');`;
    const { stdout } = await runModuleScript(script, { nodeFlags: ['--max-semi-space-size=1'], timeoutMs: 60_000 });
    assert.equal(stdout.trim(), 'done');
  });
});

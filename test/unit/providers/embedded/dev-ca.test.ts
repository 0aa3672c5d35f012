import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { webcrypto, X509Certificate } from 'node:crypto';
import { DevCa } from '../../../../src/providers/embedded/dev-ca.js';
import { createCertificateRequest, generateNodeKeyPair } from '../../../../src/providers/embedded/node-key.js';
import { x509 } from '../../../../src/providers/x509.js';

describe('dev CA', () => {
  it('is a self-signed ECDSA P-256 CA whose private key cannot be exported', async () => {
    const now = new Date();
    const ca = await DevCa.create({ now });
    const certificate = new X509Certificate(ca.certificatePem());
    assert.equal(certificate.ca, true);
    assert.equal(certificate.checkIssued(certificate), true);
    assert.equal(certificate.verify(certificate.publicKey), true);
    assert.equal(certificate.publicKey.asymmetricKeyType, 'ec');
    assert.equal(certificate.publicKey.asymmetricKeyDetails?.namedCurve, 'prime256v1');
    assert.match(certificate.subject, /^CN=credmount embedded dev CA [0-9a-f]{8}$/);
    assert.ok(new Date(certificate.validFrom).getTime() <= now.getTime());
    assert.ok(new Date(certificate.validTo).getTime() > now.getTime() + 300 * 86_400_000);
    const usage = ca.certificate.getExtension(x509.KeyUsagesExtension)?.usages ?? 0;
    assert.ok((usage & x509.KeyUsageFlags.keyCertSign) !== 0);

    const privateKey = (ca as unknown as { privateKey: webcrypto.CryptoKey }).privateKey;
    assert.equal(privateKey.extractable, false);
    await assert.rejects(webcrypto.subtle.exportKey('pkcs8', privateKey));
  });

  it('signs a CSR with the names it is given, a random serial and the requested lifetime', async () => {
    const ca = await DevCa.create();
    const names = { commonName: 'svc', dnsNames: ['svc.example'], ipAddresses: ['192.0.2.1'], uris: [] };
    const pair = await generateNodeKeyPair('ECDSA', 384);
    const csr = await createCertificateRequest(pair, names);
    const now = new Date('2026-03-01T12:00:00.750Z');
    const [a, b] = [await ca.sign({ ...names, csr, ttlMs: 600_000, now }), await ca.sign({ ...names, csr, ttlMs: 600_000, now })];
    assert.notEqual(a.serialNumber, b.serialNumber);
    assert.equal(a.notBefore.toISOString(), '2026-03-01T11:59:30.000Z');
    assert.equal(a.notAfter.toISOString(), '2026-03-01T12:10:00.000Z');
    assert.equal(await a.verify({ publicKey: ca.certificate.publicKey, signatureOnly: true }), true);
    const node = new X509Certificate(a.toString('pem'));
    assert.equal(node.subjectAltName, 'DNS:svc.example, IP Address:192.0.2.1');
    assert.equal(node.publicKey.asymmetricKeyDetails?.namedCurve, 'secp384r1');
  });
});

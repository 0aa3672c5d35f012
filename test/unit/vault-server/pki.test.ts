import assert from 'node:assert/strict';
import { createPrivateKey, webcrypto, X509Certificate } from 'node:crypto';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { x509 } from '../../../src/providers/x509.js';
import { ManualClock, VaultTestServer } from '../../support/vault-server/index.js';
import { call } from './helpers.js';

describe('Vault test server: PKI', () => {
  let clock: ManualClock;
  let vault: VaultTestServer;
  let token: string;

  beforeEach(async () => {
    clock = new ManualClock(Date.UTC(2030, 5, 1, 8, 0, 0));
    vault = await VaultTestServer.start({ now: clock.now });
    await vault.addPkiRole('web', { allowedDomains: ['example.com'], allowSubdomains: true, maxTtlSeconds: 86400, keyType: 'ec' });
    vault.addPolicy('pki', ['pki/issue/*', 'pki/sign/*']);
    token = vault.createToken({ policies: ['pki'] });
  });
  afterEach(async () => {
    await vault.stop();
  });

  it('issue: a certificate and key for the requested names, on the server clock', async () => {
    const result = await call(vault, 'POST', '/v1/pki/issue/web', {
      token,
      body: { common_name: 'shop.example.com', alt_names: 'api.example.com', ip_sans: '10.0.0.7', ttl: '2h' },
    });
    assert.equal(result.status, 200);
    assert.equal(result.body.lease_id, '');
    assert.equal(result.body.mount_type, 'pki');
    const data = result.body.data;
    assert.deepEqual(Object.keys(data).sort(), ['ca_chain', 'certificate', 'expiration', 'issuing_ca', 'private_key', 'private_key_type', 'serial_number']);
    assert.equal(data.private_key_type, 'ec');
    assert.match(data.private_key, /^-----BEGIN EC PRIVATE KEY-----\n[\s\S]+-----END EC PRIVATE KEY-----$/);
    assert.match(data.serial_number, /^[0-9a-f]{2}(:[0-9a-f]{2}){19}$/);
    assert.equal(data.issuing_ca, vault.pkiCaPem());
    assert.deepEqual(data.ca_chain, [vault.pkiCaPem()]);

    const certificate = new X509Certificate(data.certificate);
    const ca = new X509Certificate(data.issuing_ca);
    assert.ok(certificate.verify(ca.publicKey));
    assert.ok(certificate.checkIssued(ca));
    assert.equal(certificate.subject, 'CN=shop.example.com');
    assert.equal(certificate.subjectAltName, 'DNS:shop.example.com, DNS:api.example.com, IP Address:10.0.0.7');
    assert.equal(certificate.serialNumber.toLowerCase(), data.serial_number.replace(/:/g, ''));
    assert.equal(new Date(certificate.validFrom).getTime(), clock.now() - 30_000);
    assert.equal(new Date(certificate.validTo).getTime(), clock.now() + 2 * 3600_000);
    assert.equal(data.expiration, Math.floor(clock.now() / 1000) + 7200);
    // The key belongs to the certificate.
    const key = createPrivateKey(data.private_key);
    assert.ok(certificate.checkPrivateKey(key));
  });

  it('issue: refuses names outside the role and caps the TTL at max_ttl with a warning', async () => {
    const refusals: [Record<string, unknown>, string][] = [
      [{ common_name: 'shop.example.org' }, 'common name shop.example.org not allowed by this role'],
      [{ common_name: 'example.com' }, 'common name example.com not allowed by this role'],
      [{ common_name: 'a.example.com', alt_names: 'evil.test' }, 'subject alternate name evil.test not allowed by this role'],
      [{ common_name: 'a.example.com', uri_sans: 'spiffe://x' }, 'URI Subject Alternative Names are not allowed in this role, but were provided via the API'],
      [{}, 'the common_name field is required, or must be provided in a CSR with "use_csr_common_name" set to true, unless "require_cn" is set to false'],
    ];
    for (const [body, message] of refusals) {
      const result = await call(vault, 'POST', '/v1/pki/issue/web', { token, body });
      assert.deepEqual([result.status, result.body], [400, { errors: [message] }]);
    }
    const unknown = await call(vault, 'POST', '/v1/pki/issue/nope', { token, body: { common_name: 'a.example.com' } });
    assert.deepEqual(unknown.body, { errors: ['unknown role: nope'] });

    const capped = await call(vault, 'PUT', '/v1/pki/issue/web', { token, body: { common_name: 'a.example.com', ttl: '48h' } });
    assert.equal(capped.status, 200);
    assert.deepEqual(capped.body.warnings, ['TTL "48h0m0s" is longer than permitted maxTTL "24h0m0s", so maxTTL is being used']);
    assert.equal(capped.body.data.expiration, Math.floor(clock.now() / 1000) + 86400);
  });

  it('issue: RSA keys by default, PKCS#8 and DER on request', async () => {
    await vault.addPkiRole('rsa', { allowAnyName: true });
    const pem = await call(vault, 'POST', '/v1/pki/issue/rsa', { token, body: { common_name: 'anything' } });
    assert.equal(pem.body.data.private_key_type, 'rsa');
    assert.match(pem.body.data.private_key, /^-----BEGIN RSA PRIVATE KEY-----/);
    // No role TTL: the mount default (768h).
    assert.equal(pem.body.data.expiration, Math.floor(clock.now() / 1000) + 2764800);
    const pkcs8 = await call(vault, 'POST', '/v1/pki/issue/web', { token, body: { common_name: 'a.example.com', private_key_format: 'pkcs8' } });
    assert.match(pkcs8.body.data.private_key, /^-----BEGIN PRIVATE KEY-----/);
    const der = await call(vault, 'POST', '/v1/pki/issue/web', { token, body: { common_name: 'a.example.com', format: 'der' } });
    assert.ok(new X509Certificate(Buffer.from(der.body.data.certificate, 'base64')).checkIssued(new X509Certificate(vault.pkiCaPem())));
  });

  it('sign: certifies a CSR, taking CN and SANs from it', async () => {
    const keys = (await webcrypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, ['sign', 'verify'])) as { privateKey: webcrypto.CryptoKey; publicKey: webcrypto.CryptoKey };
    const csr = await x509.Pkcs10CertificateRequestGenerator.create({
      name: 'CN=pod.example.com',
      keys,
      signingAlgorithm: { name: 'ECDSA', hash: 'SHA-256' },
      extensions: [new x509.SubjectAlternativeNameExtension([{ type: 'dns', value: 'pod.example.com' }, { type: 'dns', value: 'svc.example.com' }])],
    });
    const result = await call(vault, 'POST', '/v1/pki/sign/web', { token, body: { csr: csr.toString('pem'), ttl: 3600 } });
    assert.equal(result.status, 200);
    assert.deepEqual(Object.keys(result.body.data).sort(), ['ca_chain', 'certificate', 'expiration', 'issuing_ca', 'serial_number']);
    const certificate = new X509Certificate(result.body.data.certificate);
    assert.equal(certificate.subject, 'CN=pod.example.com');
    assert.equal(certificate.subjectAltName, 'DNS:pod.example.com, DNS:svc.example.com');
    assert.ok(certificate.checkIssued(new X509Certificate(vault.pkiCaPem())));
    const exported = Buffer.from(await webcrypto.subtle.exportKey('spki', keys.publicKey));
    assert.deepEqual(certificate.publicKey.export({ type: 'spki', format: 'der' }), exported);

    const outside = await x509.Pkcs10CertificateRequestGenerator.create({ name: 'CN=pod.evil.test', keys, signingAlgorithm: { name: 'ECDSA', hash: 'SHA-256' } });
    const refused = await call(vault, 'POST', '/v1/pki/sign/web', { token, body: { csr: outside.toString('pem') } });
    assert.deepEqual([refused.status, refused.body], [400, { errors: ['common name pod.evil.test not allowed by this role'] }]);
    assert.equal((await call(vault, 'POST', '/v1/pki/sign/web', { token, body: { csr: 'junk' } })).status, 400);
  });
});

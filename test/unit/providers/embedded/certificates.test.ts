import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createPrivateKey, createPublicKey, sign, verify, X509Certificate } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { isCredmountError } from '../../../../src/errors/credmount-error.js';
import { createEmbeddedProvider, type EmbeddedProvider } from '../../../../src/providers/embedded/embedded-provider.js';
import type { FetchResult } from '../../../../src/providers/provider.js';
import { x509 } from '../../../../src/providers/x509.js';
import { BILLING, createStore, fetchRequest, REPORTING, tempDir, text, tokenSet, TokenIssuer } from './support.js';

const TLS_OBJECTS = [
  '- objectName: tls',
  '  certificate:',
  '    commonName: ${POD_NAME}',
  '    dnsNames: ["${POD_NAME}.${POD_NAMESPACE}.svc", "billing.example.com"]',
  '    ipAddresses: ["10.1.2.3", "fd00::7"]',
  '    uris: ["spiffe://cluster.local/ns/${POD_NAMESPACE}/sa/${SERVICE_ACCOUNT_NAME}"]',
  '    ttl: 2m',
].join('\n');

function file(result: FetchResult, path: string) {
  const found = result.files.find((f) => f.path === path);
  assert.ok(found !== undefined, `no file ${path} in ${result.files.map((f) => f.path).join(', ')}`);
  return found;
}

/** Sign with the key file and verify with the certificate: the two belong together. */
function assertKeyMatchesCertificate(keyPem: string, certificate: X509Certificate): void {
  const key = createPrivateKey(keyPem);
  const data = Buffer.from('proof of possession');
  const digest = key.asymmetricKeyType === 'ed25519' ? null : 'sha256';
  const signature = sign(digest, data, key);
  assert.equal(verify(digest, data, certificate.publicKey, signature), true, 'the certificate public key verifies a signature of the private key');
  assert.deepEqual(createPublicKey(key).export({ format: 'der', type: 'spki' }), certificate.publicKey.export({ format: 'der', type: 'spki' }));
}

describe('embedded provider: certificates', () => {
  let dir: Awaited<ReturnType<typeof tempDir>>;
  let issuer: TokenIssuer;
  let provider: EmbeddedProvider;

  before(async () => {
    dir = await tempDir();
    issuer = await TokenIssuer.create();
    const jwksFile = join(dir.path, 'jwks.json');
    await writeFile(jwksFile, JSON.stringify(issuer.jwks));
    provider = await createEmbeddedProvider({ storeDir: await createStore(dir.path), jwksFile, defaultCertificateTtlMs: 300_000, maxCertificateTtlMs: 7_200_000 });
  });
  after(async () => {
    await provider.close();
    await dir.cleanup();
  });

  async function issue(objects: string, now = new Date()): Promise<FetchResult> {
    const parsed = provider.parse({ objects }, BILLING);
    assert.equal(parsed.scope, 'pod');
    return provider.fetch(fetchRequest(parsed.value, tokenSet(await issuer.mint()), BILLING, now));
  }

  it('never makes a short-lived certificate due at once', async () => {
    const now = new Date();
    const result = await issue('- objectName: tls\n  certificate: {dnsNames: [a.example], ttl: 3s}', now);
    assert.ok(result.refreshAt.getTime() > now.getTime(), 'refreshAt is after the fetch');
    assert.ok(result.refreshAt.getTime() < (result.expiresAt?.getTime() ?? 0), 'and before the certificate expires');
  });

  it('issues a certificate with the requested names, signed by the dev CA, for a key made on the node', async () => {
    const now = new Date();
    const result = await issue(TLS_OBJECTS, now);
    assert.deepEqual(result.files.map((f) => f.path).sort(), ['ca.crt', 'tls.crt', 'tls.key']);

    const certificatePem = text(file(result, 'tls.crt').content);
    const keyPem = text(file(result, 'tls.key').content);
    assert.match(certificatePem, /^-----BEGIN CERTIFICATE-----\n/);
    assert.match(keyPem, /^-----BEGIN PRIVATE KEY-----\n/); // PKCS#8
    assert.equal(file(result, 'tls.key').mode, 0o600);
    assert.equal(file(result, 'tls.crt').mode, undefined);
    assert.equal(text(file(result, 'ca.crt').content), (await provider.caCertificatePem()));

    const certificate = new X509Certificate(certificatePem);
    const ca = new X509Certificate((await provider.caCertificatePem()));
    // names, after templating
    assert.equal(certificate.subject, 'CN=billing-7d9f8c6b5-x2kqp');
    assert.equal(
      certificate.subjectAltName,
      'DNS:billing-7d9f8c6b5-x2kqp.payments.svc, DNS:billing.example.com, IP Address:10.1.2.3, IP Address:FD00:0:0:0:0:0:0:7, URI:spiffe://cluster.local/ns/payments/sa/billing',
    );
    // issued by the CA: issuer name and signature
    assert.equal(certificate.issuer, ca.subject);
    assert.equal(certificate.checkIssued(ca), true);
    assert.equal(certificate.verify(ca.publicKey), true);
    assert.equal(certificate.ca, false);
    assert.equal(ca.ca, true);
    assert.deepEqual(certificate.keyUsage?.sort(), ['1.3.6.1.5.5.7.3.1', '1.3.6.1.5.5.7.3.2']);
    // lifetime: NotBefore = now − 30 s, NotAfter = now + ttl (whole seconds)
    const notBefore = new Date(certificate.validFrom).getTime();
    const notAfter = new Date(certificate.validTo).getTime();
    const nowSeconds = Math.floor(now.getTime() / 1000) * 1000;
    assert.equal(notBefore, nowSeconds - 30_000);
    assert.equal(notAfter, nowSeconds + 120_000);
    assert.equal(notAfter - notBefore, 120_000 + 30_000);
    // refresh at 2/3 of the lifetime counted from issuance (not from the back-dated NotBefore,
    // which would make a short-lived certificate due at once), expiry at NotAfter
    assert.equal(result.refreshAt.getTime(), now.getTime() + Math.floor(((notAfter - now.getTime()) * 2) / 3));
    assert.ok(Math.abs(result.refreshAt.getTime() - (now.getTime() + 80_000)) <= 1_000);
    assert.equal(result.expiresAt?.getTime(), notAfter);
    // the key belongs to the certificate
    assertKeyMatchesCertificate(keyPem, certificate);
    // the version is the serial, nothing secret
    assert.equal(result.versions['tls'], certificate.serialNumber.toLowerCase());
    assert.match(result.versions['tls'] ?? '', /^[0-9a-f]{32}$/);
  });

  it('reads the same certificate with @peculiar/x509: extensions as specified', async () => {
    const result = await issue(TLS_OBJECTS);
    const certificate = new x509.X509Certificate(text(file(result, 'tls.crt').content));
    const ca = new x509.X509Certificate((await provider.caCertificatePem()));
    assert.equal(await certificate.verify({ publicKey: ca.publicKey, signatureOnly: true }), true);
    const keyUsage = certificate.getExtension(x509.KeyUsagesExtension);
    assert.equal(keyUsage?.usages, x509.KeyUsageFlags.digitalSignature); // ECDSA: no keyEncipherment (RFC 5480)
    const basic = certificate.getExtension(x509.BasicConstraintsExtension);
    assert.equal(basic?.ca, false);
    const aki = certificate.getExtension(x509.AuthorityKeyIdentifierExtension);
    const caSki = ca.getExtension(x509.SubjectKeyIdentifierExtension);
    assert.equal(aki?.keyId, caSki?.keyId);
  });

  it('issues a new certificate on every fetch', async () => {
    const [first, second] = [await issue(TLS_OBJECTS), await issue(TLS_OBJECTS)];
    assert.notEqual(first.versions['tls'], second.versions['tls']);
    assert.notDeepEqual(file(first, 'tls.key').content, file(second, 'tls.key').content);
  });

  it('makes RSA and Ed25519 keys too', async () => {
    const result = await issue(
      ['- objectName: rsa', '  certificate: {dnsNames: [rsa.example], keyAlgorithm: RSA}', '- objectName: ed', '  certificate: {dnsNames: [ed.example], keyAlgorithm: Ed25519}', '  filePermission: "0440"'].join('\n'),
    );
    const rsa = new X509Certificate(text(file(result, 'rsa.crt').content));
    assert.equal(rsa.publicKey.asymmetricKeyType, 'rsa');
    assert.equal(rsa.publicKey.asymmetricKeyDetails?.modulusLength, 2048);
    assertKeyMatchesCertificate(text(file(result, 'rsa.key').content), rsa);
    const rsaUsage = new x509.X509Certificate(text(file(result, 'rsa.crt').content)).getExtension(x509.KeyUsagesExtension)?.usages;
    assert.equal(rsaUsage, x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment);

    const ed = new X509Certificate(text(file(result, 'ed.crt').content));
    assert.equal(ed.publicKey.asymmetricKeyType, 'ed25519');
    assertKeyMatchesCertificate(text(file(result, 'ed.key').content), ed);
    assert.equal(file(result, 'ed.key').mode, 0o440);
    assert.equal(file(result, 'ed.crt').mode, 0o440);
    // no common name: empty subject, names in the (critical) SAN
    assert.ok(ed.subject === undefined || ed.subject === '', `subject ${ed.subject}`);
    assert.equal(ed.subjectAltName, 'DNS:ed.example');
    const edSan = new x509.X509Certificate(text(file(result, 'ed.crt').content)).getExtension(x509.SubjectAlternativeNameExtension);
    assert.equal(edSan?.critical, true);
    // one CA bundle for the volume
    assert.equal(result.files.filter((f) => f.path === 'ca.crt').length, 1);
  });

  it('uses the default TTL and caps a longer one by the policy (1h) and the provider', async () => {
    const lifetime = (result: FetchResult) => {
      const certificate = new X509Certificate(text(file(result, 'tls.crt').content));
      return new Date(certificate.validTo).getTime() - new Date(certificate.validFrom).getTime() - 30_000;
    };
    assert.equal(lifetime(await issue('- objectName: tls\n  certificate: {dnsNames: [a.example]}')), 300_000);
    assert.equal(lifetime(await issue('- objectName: tls\n  certificate: {dnsNames: [a.example], ttl: 3h}')), 3_600_000);
  });

  it('combines secrets and certificates: earliest refreshAt, certificate expiresAt', async () => {
    const now = new Date();
    const result = await issue(`- {objectName: db, secretPath: payments/db-password}\n${TLS_OBJECTS}`, now);
    assert.deepEqual(Object.keys(result.versions).sort(), ['db', 'tls']);
    // the certificate (2/3 of its 2 min, ≈ 80 s after issuance) is due before the secret (5 min)
    const notAfter = Math.floor(now.getTime() / 1000) * 1000 + 120_000;
    assert.equal(result.refreshAt.getTime(), now.getTime() + Math.floor(((notAfter - now.getTime()) * 2) / 3));
    assert.ok(result.expiresAt !== undefined);
  });

  it('refuses certificates to a service account the policy does not allow', async () => {
    const parsed = provider.parse({ objects: TLS_OBJECTS }, REPORTING);
    await assert.rejects(provider.fetch(fetchRequest(parsed.value, tokenSet(await issuer.mint({ identity: REPORTING })), REPORTING)), (error: unknown) => {
      assert.ok(isCredmountError(error));
      assert.equal(error.status, 'PERMISSION_DENIED');
      assert.match(error.message, /certificate object "tls".*allows certificates/);
      return true;
    });
  });
});

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createPrivateKey, createPublicKey, X509Certificate, type KeyObject } from 'node:crypto';
import { inspect } from 'node:util';
import { DevCa } from '../../../../src/providers/embedded/dev-ca.js';
import { generatePodKeyPair } from '../../../../src/providers/embedded/key-pair.js';
import { createCertificateRequest, generateNodeKeyPair } from '../../../../src/providers/embedded/node-key.js';
import { x509 } from '../../../../src/providers/x509.js';
import { runModuleScript, sourceModule } from '../../../support/module-script.js';

describe('dev CA', () => {
  it('is a self-signed ECDSA P-256 CA for end-entity certificates whose private key does not print or serialise', async () => {
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
    // Read independently by @peculiar/x509: CA:TRUE with pathLen 0, keyCertSign, a key identifier.
    const parsed = new x509.X509Certificate(ca.certificatePem());
    const constraints = parsed.getExtension(x509.BasicConstraintsExtension);
    assert.equal(constraints?.ca, true);
    assert.equal(constraints?.pathLength, 0);
    assert.equal(constraints?.critical, true);
    const usage = parsed.getExtension(x509.KeyUsagesExtension)?.usages ?? 0;
    assert.ok((usage & x509.KeyUsageFlags.keyCertSign) !== 0 && (usage & x509.KeyUsageFlags.cRLSign) !== 0);
    assert.ok(parsed.getExtension(x509.SubjectKeyIdentifierExtension)?.keyId);

    // The key is the certificate's, and nothing that prints or serialises the CA shows it.
    const privateKey = (ca as unknown as { privateKey: KeyObject }).privateKey;
    assert.equal(privateKey.type, 'private');
    assert.deepEqual(createPublicKey(privateKey).export({ type: 'spki', format: 'der' }), certificate.publicKey.export({ type: 'spki', format: 'der' }));
    const scalar = Buffer.from(privateKey.export({ format: 'jwk' }).d ?? '', 'base64url');
    assert.equal(scalar.length, 32);
    for (const shown of [inspect(ca, { depth: 10, showHidden: true }), JSON.stringify(ca), inspect(privateKey, { showHidden: true })]) {
      for (const encoding of ['hex', 'base64', 'base64url'] as const) assert.ok(!shown.includes(scalar.toString(encoding)), `the key shows in ${shown.slice(0, 80)}`);
    }
  });

  it("signs without node:crypto's deprecated CryptoKey input (DEP0203 on Node.js 24): a deprecation is an error here", async () => {
    const script = `
      const { DevCa } = await import(${sourceModule('providers/embedded/dev-ca.js')});
      const { generatePodKeyPair } = await import(${sourceModule('providers/embedded/key-pair.js')});
      const ca = await DevCa.create();
      const pair = await generatePodKeyPair('ECDSA', 256);
      await ca.issue({ commonName: 'a', dnsNames: [], ipAddresses: [], uris: [], ...pair, ttlMs: 60_000, now: new Date() });
      console.log('issued');`;
    const { stdout, stderr } = await runModuleScript(script, { nodeFlags: ['--throw-deprecation'] });
    assert.equal(stdout.trim(), 'issued');
    assert.equal(stderr, '');
  });

  it('issues for a node-made key: the names given, a random serial, the requested lifetime, chained to the CA', async () => {
    const ca = await DevCa.create();
    const caCertificate = new X509Certificate(ca.certificatePem());
    const names = { commonName: 'svc', dnsNames: ['svc.example'], ipAddresses: ['192.0.2.1', '2001:db8::1'], uris: ['spiffe://cluster.local/ns/a/sa/b'] };
    const pair = await generatePodKeyPair('ECDSA', 384);
    const now = new Date('2026-03-01T12:00:00.750Z');
    const [a, b] = [await ca.issue({ ...names, ...pair, ttlMs: 600_000, now }), await ca.issue({ ...names, ...pair, ttlMs: 600_000, now })];
    assert.notEqual(a.serial, b.serial);
    assert.equal(a.notBefore.toISOString(), '2026-03-01T11:59:30.000Z');
    assert.equal(a.notAfter.toISOString(), '2026-03-01T12:10:00.000Z');

    const node = new X509Certificate(a.pem);
    assert.equal(node.verify(caCertificate.publicKey), true);
    assert.equal(node.checkIssued(caCertificate), true);
    assert.equal(node.subject, 'CN=svc');
    assert.equal(node.subjectAltName, 'DNS:svc.example, IP Address:192.0.2.1, IP Address:2001:DB8:0:0:0:0:0:1, URI:spiffe://cluster.local/ns/a/sa/b');
    assert.equal(node.serialNumber.toLowerCase(), a.serial);
    assert.equal(new Date(node.validFrom).toISOString(), a.notBefore.toISOString());
    assert.equal(new Date(node.validTo).toISOString(), a.notAfter.toISOString());
    assert.equal(node.ca, false);
    assert.equal(node.publicKey.asymmetricKeyDetails?.namedCurve, 'secp384r1');
    // The certificate's key is the pod's key.
    assert.equal(node.checkPrivateKey(createPrivateKey(pair.privateKeyPem)), true);

    // The same certificate as @peculiar/x509 reads it.
    const parsed = new x509.X509Certificate(a.der);
    assert.equal(await parsed.verify({ publicKey: new x509.X509Certificate(ca.certificatePem()).publicKey, signatureOnly: true }), true);
    assert.equal(parsed.getExtension(x509.KeyUsagesExtension)?.usages, x509.KeyUsageFlags.digitalSignature);
    assert.deepEqual([...(parsed.getExtension(x509.ExtendedKeyUsageExtension)?.usages ?? [])], [x509.ExtendedKeyUsage.serverAuth, x509.ExtendedKeyUsage.clientAuth]);
    assert.equal(
      Buffer.from(parsed.getExtension(x509.AuthorityKeyIdentifierExtension)?.keyId ?? '', 'hex').toString('hex'),
      new x509.X509Certificate(ca.certificatePem()).getExtension(x509.SubjectKeyIdentifierExtension)?.keyId,
    );
    assert.equal(parsed.getExtension(x509.BasicConstraintsExtension)?.ca, false);
  });

  it('adds keyEncipherment for RSA keys only, and makes the SAN critical when there is no subject', async () => {
    const ca = await DevCa.create();
    const now = new Date();
    const rsa = await ca.issue({ commonName: undefined, dnsNames: ['only.example'], ipAddresses: [], uris: [], ...(await generatePodKeyPair('RSA', 2048)), ttlMs: 60_000, now });
    const parsed = new x509.X509Certificate(rsa.der);
    assert.equal(parsed.getExtension(x509.KeyUsagesExtension)?.usages, x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment);
    assert.equal(parsed.subject, '');
    assert.equal(parsed.getExtension(x509.SubjectAlternativeNameExtension)?.critical, true);
    const ed = await ca.issue({ commonName: 'e', dnsNames: [], ipAddresses: [], uris: [], ...(await generatePodKeyPair('Ed25519', undefined)), ttlMs: 60_000, now });
    const edParsed = new X509Certificate(ed.pem);
    assert.equal(edParsed.publicKey.asymmetricKeyType, 'ed25519');
    assert.equal(edParsed.subjectAltName, undefined);
    assert.equal(new x509.X509Certificate(ed.der).getExtension(x509.KeyUsagesExtension)?.usages, x509.KeyUsageFlags.digitalSignature);
  });

  it('signs a CSR made elsewhere only when its proof of possession verifies', async () => {
    const ca = await DevCa.create();
    const names = { commonName: 'svc', dnsNames: ['svc.example'], ipAddresses: [], uris: [] };
    const pair = await generateNodeKeyPair('ECDSA', 256);
    const csr = await createCertificateRequest(pair, names);
    const issued = await ca.sign({ ...names, csr, ttlMs: 600_000, now: new Date() });
    const node = new X509Certificate(issued.pem);
    assert.equal(node.verify(new X509Certificate(ca.certificatePem()).publicKey), true);
    assert.equal(Buffer.from(node.publicKey.export({ type: 'spki', format: 'der' })).equals(Buffer.from(csr.publicKey.rawData)), true);

    // A request carrying one key but signed by another proves nothing: refused.
    const other = await generateNodeKeyPair('ECDSA', 256);
    const forged = await x509.Pkcs10CertificateRequestGenerator.create({
      name: 'CN=svc',
      keys: { publicKey: pair.keys.publicKey, privateKey: other.keys.privateKey },
      signingAlgorithm: pair.signingAlgorithm,
    });
    await assert.rejects(ca.sign({ ...names, csr: forged, ttlMs: 600_000, now: new Date() }), /does not verify/);
  });
});

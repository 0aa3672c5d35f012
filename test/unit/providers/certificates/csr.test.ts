import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parseCertificateAttributes, type AttributeDefaults } from '../../../../src/providers/certificates/attributes.js';
import { createCsr, csrPem } from '../../../../src/providers/certificates/csr.js';
import { generateNodeKey, publicKeyDer } from '../../../../src/providers/certificates/key-material.js';
import { x509 } from '../../../../src/providers/x509.js';

const identity = { namespace: 'payments', podName: 'web-0', podUid: '6c1d3a57-7b44-4c1b-9d59-0d5b1f8a2e10', serviceAccountName: 'web' };
const defaults: AttributeDefaults = { vaultAddress: '', vaultAuthMountPath: 'kubernetes', vaultAudience: 'vault', vaultPkiMount: 'pki', vaultAllowedAddresses: [], maxDurationMs: 8760 * 3_600_000 };

/** The CSR's extension of this class (the CSR's own getExtension takes an OID). */
function ext<T extends x509.Extension>(csr: x509.Pkcs10CertificateRequest, type: new (...args: never[]) => T): T | undefined {
  return csr.extensions.find((e): e is T => e instanceof type);
}

/** Build the CSR for these attributes, then read it back from its PEM as a CA would. */
async function csrFor(attrs: Record<string, string>) {
  const spec = parseCertificateAttributes({ 'csi.cert-manager.io/issuer-name': 'ca', ...attrs }, identity, defaults);
  const key = await generateNodeKey(spec.keyAlgorithm, spec.keySize);
  const parsed = new x509.Pkcs10CertificateRequest(csrPem(await createCsr(spec, key)));
  return { spec, key, csr: parsed };
}

describe('the CSR, parsed back', () => {
  test('subject in Go pkix order, templated SANs, usages, signed by the node key it carries', async () => {
    const { key, csr } = await csrFor({
      'csi.cert-manager.io/common-name': '${POD_NAME}.${POD_NAMESPACE}',
      'csi.cert-manager.io/organizations': 'Acme,Payments',
      'csi.cert-manager.io/countries': 'DE',
      'csi.cert-manager.io/localities': 'Berlin',
      'csi.cert-manager.io/serialnumber': '42',
      'csi.cert-manager.io/dns-names': '${POD_NAME}.${POD_NAMESPACE}.svc',
      'csi.cert-manager.io/ip-sans': '10.1.2.3',
      'csi.cert-manager.io/uri-sans': 'spiffe://cluster.local/ns/${POD_NAMESPACE}/sa/${SERVICE_ACCOUNT_NAME}',
      'csi.cert-manager.io/key-usages': 'digital signature,key encipherment,server auth,client auth',
      'csi.cert-manager.io/key-algorithm': 'ECDSA',
      'csi.cert-manager.io/key-size': '384',
    });
    assert.equal(await csr.verify(), true, 'proof of possession');
    assert.deepEqual(Buffer.from(csr.publicKey.rawData), publicKeyDer(key));
    assert.equal(csr.subject, 'C=DE, L=Berlin, O=Acme+O=Payments, CN=web-0.payments, 2.5.4.5=42');
    const san = ext(csr, x509.SubjectAlternativeNameExtension);
    assert.ok(san !== undefined);
    assert.deepEqual(
      san.names.items.map((n) => `${n.type}:${n.value}`),
      ['dns:web-0.payments.svc', 'ip:10.1.2.3', 'url:spiffe://cluster.local/ns/payments/sa/web'],
    );
    assert.equal(san.critical, false);
    const usages = ext(csr, x509.KeyUsagesExtension);
    assert.equal(usages?.usages, x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment);
    assert.equal(usages?.critical, true);
    assert.deepEqual([...(ext(csr, x509.ExtendedKeyUsageExtension)?.usages ?? [])], [x509.ExtendedKeyUsage.serverAuth, x509.ExtendedKeyUsage.clientAuth]);
    assert.equal(ext(csr, x509.BasicConstraintsExtension), undefined, 'no CA flag unless is-ca');
    assert.equal((csr.signatureAlgorithm as unknown as { hash: { name: string } }).hash.name, 'SHA-384');
    assert.equal(csr.toString('pem').includes('PRIVATE'), false);
  });

  test('no subject: the SAN extension is critical (RFC 5280 4.2.1.6); is-ca adds basicConstraints', async () => {
    const { csr } = await csrFor({ 'csi.cert-manager.io/dns-names': 'a.example', 'csi.cert-manager.io/is-ca': 'true', 'csi.cert-manager.io/key-usages': 'cert sign,crl sign', 'csi.cert-manager.io/key-algorithm': 'Ed25519' });
    assert.equal(csr.subject, '');
    assert.equal(ext(csr, x509.SubjectAlternativeNameExtension)?.critical, true);
    assert.equal(ext(csr, x509.BasicConstraintsExtension)?.ca, true);
    assert.equal(ext(csr, x509.KeyUsagesExtension)?.usages, x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign);
    assert.equal(await csr.verify(), true);
  });

  test('a literal subject is used as written', async () => {
    const { csr } = await csrFor({ 'csi.cert-manager.io/literal-subject': 'CN=${POD_NAME},OU=team\\, inc,O=Acme', 'csi.cert-manager.io/key-algorithm': 'ECDSA' });
    assert.equal(csr.subjectName.getField('CN')[0], 'web-0');
    assert.equal(csr.subjectName.getField('OU')[0], 'team, inc');
  });

  test('RSA keys: 2048 by default, 4096 on request, signed with SHA-256', async () => {
    const { csr } = await csrFor({ 'csi.cert-manager.io/common-name': 'x' });
    assert.equal((csr.publicKey.algorithm as { modulusLength?: number }).modulusLength, 2048);
    assert.equal((csr.signatureAlgorithm as unknown as { name: string }).name, 'RSASSA-PKCS1-v1_5');
    const big = await csrFor({ 'csi.cert-manager.io/common-name': 'x', 'csi.cert-manager.io/key-size': '4096' });
    assert.equal((big.csr.publicKey.algorithm as { modulusLength?: number }).modulusLength, 4096);
  });
});

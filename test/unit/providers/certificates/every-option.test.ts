import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { describe, test } from 'node:test';
import type { AttributeDefaults } from '../../../../src/providers/certificates/attributes.js';
import { CertificatesProvider } from '../../../../src/providers/certificates/certificates-provider.js';
import { DevCaSigner } from '../../../../src/providers/certificates/signers/dev-ca-signer.js';
import type { FetchResult } from '../../../../src/providers/provider.js';

/**
 * A certificate with every option the development CA encodes itself (certificate-der.ts, der.ts),
 * read back by two parsers that are not ours: OpenSSL's command line and node's X509Certificate.
 * NotAfter is after 2049, so the GeneralizedTime branch is encoded too; every key usage bit is set,
 * so the KeyUsage BIT STRING spans two octets (decipherOnly is bit 8).
 */
const identity = { namespace: 'demo', podName: 'web-0', podUid: '6c1d3a57-7b44-4c1b-9d59-0d5b1f8a2e10', serviceAccountName: 'web' };
const defaults: AttributeDefaults = { vaultAddress: '', vaultAuthMountPath: 'kubernetes', vaultAudience: 'vault', vaultPkiMount: 'pki', vaultAllowedAddresses: [], maxDurationMs: 8760 * 3_600_000 };

function file(result: FetchResult, name: string): string {
  const found = result.files.find((f) => f.path === name);
  assert.ok(found !== undefined, `${name} is written`);
  return Buffer.from(found.content).toString('utf8');
}

describe('development CA certificate with every option, parsed by OpenSSL and node', () => {
  test('subject, SANs, all key usages, extended key usages, UTCTime then GeneralizedTime', async () => {
    const now = new Date('2049-12-31T23:30:00.700Z');
    const p = new CertificatesProvider({ defaults, signers: { 'dev-ca': async () => new DevCaSigner(() => new Date('2049-12-30T00:00:00Z')) } });
    const attributes = {
      'csi.cert-manager.io/issuer-name': 'dev',
      'csi.cert-manager.io/issuer-kind': 'DevCA',
      'csi.cert-manager.io/issuer-group': 'credmount.dev',
      'csi.cert-manager.io/common-name': '${POD_NAME}.${POD_NAMESPACE}',
      'csi.cert-manager.io/organizations': 'Acme\\, Inc.,Other',
      'csi.cert-manager.io/organizationalunits': 'Platform',
      'csi.cert-manager.io/countries': 'DE',
      'csi.cert-manager.io/provinces': 'Berlin',
      'csi.cert-manager.io/localities': 'Berlin',
      'csi.cert-manager.io/streetaddresses': 'Street 1',
      'csi.cert-manager.io/postalcodes': '10115',
      'csi.cert-manager.io/serialnumber': 'SN-42',
      'csi.cert-manager.io/dns-names': '${POD_NAME}.demo.svc,*.example.com',
      'csi.cert-manager.io/ip-sans': '10.0.0.1,2001:db8::1,::ffff:192.0.2.1',
      'csi.cert-manager.io/uri-sans': 'https://example.com/${POD_UID}',
      'credmount.dev/spiffe-trust-domain': 'cluster.local',
      'csi.cert-manager.io/duration': '1h',
      'csi.cert-manager.io/key-algorithm': 'ECDSA',
      'csi.cert-manager.io/key-size': '384',
      'csi.cert-manager.io/key-usages':
        'signing,content commitment,key encipherment,data encipherment,key agreement,cert sign,crl sign,encipher only,decipher only,server auth,client auth,code signing,email protection,timestamping,ocsp signing',
    };
    const parsed = p.parse(attributes, identity);
    const result = await p.fetch({ volumeId: 'csi-every', identity, tokens: new Map(), parameters: parsed.value, previousVersions: undefined, now, signal: new AbortController().signal });
    const pem = file(result, 'tls.crt');

    // node (OpenSSL's parser in-process)
    const certificate = new X509Certificate(pem);
    assert.ok(certificate.checkPrivateKey(createPrivateKey(file(result, 'tls.key'))));
    assert.ok(certificate.verify(new X509Certificate(file(result, 'ca.crt')).publicKey));
    assert.equal(new Date(certificate.validFrom).toISOString(), '2049-12-31T23:29:30.000Z');
    assert.equal(new Date(certificate.validTo).toISOString(), '2050-01-01T00:30:00.000Z');
    assert.equal(
      certificate.subjectAltName,
      'DNS:web-0.demo.svc, DNS:*.example.com, IP Address:10.0.0.1, IP Address:2001:DB8:0:0:0:0:0:1, IP Address:0:0:0:0:0:FFFF:C000:201, URI:https://example.com/6c1d3a57-7b44-4c1b-9d59-0d5b1f8a2e10, URI:spiffe://cluster.local/ns/demo/sa/web',
    );
    assert.deepEqual(certificate.keyUsage, ['1.3.6.1.5.5.7.3.1', '1.3.6.1.5.5.7.3.2', '1.3.6.1.5.5.7.3.3', '1.3.6.1.5.5.7.3.4', '1.3.6.1.5.5.7.3.8', '1.3.6.1.5.5.7.3.9']);
    assert.equal(certificate.ca, false);

    // the encodings themselves: UTCTime for 2049, GeneralizedTime for 2050 (RFC 5280 4.1.2.5)
    const der = certificate.raw;
    assert.ok(der.includes(Buffer.concat([Buffer.from([0x17, 13]), Buffer.from('491231232930Z')])), 'NotBefore as UTCTime');
    assert.ok(der.includes(Buffer.concat([Buffer.from([0x18, 15]), Buffer.from('20500101003000Z')])), 'NotAfter as GeneralizedTime');
    // KeyUsage: all nine bits, two octets, 7 unused bits (X.690 11.2.2: no trailing zero bits)
    assert.ok(der.includes(Buffer.from([0x03, 0x03, 0x07, 0xff, 0x80])), 'KeyUsage BIT STRING');

    // the openssl command line (Go's pkix.Name puts the values of one type into one RDN: O=a+O=b)
    const text = execFileSync('openssl', ['x509', '-noout', '-text', '-nameopt', 'RFC2253'], { input: pem }).toString();
    assert.match(text, /Subject: serialNumber=SN-42,CN=web-0\.demo,OU=Platform,O=Other\+O=Acme\\, Inc\.,postalCode=10115,street=Street 1,L=Berlin,ST=Berlin,C=DE/);
    assert.match(text, /Not After : Jan {2}1 00:30:00 2050 GMT/);
    assert.match(text, /X509v3 Key Usage: critical\s+Digital Signature, Non Repudiation, Key Encipherment, Data Encipherment, Key Agreement, Certificate Sign, CRL Sign, Encipher Only, Decipher Only/);
    assert.match(text, /X509v3 Extended Key Usage: \s+TLS Web Server Authentication, TLS Web Client Authentication, Code Signing, E-mail Protection, Time Stamping, OCSP Signing/);
    assert.match(text, /X509v3 Basic Constraints: critical\s+CA:FALSE/);
    assert.match(text, /Public-Key: \(384 bit\)/);
    assert.match(text, /X509v3 Authority Key Identifier:/);
    await p.close();
  });
});

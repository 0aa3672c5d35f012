import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { isCredmountError } from '../../../../src/errors/credmount-error.js';
import { parseEmbeddedParameters, type CertificateObjectSpec } from '../../../../src/providers/embedded/parameters.js';
import { BILLING } from './support.js';

const defaults = { audience: 'credmount' };
const parse = (parameters: Record<string, string>) => parseEmbeddedParameters(parameters, BILLING, defaults);

/** Assert that parsing fails with CM_PARAMETER_INVALID naming `field`. */
function assertRefused(parameters: Record<string, string>, field: string, reason?: RegExp): void {
  assert.throws(
    () => parse(parameters),
    (error: unknown) => {
      assert.ok(isCredmountError(error), `expected a CredmountError, got ${String(error)}`);
      assert.equal(error.code, 'CM_PARAMETER_INVALID');
      assert.equal(error.status, 'INVALID_ARGUMENT');
      assert.equal(error.field, `volume_context.${field}`);
      assert.ok(error.message.startsWith(`volume_context.${field}: `), error.message);
      if (reason !== undefined) assert.match(error.message, reason);
      return true;
    },
  );
}

describe('embedded parameters: valid input', () => {
  it('parses secrets with the default audience and serviceAccount scope', () => {
    const parsed = parse({ objects: '- objectName: db-password\n  secretPath: payments/db-password\n  filePermission: "0640"\n' });
    assert.deepEqual(parsed.audiences, ['credmount']);
    assert.equal(parsed.scope, 'serviceAccount');
    assert.deepEqual(parsed.value.objects, [{ kind: 'secret', objectName: 'db-password', secretPath: 'payments/db-password', mode: 0o640 }]);
  });

  it('takes the audience from the volume and tolerates kubelet keys', () => {
    const parsed = parse({ audience: 'vault', objects: '- {objectName: a, secretPath: payments/a}', 'csi.storage.k8s.io/ephemeral': 'true' });
    assert.deepEqual(parsed.audiences, ['vault']);
    assert.equal(parsed.value.audience, 'vault');
  });

  it('parses a certificate, expands ${...} templates and makes the scope per pod', () => {
    const parsed = parse({
      objects: [
        '- objectName: tls',
        '  certificate:',
        '    commonName: ${POD_NAME}',
        '    dnsNames: ["${POD_NAME}.${POD_NAMESPACE}.svc", "*.example.com"]',
        '    ipAddresses: ["10.0.0.7", "::1"]',
        '    uris: ["spiffe://cluster.local/ns/${POD_NAMESPACE}/sa/${SERVICE_ACCOUNT_NAME}/${POD_UID}"]',
        '    ttl: 2m',
        '    keyAlgorithm: RSA',
        '    keySize: 3072',
      ].join('\n'),
    });
    assert.equal(parsed.scope, 'pod');
    const [tls] = parsed.value.objects as CertificateObjectSpec[];
    assert.ok(tls !== undefined);
    assert.equal(tls.commonName, 'billing-7d9f8c6b5-x2kqp');
    assert.deepEqual(tls.dnsNames, ['billing-7d9f8c6b5-x2kqp.payments.svc', '*.example.com']);
    assert.deepEqual(tls.ipAddresses, ['10.0.0.7', '::1']);
    assert.deepEqual(tls.uris, ['spiffe://cluster.local/ns/payments/sa/billing/9f1c7a52-3d1e-4b8a-9c65-2f0e4d7b1a10']);
    assert.equal(tls.ttlMs, 120_000);
    assert.equal(tls.keyAlgorithm, 'RSA');
    assert.equal(tls.keySize, 3072);
  });

  it('defaults certificates to ECDSA P-256 and the provider TTL', () => {
    const [tls] = parse({ objects: '- objectName: tls\n  certificate: {dnsNames: [a.example]}' }).value.objects as CertificateObjectSpec[];
    assert.equal(tls?.keyAlgorithm, 'ECDSA');
    assert.equal(tls?.keySize, 256);
    assert.equal(tls?.ttlMs, undefined);
  });
});

describe('embedded parameters: malformed input names the field', () => {
  const cases: [name: string, parameters: Record<string, string>, field: string, reason?: RegExp][] = [
    ['unknown parameter', { objects: '- {objectName: a, secretPath: b}', roleName: 'billing' }, 'roleName', /unknown parameter.*no roles/],
    ['objects missing', {}, 'objects', /required/],
    ['objects not YAML', { objects: '- objectName: [a\n  secretPath: b' }, 'objects', /not valid YAML/],
    ['objects not a list', { objects: 'objectName: a' }, 'objects', /YAML list/],
    ['objects empty list', { objects: '[]' }, 'objects', /at least one/],
    ['object not a mapping', { objects: '- just-a-string' }, 'objects[0]', /mapping/],
    ['unknown object field', { objects: '- objectName: a\n  secretPath: b\n  secretKey: password' }, 'objects[0].secretKey', /unknown field.*one whole file/],
    ['objectName missing', { objects: '- secretPath: payments/a' }, 'objects[0].objectName', /required/],
    ['objectName not a string', { objects: '- objectName: 12\n  secretPath: payments/a' }, 'objects[0].objectName', /string/],
    ['objectName escaping the volume', { objects: '- objectName: ../etc/passwd\n  secretPath: payments/a' }, 'objects[0].objectName', /"\.\." element/],
    ['objectName reserved', { objects: '- objectName: ..data\n  secretPath: payments/a' }, 'objects[0].objectName', /reserved/],
    ['duplicate objectName', { objects: '- {objectName: a, secretPath: payments/a}\n- {objectName: a, secretPath: payments/b}' }, 'objects[1].objectName', /already used by objects\[0\]/],
    ['secretPath with ..', { objects: '- {objectName: a, secretPath: payments/a}\n- {objectName: b, secretPath: ../../etc/shadow}' }, 'objects[1].secretPath', /not a path inside the store/],
    ['secretPath absolute', { objects: '- {objectName: a, secretPath: /etc/shadow}' }, 'objects[0].secretPath', /absolute/],
    ['secret and certificate at once', { objects: '- {objectName: a, secretPath: x, certificate: {dnsNames: [a.b]}}' }, 'objects[0].certificate', /not both/],
    ['neither secret nor certificate', { objects: '- {objectName: a}' }, 'objects[0].secretPath', /required/],
    ['filePermission not octal', { objects: '- {objectName: a, secretPath: x, filePermission: "0698"}' }, 'objects[0].filePermission', /octal/],
    ['filePermission unquoted', { objects: '- {objectName: a, secretPath: x, filePermission: 0640}' }, 'objects[0].filePermission', /quoted/],
    ['filePermission with setuid', { objects: '- {objectName: a, secretPath: x, filePermission: "4755"}' }, 'objects[0].filePermission'],
    ['bad ttl', { objects: '- objectName: tls\n  certificate: {dnsNames: [a.b], ttl: 5 minutes}' }, 'objects[0].certificate.ttl', /not a duration/],
    ['sub-second ttl', { objects: '- objectName: tls\n  certificate: {dnsNames: [a.b], ttl: 1.5s}' }, 'objects[0].certificate.ttl', /whole number of seconds/],
    ['unknown certificate field', { objects: '- objectName: tls\n  certificate: {dnsNames: [a.b], isCA: true}' }, 'objects[0].certificate.isCA', /unknown field/],
    ['certificate without names', { objects: '- objectName: tls\n  certificate: {ttl: 1m}' }, 'objects[0].certificate', /at least one/],
    ['bad DNS name', { objects: '- objectName: tls\n  certificate: {dnsNames: [ok.example, "bad name"]}' }, 'objects[0].certificate.dnsNames[1]', /not a DNS name/],
    ['bad IP address', { objects: '- objectName: tls\n  certificate: {ipAddresses: [10.0.0.300]}' }, 'objects[0].certificate.ipAddresses[0]', /IPv4 or IPv6/],
    ['relative URI', { objects: '- objectName: tls\n  certificate: {uris: [not-a-uri]}' }, 'objects[0].certificate.uris[0]', /absolute URI/],
    ['unknown template variable', { objects: '- objectName: tls\n  certificate: {commonName: "${NODE_NAME}"}' }, 'objects[0].certificate.commonName', /unknown variable \$\{NODE_NAME\}/],
    ['bad key algorithm', { objects: '- objectName: tls\n  certificate: {dnsNames: [a.b], keyAlgorithm: DSA}' }, 'objects[0].certificate.keyAlgorithm', /ECDSA/],
    ['bad key size', { objects: '- objectName: tls\n  certificate: {dnsNames: [a.b], keyAlgorithm: RSA, keySize: 1024}' }, 'objects[0].certificate.keySize', /2048/],
    ['keySize for Ed25519', { objects: '- objectName: tls\n  certificate: {dnsNames: [a.b], keyAlgorithm: Ed25519, keySize: 256}' }, 'objects[0].certificate.keySize', /fixed size/],
    ['certificate files collide with a secret', { objects: '- {objectName: tls.crt, secretPath: x}\n- objectName: tls\n  certificate: {dnsNames: [a.b]}' }, 'objects[1].objectName', /"tls.crt" is also written by objects\[0\]/],
    ['ca.crt shadowed', { objects: '- {objectName: ca.crt, secretPath: x}\n- objectName: tls\n  certificate: {dnsNames: [a.b]}' }, 'objects[0].objectName', /reserved for the CA bundle/],
    ['empty audience', { audience: '', objects: '- {objectName: a, secretPath: b}' }, 'audience', /empty/],
  ];
  for (const [name, parameters, field, reason] of cases) {
    it(`${name} → ${field}`, () => assertRefused(parameters, field, reason));
  }

  it('refuses a YAML alias bomb without expanding it', () => {
    const bomb = ['a: &a ["x","x","x","x","x","x","x","x","x","x"]', 'b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a,*a]', 'c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b,*b]', 'd: [*c,*c,*c,*c,*c,*c,*c,*c,*c,*c]'].join('\n');
    assertRefused({ objects: bomb }, 'objects', /alias/);
  });
});

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parseCertificateAttributes, type AttributeDefaults } from '../../../../src/providers/certificates/attributes.js';
import { formatGoDuration, parseGoDuration } from '../../../../src/providers/certificates/go-duration.js';
import { CredmountError } from '../../../../src/errors/credmount-error.js';

const identity = { namespace: 'payments', podName: 'web-7d9f', podUid: '0b7f2c1e-9a3d-4c55-8e21-3f6a0c9d1b22', serviceAccountName: 'web' };
const defaults: AttributeDefaults = { vaultAddress: 'https://vault.example:8200', vaultAuthMountPath: 'kubernetes', vaultAudience: 'vault', vaultPkiMount: 'pki', vaultAllowedAddresses: [], maxDurationMs: 8760 * 3_600_000 };
const parse = (attrs: Record<string, string>) => parseCertificateAttributes(attrs, identity, defaults);
const base = { 'csi.cert-manager.io/issuer-name': 'ca' };

/** assert.throws validator: INVALID_ARGUMENT naming the attribute, with a matching reason. */
function invalid(attribute: string, reason: RegExp) {
  return (error: unknown) => {
    assert.ok(error instanceof CredmountError);
    assert.equal(error.status, 'INVALID_ARGUMENT');
    assert.equal(error.field, `volume_context.${attribute}`);
    assert.match(error.message, reason);
    return true;
  };
}

describe('cert-manager csi-driver attributes', () => {
  test("csi-driver's defaults (pkg/apis/defaults/defaults.go)", () => {
    const spec = parse({ ...base, 'csi.cert-manager.io/common-name': 'x' });
    assert.deepEqual(spec.issuer, { name: 'ca', kind: 'Issuer', group: 'cert-manager.io' });
    assert.equal(spec.signer, 'cert-manager');
    assert.equal(spec.audience, '');
    assert.equal(spec.durationMs, 2160 * 3_600_000);
    assert.equal(spec.renewBeforeMs, undefined);
    assert.equal(spec.isCA, false);
    assert.equal(spec.reusePrivateKey, false);
    assert.deepEqual(spec.keyUsages, ['digital signature', 'key encipherment']);
    assert.deepEqual([spec.keyAlgorithm, spec.keySize, spec.keyEncoding], ['RSA', 2048, 'PKCS1']);
    assert.deepEqual(spec.files, { certificate: 'tls.crt', privateKey: 'tls.key', ca: 'ca.crt', pkcs12: undefined });
    assert.equal(spec.fsGroup, undefined);
  });

  test('key defaults follow the algorithm, whose case does not matter', () => {
    const ec = parse({ ...base, 'csi.cert-manager.io/common-name': 'x', 'csi.cert-manager.io/key-algorithm': 'ecdsa' });
    assert.deepEqual([ec.keyAlgorithm, ec.keySize, ec.keyEncoding], ['ECDSA', 256, 'PKCS8']);
    const ed = parse({ ...base, 'csi.cert-manager.io/common-name': 'x', 'csi.cert-manager.io/key-algorithm': 'ED25519', 'csi.cert-manager.io/key-encoding': 'pkcs8' });
    assert.deepEqual([ed.keyAlgorithm, ed.keySize, ed.keyEncoding], ['Ed25519', undefined, 'PKCS8']);
    const rsa = parse({ ...base, 'csi.cert-manager.io/common-name': 'x', 'csi.cert-manager.io/key-size': '4096', 'csi.cert-manager.io/key-encoding': 'PKCS8' });
    assert.deepEqual([rsa.keyAlgorithm, rsa.keySize, rsa.keyEncoding], ['RSA', 4096, 'PKCS8']);
  });

  test('templating in names and SANs, Go os.Expand style', () => {
    const spec = parse({
      ...base,
      'csi.cert-manager.io/common-name': '${SERVICE_ACCOUNT_NAME}.${POD_NAMESPACE}',
      'csi.cert-manager.io/dns-names': '${POD_NAME}.${POD_NAMESPACE}.svc.cluster.local,\n $POD_NAME.$POD_NAMESPACE.svc',
      'csi.cert-manager.io/uri-sans': 'spiffe://cluster.local/ns/${POD_NAMESPACE}/pod/${POD_NAME}/${POD_UID}',
      'csi.cert-manager.io/ip-sans': '10.0.0.1, ::1',
      'csi.cert-manager.io/organizations': 'Acme\\, Inc.,${POD_NAMESPACE}',
    });
    assert.equal(spec.subject.commonName, 'web.payments');
    assert.deepEqual(spec.dnsNames, ['web-7d9f.payments.svc.cluster.local', 'web-7d9f.payments.svc']);
    assert.deepEqual(spec.uris, [`spiffe://cluster.local/ns/payments/pod/web-7d9f/${identity.podUid}`]);
    assert.deepEqual(spec.ipAddresses, ['10.0.0.1', '::1']);
    assert.deepEqual(spec.subject.organizations, ['Acme, Inc.', 'payments']);
  });

  test('the SPIFFE option adds spiffe://<trust-domain>/ns/<ns>/sa/<sa>', () => {
    const spec = parse({ ...base, 'credmount.dev/spiffe-trust-domain': 'prod.example' });
    assert.deepEqual(spec.uris, ['spiffe://prod.example/ns/payments/sa/web']);
  });

  test('attributes of other domains become CertificateRequest annotations, as csi-driver copies them', () => {
    const spec = parse({ ...base, 'csi.cert-manager.io/common-name': 'x', 'example.com/team': 'payments', 'csi.storage.k8s.io/pod.name': 'ignored' });
    assert.deepEqual(spec.annotations, { 'example.com/team': 'payments' });
  });

  test('PKCS#12: filename defaults to keystore.p12 once enabled; the password is required', () => {
    const spec = parse({ ...base, 'csi.cert-manager.io/common-name': 'x', 'csi.cert-manager.io/pkcs12-enable': 'true', 'csi.cert-manager.io/pkcs12-password': 'p' });
    assert.deepEqual(spec.files.pkcs12, { file: 'keystore.p12', password: 'p' });
    assert.equal(parse({ ...base, 'csi.cert-manager.io/common-name': 'x', 'csi.cert-manager.io/pkcs12-enable': 'false', 'csi.cert-manager.io/pkcs12-password': 'p' }).files.pkcs12, undefined);
    assert.throws(() => parse({ ...base, 'csi.cert-manager.io/common-name': 'x', 'csi.cert-manager.io/pkcs12-enable': 'true' }), invalid('csi.cert-manager.io/pkcs12-password', /is required/));
    assert.throws(() => parse({ ...base, 'csi.cert-manager.io/common-name': 'x', 'csi.cert-manager.io/pkcs12-password': 'p' }), invalid('csi.cert-manager.io/pkcs12-password', /cannot be used without/));
  });

  test('credmount.dev issuers pick the built-in signers', () => {
    const dev = parse({ ...base, 'csi.cert-manager.io/issuer-group': 'credmount.dev', 'csi.cert-manager.io/issuer-kind': 'DevCA', 'csi.cert-manager.io/common-name': 'x' });
    assert.equal(dev.signer, 'dev-ca');
    assert.equal(dev.audience, undefined);
    const vault = parse({ 'csi.cert-manager.io/issuer-name': 'web', 'csi.cert-manager.io/issuer-group': 'credmount.dev', 'csi.cert-manager.io/issuer-kind': 'VaultPKI', 'csi.cert-manager.io/common-name': 'x', 'credmount.dev/vault-role': 'login-role' });
    assert.equal(vault.signer, 'vault');
    assert.deepEqual(vault.vault, { address: 'https://vault.example:8200', authMountPath: 'kubernetes', loginRole: 'login-role', audience: 'vault', pkiMount: 'pki', role: 'web' });
    assert.equal(vault.audience, 'vault');
    // an external issuer (another group) goes through cert-manager like any other
    assert.equal(parse({ ...base, 'csi.cert-manager.io/issuer-group': 'awspca.cert-manager.io', 'csi.cert-manager.io/common-name': 'x' }).signer, 'cert-manager');
  });

  const refusals: [string, Record<string, string>, string, RegExp][] = [
    ['no issuer', { 'csi.cert-manager.io/common-name': 'x' }, 'csi.cert-manager.io/issuer-name', /is required/],
    ['no name at all', { ...base }, 'csi.cert-manager.io/common-name', /needs a common name or at least one of/],
    ['an unknown variable', { ...base, 'csi.cert-manager.io/common-name': '${POD_IP}' }, 'csi.cert-manager.io/common-name', /undefined variable "POD_IP"; known variables: POD_NAME/],
    ['a bad duration', { ...base, 'csi.cert-manager.io/common-name': 'x', 'csi.cert-manager.io/duration': '90d' }, 'csi.cert-manager.io/duration', /not a duration \(Go syntax/],
    ['a too short duration', { ...base, 'csi.cert-manager.io/common-name': 'x', 'csi.cert-manager.io/duration': '30s' }, 'csi.cert-manager.io/duration', /shorter than the minimum of 1m/],
    ['a too long duration', { ...base, 'csi.cert-manager.io/common-name': 'x', 'csi.cert-manager.io/duration': '9000h' }, 'csi.cert-manager.io/duration', /longer than this driver allows \(8760h0m0s\)/],
    ['PKCS1 for ECDSA', { ...base, 'csi.cert-manager.io/common-name': 'x', 'csi.cert-manager.io/key-algorithm': 'ECDSA', 'csi.cert-manager.io/key-encoding': 'PKCS1' }, 'csi.cert-manager.io/key-encoding', /PKCS1 cannot be used with ECDSA/],
    ['an EC size', { ...base, 'csi.cert-manager.io/common-name': 'x', 'csi.cert-manager.io/key-algorithm': 'ECDSA', 'csi.cert-manager.io/key-size': '512' }, 'csi.cert-manager.io/key-size', /256, 384, 521/],
    ['a small RSA key', { ...base, 'csi.cert-manager.io/common-name': 'x', 'csi.cert-manager.io/key-size': '1024' }, 'csi.cert-manager.io/key-size', /from 2048 to 8192/],
    ['an Ed25519 size', { ...base, 'csi.cert-manager.io/common-name': 'x', 'csi.cert-manager.io/key-algorithm': 'Ed25519', 'csi.cert-manager.io/key-size': '256' }, 'csi.cert-manager.io/key-size', /must be empty/],
    ['an unknown usage', { ...base, 'csi.cert-manager.io/common-name': 'x', 'csi.cert-manager.io/key-usages': 'server auth,serverauth' }, 'csi.cert-manager.io/key-usages', /"serverauth" is not a valid key usage/],
    ['a bad bool', { ...base, 'csi.cert-manager.io/common-name': 'x', 'csi.cert-manager.io/is-ca': 'yes' }, 'csi.cert-manager.io/is-ca', /"true" or "false"/],
    ['a path in a file name', { ...base, 'csi.cert-manager.io/common-name': 'x', 'csi.cert-manager.io/certificate-file': 'certs/tls.crt' }, 'csi.cert-manager.io/certificate-file', /must not include '\/'/],
    ['a parent in a file name', { ...base, 'csi.cert-manager.io/common-name': 'x', 'csi.cert-manager.io/ca-file': '..ca' }, 'csi.cert-manager.io/ca-file', /must not start with '\.\.'/],
    ['two files with one name', { ...base, 'csi.cert-manager.io/common-name': 'x', 'csi.cert-manager.io/ca-file': 'tls.crt' }, 'csi.cert-manager.io/ca-file', /also the name of csi\.cert-manager\.io\/certificate-file/],
    ['an unknown csi.cert-manager.io key', { ...base, 'csi.cert-manager.io/common-name': 'x', 'csi.cert-manager.io/dns-name': 'a' }, 'csi.cert-manager.io/dns-name', /unknown attribute/],
    ['a key without a domain', { ...base, 'csi.cert-manager.io/common-name': 'x', objects: '[]' }, 'objects', /not a certificate attribute/],
    ['a bad IP', { ...base, 'csi.cert-manager.io/ip-sans': '10.0.0.256' }, 'csi.cert-manager.io/ip-sans', /not an IP address/],
    ['a relative URI', { ...base, 'csi.cert-manager.io/uri-sans': 'just/a/path' }, 'csi.cert-manager.io/uri-sans', /not an absolute URI/],
    ['a non-ASCII DNS name (IA5String)', { ...base, 'csi.cert-manager.io/dns-names': 'a.example,bücher.example' }, 'csi.cert-manager.io/dns-names', /"bücher\.example" is not ASCII \(an internationalised name goes in its xn-- form/],
    ['a non-ASCII URI (IA5String)', { ...base, 'csi.cert-manager.io/uri-sans': 'https://example.com/ü' }, 'csi.cert-manager.io/uri-sans', /is not ASCII/],
    ['an empty list item', { ...base, 'csi.cert-manager.io/dns-names': 'a.example,,b.example' }, 'csi.cert-manager.io/dns-names', /empty item/],
    ['a literal subject with a CN', { ...base, 'csi.cert-manager.io/literal-subject': 'CN=a,O=b', 'csi.cert-manager.io/common-name': 'x' }, 'csi.cert-manager.io/common-name', /cannot be combined with csi\.cert-manager\.io\/literal-subject/],
    ['a bad fs-group', { ...base, 'csi.cert-manager.io/common-name': 'x', 'csi.cert-manager.io/fs-group': '-1' }, 'csi.cert-manager.io/fs-group', /not a group id/],
    ['an unknown credmount kind', { ...base, 'csi.cert-manager.io/common-name': 'x', 'csi.cert-manager.io/issuer-group': 'credmount.dev' }, 'csi.cert-manager.io/issuer-kind', /DevCA and VaultPKI, not "Issuer"/],
    ['Vault settings for a cert-manager issuer', { ...base, 'csi.cert-manager.io/common-name': 'x', 'credmount.dev/vault-role': 'r' }, 'credmount.dev/vault-role', /applies only to issuer-kind VaultPKI/],
    [
      'a Vault address the operator did not allow',
      { ...base, 'csi.cert-manager.io/common-name': 'x', 'csi.cert-manager.io/issuer-group': 'credmount.dev', 'csi.cert-manager.io/issuer-kind': 'VaultPKI', 'credmount.dev/vault-address': 'https://evil.example' },
      'credmount.dev/vault-address',
      /not the driver's --vault-address/,
    ],
  ];
  for (const [name, attrs, attribute, reason] of refusals) {
    test(`refuses ${name}, naming ${attribute}`, () => {
      assert.throws(() => parse(attrs), invalid(attribute, reason));
    });
  }
});

describe('Go durations', () => {
  test('as time.ParseDuration reads them', () => {
    assert.deepEqual(parseGoDuration('2160h'), { ms: 2160 * 3_600_000 });
    assert.deepEqual(parseGoDuration('1h30m'), { ms: 5_400_000 });
    assert.deepEqual(parseGoDuration('1.5h'), { ms: 5_400_000 });
    assert.deepEqual(parseGoDuration('90s'), { ms: 90_000 });
    assert.deepEqual(parseGoDuration('1500ms'), { ms: 1_500 });
    assert.deepEqual(parseGoDuration('0'), { ms: 0 });
    assert.ok('reason' in parseGoDuration('1d'));
    assert.ok('reason' in parseGoDuration(''));
    assert.ok('reason' in parseGoDuration('5'));
  });
  test("and Duration.String() writes them (CertificateRequest's spec.duration)", () => {
    assert.equal(formatGoDuration(2160 * 3_600_000), '2160h0m0s');
    assert.equal(formatGoDuration(120_000), '2m0s');
    assert.equal(formatGoDuration(45_000), '45s');
  });
});

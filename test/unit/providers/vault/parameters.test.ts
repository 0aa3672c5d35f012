import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';
import { CredmountError } from '../../../../src/errors/credmount-error.js';
import { parseVaultParameters, splitSecretPath, type VaultDefaults } from '../../../../src/providers/vault/vault-parameters.js';

const fixtures = resolve(fileURLToPath(import.meta.url), '../../../../../../test/fixtures/vault');
const DEFAULTS: VaultDefaults = { address: 'https://vault.example:8200', authMountPath: 'kubernetes', audience: 'vault', caCertPath: undefined };
/** An operator who lets volumes name any address and TLS file: what the upstream samples assume. */
const OPEN: VaultDefaults = { ...DEFAULTS, allowedAddresses: ['*'], tlsDirectories: ['/'], allowSkipTlsVerify: true };

interface Spc {
  metadata: { name: string };
  spec: { provider: string; parameters: Record<string, string> };
}

function samples(): Spc[] {
  return parseAllDocuments(readFileSync(resolve(fixtures, 'sample-secretproviderclasses.yaml'), 'utf8')).map((d) => d.toJS() as Spc);
}

function refusal(parameters: Record<string, string>, defaults: VaultDefaults = DEFAULTS): CredmountError {
  try {
    parseVaultParameters(parameters, defaults);
  } catch (error) {
    assert.ok(error instanceof CredmountError);
    return error;
  }
  assert.fail('expected a refusal');
}

describe('vault parameters', () => {
  test('every SecretProviderClass from the upstream docs and tests parses', () => {
    const all = samples();
    assert.ok(all.length >= 20, `${all.length} samples`);
    for (const spc of all) {
      assert.equal(spc.spec.provider, 'vault');
      const parsed = parseVaultParameters(spc.spec.parameters, OPEN);
      assert.ok(parsed.objects.length > 0, spc.metadata.name);
      assert.equal(parsed.roleName, spc.spec.parameters['roleName']);
    }
  });

  test('the tutorial example: address, role, KV v2 path, key', () => {
    const spc = samples().find((s) => s.metadata.name === 'vault-database') as Spc;
    const parsed = parseVaultParameters(spc.spec.parameters, OPEN);
    assert.equal(parsed.address, 'http://vault.default:8200');
    assert.equal(parsed.authMountPath, 'kubernetes');
    assert.equal(parsed.audience, 'vault');
    assert.deepEqual(
      parsed.objects.map((o) => [o.objectName, o.path, o.secretKey, o.method, o.encoding]),
      [['db-password', 'secret/data/db-pass', 'password', 'GET', 'utf-8']],
    );
  });

  test('filePermission reads like Go yaml.v3: 0624 is octal, 420 decimal; quoted is refused', () => {
    const spc = samples().find((s) => (s.spec.parameters['objects'] ?? '').includes('0624')) as Spc;
    const parsed = parseVaultParameters(spc.spec.parameters, DEFAULTS);
    assert.ok(parsed.objects.some((o) => o.filePermission === 0o624));
    const base = { roleName: 'r' };
    assert.equal(parseVaultParameters({ ...base, objects: '- {objectName: a, secretPath: s/a, filePermission: 420}' }, DEFAULTS).objects[0]?.filePermission, 0o644);
    assert.equal(parseVaultParameters({ ...base, objects: '- {objectName: a, secretPath: s/a, filePermission: 0o600}' }, DEFAULTS).objects[0]?.filePermission, 0o600);
    assert.equal(parseVaultParameters({ ...base, objects: '- {objectName: a, secretPath: s/a, filePermission: 0}' }, DEFAULTS).objects[0]?.filePermission, undefined);
    assert.match(refusal({ ...base, objects: '- {objectName: a, secretPath: s/a, filePermission: "0600"}' }).message, /objects\[0\]\.filePermission/);
    assert.match(refusal({ ...base, objects: '- {objectName: a, secretPath: s/a, filePermission: 0800}' }).message, /filePermission/);
  });

  test('auth mount: default, either name, never both; JWT sample', () => {
    const jwt = samples().find((s) => s.spec.parameters['vaultAuthMountPath'] === 'jwt') as Spc;
    assert.equal(parseVaultParameters(jwt.spec.parameters, DEFAULTS).authMountPath, 'jwt');
    const base = { roleName: 'r', objects: '- {objectName: a, secretPath: s/a}' };
    assert.equal(parseVaultParameters({ ...base, vaultKubernetesMountPath: 'k8s-east' }, DEFAULTS).authMountPath, 'k8s-east');
    assert.equal(refusal({ ...base, vaultKubernetesMountPath: 'a', vaultAuthMountPath: '' }).field, 'volume_context.vaultAuthMountPath');
  });

  test('secretPath: /v1 prefix optional, cleaned, query keys sorted', () => {
    assert.deepEqual(splitSecretPath('/v1/secret/data/db?version=2', 'f'), { path: 'secret/data/db', query: 'version=2' });
    assert.deepEqual(splitSecretPath('pki/issue/example-dot-com?b=2&a=1', 'f'), { path: 'pki/issue/example-dot-com', query: 'a=1&b=2' });
    assert.deepEqual(splitSecretPath('secret//data/./db/', 'f'), { path: 'secret/data/db', query: '' });
    assert.throws(() => splitSecretPath('secret/../sys/raw', 'f'), /must not contain/);
  });

  test('PUT with secretArgs (PKI issue sample) keeps the body', () => {
    const spc = samples().find((s) => (s.spec.parameters['objects'] ?? '').includes('method: "PUT"')) as Spc;
    const object = parseVaultParameters(spc.spec.parameters, OPEN).objects.find((o) => o.method === 'PUT');
    assert.ok(object?.secretArgs !== undefined && typeof object.secretArgs['common_name'] === 'string');
  });

  const WITH_TLS_DIR: VaultDefaults = { ...DEFAULTS, tlsDirectories: ['/etc/credmount/vault-tls'] };
  const refusals: [string, Record<string, string>, RegExp][] = [
    ['missing roleName', { objects: '- {objectName: a, secretPath: s/a}' }, /roleName: is required/],
    ['missing objects', { roleName: 'r' }, /objects: is required/],
    ['objects not YAML', { roleName: 'r', objects: '- objectName: [' }, /objects: is not valid YAML/],
    ['objects not a list', { roleName: 'r', objects: 'objectName: a' }, /objects: must be a YAML list/],
    ['duplicate objectName', { roleName: 'r', objects: '- {objectName: a, secretPath: s/a}\n- {objectName: a, secretPath: s/b}' }, /objects\[1\]\.objectName: "a" is listed twice/],
    ['objectName escapes', { roleName: 'r', objects: '- {objectName: ../a, secretPath: s/a}' }, /objects\[0\]\.objectName/],
    ['absolute objectName', { roleName: 'r', objects: '- {objectName: /etc/a, secretPath: s/a}' }, /objects\[0\]\.objectName/],
    ['no secretPath', { roleName: 'r', objects: '- {objectName: a}' }, /objects\[0\]\.secretPath: is required/],
    ['bad method', { roleName: 'r', objects: '- {objectName: a, secretPath: s/a, method: DELETE}' }, /objects\[0\]\.method/],
    ['bad encoding', { roleName: 'r', objects: '- {objectName: a, secretPath: s/a, encoding: utf8}' }, /objects\[0\]\.encoding/],
    ['unknown object field', { roleName: 'r', objects: '- {objectName: a, secretPath: s/a, secretkey: b}' }, /objects\[0\]\.secretkey: unknown field/],
    ['unknown parameter (typo)', { roleName: 'r', objects: '- {objectName: a, secretPath: s/a}', vaultAdress: 'x' }, /vaultAdress: unknown parameter/],
    ['bad skip-verify', { roleName: 'r', objects: '- {objectName: a, secretPath: s/a}', vaultSkipTLSVerify: 'yes' }, /vaultSkipTLSVerify/],
    ['bad address', { roleName: 'r', objects: '- {objectName: a, secretPath: s/a}', vaultAddress: 'vault:8200' }, /vaultAddress: must be an http\(s\) URL/],
    ['client cert without key', { roleName: 'r', objects: '- {objectName: a, secretPath: s/a}', vaultTLSClientCertPath: '/etc/credmount/vault-tls/c.pem' }, /vaultTLSClientKeyPath/],
    ['secretArgs not a map', { roleName: 'r', objects: '- {objectName: a, secretPath: s/a, secretArgs: [1]}' }, /objects\[0\]\.secretArgs/],
    ['an address the operator did not allow', { roleName: 'r', objects: '- {objectName: a, secretPath: s/a}', vaultAddress: 'http://169.254.169.254' }, /vaultAddress: http:\/\/169\.254\.169\.254 is not an address this driver may call/],
    ['an address with a query', { roleName: 'r', objects: '- {objectName: a, secretPath: s/a}', vaultAddress: 'https://vault.example:8200/x?' }, /vaultAddress: must not carry credentials, a query or a fragment/],
    ['an address with credentials', { roleName: 'r', objects: '- {objectName: a, secretPath: s/a}', vaultAddress: 'https://u:p@vault.example:8200' }, /vaultAddress: must not carry credentials/],
    ['a mount path with a query', { roleName: 'r', objects: '- {objectName: a, secretPath: s/a}', vaultAuthMountPath: 'kubernetes?x=' }, /vaultAuthMountPath/],
    ['percent-encoded dots in secretPath', { roleName: 'r', objects: '- {objectName: a, secretPath: "%2e%2e/%2e%2e/other/x"}' }, /objects\[0\]\.secretPath: must not contain "\.\."/],
    ['a fragment in secretPath', { roleName: 'r', objects: '- {objectName: a, secretPath: "s/a#?version=1"}' }, /objects\[0\]\.secretPath: must not contain "#"/],
    ['a prototype key as a boolean', { roleName: 'r', objects: '- {objectName: a, secretPath: s/a}', vaultSkipTLSVerify: 'constructor' }, /vaultSkipTLSVerify: must be true or false/],
    ['skip-verify when the operator does not allow it', { roleName: 'r', objects: '- {objectName: a, secretPath: s/a}', vaultSkipTLSVerify: 'true' }, /does not let volumes turn off TLS verification/],
    ['a TLS file outside the allowed directories', { roleName: 'r', objects: '- {objectName: a, secretPath: s/a}', vaultCACertPath: '/dev/zero' }, /vaultCACertPath: must be inside a directory the driver allows/],
    ['a relative TLS path', { roleName: 'r', objects: '- {objectName: a, secretPath: s/a}', vaultTLSClientKeyPath: 'key.pem', vaultTLSClientCertPath: '/etc/credmount/vault-tls/c.pem' }, /must be an absolute, normalised path/],
  ];
  for (const [name, parameters, message] of refusals) {
    test(`refuses ${name} with INVALID_ARGUMENT naming the field`, () => {
      const error = refusal(parameters, WITH_TLS_DIR);
      assert.equal(error.status, 'INVALID_ARGUMENT');
      assert.equal(error.code, 'CM_PARAMETER_INVALID');
      assert.match(error.message, message);
    });
  }

  test('operator allow-lists: listed origins, "*", TLS directories, skip-verify', () => {
    const base = { roleName: 'r', objects: '- {objectName: a, secretPath: s/a}' };
    const open = { ...DEFAULTS, allowedAddresses: ['https://vault-2.example'], tlsDirectories: ['/etc/credmount/vault-tls'], allowSkipTlsVerify: true };
    assert.equal(parseVaultParameters({ ...base, vaultAddress: 'https://vault-2.example' }, open).address, 'https://vault-2.example');
    assert.equal(parseVaultParameters({ ...base, vaultAddress: 'http://anything:1' }, { ...DEFAULTS, allowedAddresses: ['*'] }).address, 'http://anything:1');
    assert.equal(parseVaultParameters({ ...base, vaultCACertPath: '/etc/credmount/vault-tls/ca.pem' }, open).tls.caCertPath, '/etc/credmount/vault-tls/ca.pem');
    assert.equal(parseVaultParameters({ ...base, vaultSkipTLSVerify: 'True' }, open).tls.skipVerify, true);
    assert.throws(() => parseVaultParameters({ ...base, vaultCACertPath: '/etc/credmount/vault-tls-evil/ca.pem' }, open), /must be inside/);
  });

  test('audience "" means the default, as upstream', () => {
    assert.equal(parseVaultParameters({ roleName: 'r', objects: '- {objectName: a, secretPath: s/a}', audience: '' }, DEFAULTS).audience, 'vault');
  });

  test('no address anywhere is a clear error', () => {
    const error = (() => {
      try {
        parseVaultParameters({ roleName: 'r', objects: '- {objectName: a, secretPath: s/a}' }, { ...DEFAULTS, address: '' });
      } catch (e) {
        return e as CredmountError;
      }
      return undefined;
    })();
    assert.match(error?.message ?? '', /vaultAddress: is not set and the driver has no --vault-address default/);
  });
});

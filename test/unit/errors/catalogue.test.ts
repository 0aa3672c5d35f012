import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Errors } from '../../../src/errors/catalogue.js';
import { CredmountError } from '../../../src/errors/credmount-error.js';

/** Sample arguments for every factory, so the walk below constructs each error for real. */
const SAMPLE_ARGS: Record<string, unknown[]> = {
  fieldMissing: ['volume_id'],
  fieldInvalid: ['target_path', 'must be absolute'],
  tokensMissing: [],
  tokensMalformed: ['secrets', 'not JSON'],
  tokenMalformed: ['vault', 'not a JWT'],
  tokenExpired: ['vault', '2026-01-01T00:00:00Z'],
  tokenIdentityMismatch: ['vault', 'kubernetes.io.namespace', 'a', 'b'],
  tokenAudienceMissing: ['vault', ['']],
  unknownProvider: ['nope', ['embedded']],
  parameterInvalid: ['objects', 'bad YAML'],
  filePathInvalid: ['../x', 'contains ..'],
  contentTooLarge: [10, 5],
  volumeConflict: ['csi-1', 'readonly differs'],
  volumeNotFound: ['csi-1'],
  volumePathNotFound: ['/x'],
  contentExpired: ['csi-1', 'down'],
  accessDenied: ['secret a', 'policy'],
  notFound: ['secret a'],
  backendUnavailable: ['vault', '503'],
  tokenRejected: ['vault', 'bad signature'],
  backendRejected: ['login as role "x"', 'invalid role name'],
  providerConfigInvalid: ['embedded', 'jwksUrl', 'not a URL'],
  classAttributeConflict: ['roleName', 'vault-db'],
  classNotFound: ['demo', 'vault-db'],
  classForbidden: ['demo', 'vault-db', 'forbidden'],
  classInvalid: ['demo', 'vault-db', 'spec.provider', 'must be a string'],
  classUnknownProvider: ['demo', 'vault-db', 'azure', ['vault']],
  kubeApiUnavailable: ['reading SecretProviderClass demo/x', 'connection refused'],
  kubeApiUnauthenticated: ['reading SecretProviderClass demo/x'],
  kubeConfigInvalid: ['KUBERNETES_SERVICE_HOST is not set'],
  mountFailed: ['/x', 'EPERM'],
  internal: ['bug'],
  checksumMismatch: ['Secret Manager: projects/p/secrets/s/versions/1', 'CRC32C'],
  secretContentInvalid: ['secrets[0].extractJSONKey', 'projects/p/secrets/s/versions/1', 'the secret is not valid JSON'],
};

test('every catalogue entry has a unique CM_ code, a status and a message', () => {
  const codes = new Set<string>();
  for (const [name, factory] of Object.entries(Errors)) {
    const args = SAMPLE_ARGS[name];
    assert.ok(args !== undefined, `add sample arguments for Errors.${name}`);
    const error = (factory as (...a: unknown[]) => CredmountError)(...args);
    assert.ok(error instanceof CredmountError);
    assert.match(error.code, /^CM_[A-Z_]+$/);
    assert.equal(error.code, factory.code);
    assert.equal(error.status, factory.status);
    assert.ok(error.message.length > 10, `${name} has a message`);
    assert.ok(!codes.has(error.code), `${error.code} is used twice`);
    codes.add(error.code);
  }
});

test('INVALID_ARGUMENT errors name the field they are about', () => {
  for (const [name, factory] of Object.entries(Errors)) {
    if (factory.status !== 'INVALID_ARGUMENT') continue;
    const error = (factory as (...a: unknown[]) => CredmountError)(...(SAMPLE_ARGS[name] ?? []));
    assert.ok(error.field !== undefined && error.field !== '', `${name} names its field`);
  }
});

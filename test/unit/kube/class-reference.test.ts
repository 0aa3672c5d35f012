import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parseConfigForTest } from './support.js';
import { isCredmountError } from '../../../src/errors/credmount-error.js';
import { parseClassReference } from '../../../src/kubelet/class-reference.js';
import { parseSecretProviderClass } from '../../../src/kube/secret-provider-class.js';
import { createLogger } from '../../../src/observability/logger.js';

const POD_INFO = {
  'csi.storage.k8s.io/pod.name': 'app',
  'csi.storage.k8s.io/pod.namespace': 'demo',
  'csi.storage.k8s.io/pod.uid': '3f49886c-590a-4ca7-b9d4-136cb6e4828e',
  'csi.storage.k8s.io/serviceAccount.name': 'app',
  'csi.storage.k8s.io/ephemeral': 'true',
};

function invalid(code: string, field: string, message: RegExp) {
  return (error: unknown) => {
    assert.ok(isCredmountError(error));
    assert.equal(error.code, code);
    assert.equal(error.status, 'INVALID_ARGUMENT');
    assert.equal(error.field, field);
    assert.match(error.message, message);
    return true;
  };
}

describe('parseClassReference (kubelet/)', () => {
  test('no attribute: an inline volume', () => {
    assert.equal(parseClassReference({ ...POD_INFO, provider: 'vault', roleName: 'app' }), undefined);
  });

  test("the class name, beside kubelet's own keys", () => {
    assert.equal(parseClassReference({ ...POD_INFO, secretProviderClass: 'vault-db' }), 'vault-db');
  });

  test('any other attribute beside the reference is refused naming it (provider included)', () => {
    assert.throws(() => parseClassReference({ ...POD_INFO, secretProviderClass: 'vault-db', provider: 'vault' }), invalid('CM_CLASS_ATTRIBUTE_CONFLICT', 'volume_context.provider', /provider: cannot be combined with secretProviderClass "vault-db"/));
    assert.throws(() => parseClassReference({ secretProviderClass: 'vault-db', vaultAddress: 'https://evil.example' }), invalid('CM_CLASS_ATTRIBUTE_CONFLICT', 'volume_context.vaultAddress', /spec\.parameters/));
  });

  test('an empty or malformed name is refused', () => {
    assert.throws(() => parseClassReference({ secretProviderClass: ' ' }), invalid('CM_FIELD_INVALID', 'volume_context.secretProviderClass', /must name a SecretProviderClass/));
    assert.throws(() => parseClassReference({ secretProviderClass: '../x' }), invalid('CM_FIELD_INVALID', 'volume_context.secretProviderClass', /not a valid object name/));
  });
});

describe('parseSecretProviderClass (kube/)', () => {
  test('a "__proto__" parameter stays a plain key', () => {
    const parsed = parseSecretProviderClass('demo', 'x', JSON.parse('{"spec":{"provider":"vault","parameters":{"__proto__":"p","roleName":"r"}}}'));
    assert.deepEqual(Object.keys(parsed.parameters).sort(), ['__proto__', 'roleName']);
    assert.equal(Object.getPrototypeOf(parsed.parameters), Object.prototype);
  });

  test('no parameters is an empty map; secretObjects is noticed', () => {
    const parsed = parseSecretProviderClass('demo', 'x', { metadata: { resourceVersion: '7' }, spec: { provider: 'vault', secretObjects: [{}] } });
    assert.deepEqual({ ...parsed.parameters }, {});
    assert.equal(parsed.resourceVersion, '7');
    assert.equal(parsed.hasSecretObjects, true);
  });
});

describe('driver flags for the Kubernetes API', () => {
  test('defaults and overrides', () => {
    assert.deepEqual({ ...parseConfigForTest([]).kube }, { kubeconfig: '', requestTimeoutMs: 10_000, classCacheTtlMs: 10_000, events: false });
    assert.deepEqual({ ...parseConfigForTest(['--kubeconfig=/etc/kube', '--kube-api-timeout=3s', '--spc-cache-ttl=1m', '--kube-events=true']).kube }, {
      kubeconfig: '/etc/kube',
      requestTimeoutMs: 3_000,
      classCacheTtlMs: 60_000,
      events: true,
    });
    assert.throws(() => parseConfigForTest(['--kube-events=yes']), /--kube-events must be true or false/);
    assert.throws(() => parseConfigForTest(['--spc-cache-ttl=0s']), /--spc-cache-ttl must be positive/);
  });
});

describe('redaction of credential-like keys', () => {
  test('bearerToken, Authorization, client_token and accessToken are censored', () => {
    const chunks: string[] = [];
    const logger = createLogger({ destination: { write: (chunk: string) => void chunks.push(chunk) } });
    logger.info({ bearerToken: 'A-CANARY', request: { Authorization: 'Bearer B-CANARY', accessToken: 'C-CANARY' }, auth: { client_token: 'D-CANARY' } }, 'x');
    assert.doesNotMatch(chunks.join(''), /CANARY/);
  });
});

import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, beforeEach, describe, test } from 'node:test';
import { isCredmountError } from '../../../src/errors/credmount-error.js';
import { ClassCache } from '../../../src/kube/class-cache.js';
import { KubeApi } from '../../../src/kube/kube-api.js';
import { DriverMetrics } from '../../../src/observability/metrics.js';
import { ManualClock } from '../../../src/volumes/clock.js';
import { KubeTestServer } from '../../support/kube-spc-server/index.js';

function rejectsWith(code: string, status: string, message?: RegExp) {
  return (error: unknown) => {
    assert.ok(isCredmountError(error), `a coded error, got ${String(error)}`);
    assert.equal(error.code, code);
    assert.equal(error.status, status);
    if (message !== undefined) assert.match(error.message, message);
    return true;
  };
}

describe('ClassCache over the Kubernetes API (real @kubernetes/client-node, local API server)', () => {
  let kube: KubeTestServer;
  let dir: string;
  let clock: ManualClock;
  let metrics: DriverMetrics;
  let cache: ClassCache;
  before(async () => {
    kube = await KubeTestServer.start();
    dir = await mkdtemp(join(tmpdir(), 'credmount-kube-'));
    await kube.writeKubeconfig(join(dir, 'kubeconfig'));
  });
  after(async () => {
    await kube.stop();
    await rm(dir, { recursive: true, force: true });
  });
  beforeEach(() => {
    clock = new ManualClock();
    metrics = new DriverMetrics();
    const api = new KubeApi({ kubeconfig: join(dir, 'kubeconfig'), requestTimeoutMs: 5_000, reporter: metrics.kubeApiReporter() });
    cache = new ClassCache({ api, ttlMs: 10_000, now: () => clock.now(), metrics });
    kube.resetObservations();
  });

  test('reads provider and parameters with the driver\'s bearer token; kubelet keys in parameters are dropped', async () => {
    kube.putSecretProviderClass('demo', 'vault-db', {
      provider: 'vault',
      parameters: { roleName: 'app', objects: '- objectName: a\n', 'csi.storage.k8s.io/pod.name': 'forged' },
      secretObjects: [{ secretName: 's', type: 'Opaque', data: [] }],
    });
    const resolved = await cache.get('demo', 'vault-db');
    assert.equal(resolved.provider, 'vault');
    assert.deepEqual({ ...resolved.parameters }, { roleName: 'app', objects: '- objectName: a\n' });
    assert.equal(resolved.hasSecretObjects, true);
    assert.match(resolved.resourceVersion, /^\d+$/);
    assert.deepEqual(kube.requests.map((r) => `${r.verb} ${r.path} ${r.status}`), ['get /apis/secrets-store.csi.x-k8s.io/v1/namespaces/demo/secretproviderclasses/vault-db 200']);
    assert.match(await metrics.registry.metrics(), /credmount_kube_api_requests_total\{operation="get secretproviderclass",result="ok"\} 1/);
  });

  test('answers within the TTL come from the cache; concurrent lookups share one GET; an edit is seen after the TTL', async () => {
    kube.putSecretProviderClass('demo', 'ttl', { provider: 'vault', parameters: { roleName: 'one' } });
    const all = await Promise.all([cache.get('demo', 'ttl'), cache.get('demo', 'ttl'), cache.get('demo', 'ttl')]);
    assert.ok(all.every((c) => c.parameters['roleName'] === 'one'));
    assert.equal(kube.count({ verb: 'get' }), 1);
    kube.putSecretProviderClass('demo', 'ttl', { provider: 'vault', parameters: { roleName: 'two' } });
    clock.advance(9_000);
    assert.equal((await cache.get('demo', 'ttl')).parameters['roleName'], 'one', 'within the TTL');
    assert.equal(kube.count({ verb: 'get' }), 1);
    clock.advance(1_000);
    assert.equal((await cache.get('demo', 'ttl')).parameters['roleName'], 'two', 'after the TTL');
    assert.equal(kube.count({ verb: 'get' }), 2);
    assert.match(await metrics.registry.metrics(), /credmount_secret_provider_class_lookups_total\{result="cached"\} 3/);
  });

  test("a cached class is never served to another namespace: same name, two namespaces, two GETs; a class only in one is missing in the other", async () => {
    kube.putSecretProviderClass('team-a', 'shared-name', { provider: 'vault', parameters: { roleName: 'a' } });
    kube.putSecretProviderClass('team-b', 'shared-name', { provider: 'vault', parameters: { roleName: 'b' } });
    kube.putSecretProviderClass('team-a', 'only-a', { provider: 'vault', parameters: { roleName: 'a-only' } });
    assert.equal((await cache.get('team-a', 'shared-name')).parameters['roleName'], 'a');
    const b = await cache.get('team-b', 'shared-name');
    assert.equal(b.parameters['roleName'], 'b');
    assert.equal(b.namespace, 'team-b');
    assert.equal((await cache.get('team-a', 'only-a')).parameters['roleName'], 'a-only');
    await assert.rejects(cache.get('team-b', 'only-a'), rejectsWith('CM_CLASS_NOT_FOUND', 'FAILED_PRECONDITION', /team-b\/only-a/));
    assert.deepEqual(
      kube.requests.map((r) => `${r.verb} ${r.path}`),
      ['team-a/secretproviderclasses/shared-name', 'team-b/secretproviderclasses/shared-name', 'team-a/secretproviderclasses/only-a', 'team-b/secretproviderclasses/only-a'].map((p) => `get /apis/secrets-store.csi.x-k8s.io/v1/namespaces/${p}`),
    );
  });

  test('a missing class is FAILED_PRECONDITION naming namespace and name, and is cached for the TTL', async () => {
    await assert.rejects(cache.get('demo', 'absent'), rejectsWith('CM_CLASS_NOT_FOUND', 'FAILED_PRECONDITION', /SecretProviderClass demo\/absent does not exist/));
    await assert.rejects(cache.get('demo', 'absent'), rejectsWith('CM_CLASS_NOT_FOUND', 'FAILED_PRECONDITION'));
    assert.equal(kube.count({ verb: 'get' }), 1);
    kube.putSecretProviderClass('demo', 'absent', { provider: 'vault', parameters: {} });
    clock.advance(10_000);
    assert.equal((await cache.get('demo', 'absent')).provider, 'vault', 'created later: found after the TTL');
  });

  test('RBAC forbidden is PERMISSION_DENIED naming the rule the driver needs, and is not cached', async () => {
    kube.putSecretProviderClass('demo', 'locked', { provider: 'vault', parameters: {} });
    kube.deny('get', 'secretproviderclasses');
    try {
      await assert.rejects(
        cache.get('demo', 'locked'),
        rejectsWith('CM_CLASS_FORBIDDEN', 'PERMISSION_DENIED', /needs RBAC "get" on "secretproviderclasses" in API group "secrets-store\.csi\.x-k8s\.io".*cannot get resource/),
      );
    } finally {
      kube.allow('get', 'secretproviderclasses');
    }
    assert.equal((await cache.get('demo', 'locked')).provider, 'vault', 'granted: the next lookup asks again');
  });

  test('a malformed class is INVALID_ARGUMENT naming the field', async () => {
    kube.putSecretProviderClass('demo', 'bad-params', { provider: 'vault', parameters: { objects: ['not', 'a', 'string'] } });
    await assert.rejects(cache.get('demo', 'bad-params'), rejectsWith('CM_CLASS_INVALID', 'INVALID_ARGUMENT', /SecretProviderClass demo\/bad-params: spec\.parameters\.objects: must be a string/));
    kube.putSecretProviderClass('demo', 'no-provider', { parameters: {} });
    await assert.rejects(cache.get('demo', 'no-provider'), rejectsWith('CM_CLASS_INVALID', 'INVALID_ARGUMENT', /spec\.provider: must name a provider/));
  });

  test('an API server that answers 503 or cannot be reached is UNAVAILABLE, and is asked again next time', async () => {
    kube.putSecretProviderClass('demo', 'flaky', { provider: 'vault', parameters: {} });
    kube.failNext(1);
    await assert.rejects(cache.get('demo', 'flaky'), rejectsWith('CM_KUBE_API_UNAVAILABLE', 'UNAVAILABLE', /HTTP 503/));
    assert.equal((await cache.get('demo', 'flaky')).provider, 'vault');

    const gone = await KubeTestServer.start();
    await gone.writeKubeconfig(join(dir, 'gone'));
    await gone.stop();
    const unreachable = new ClassCache({ api: new KubeApi({ kubeconfig: join(dir, 'gone'), requestTimeoutMs: 5_000 }), ttlMs: 10_000, now: () => clock.now() });
    await assert.rejects(unreachable.get('demo', 'flaky'), rejectsWith('CM_KUBE_API_UNAVAILABLE', 'UNAVAILABLE', /network error/));
  });

  test("a token the API server does not accept is FAILED_PRECONDITION about the driver's credentials; the token is never in the message", async () => {
    await kube.writeKubeconfig(join(dir, 'wrong'), 'not-the-driver-token-CANARY');
    const wrong = new ClassCache({ api: new KubeApi({ kubeconfig: join(dir, 'wrong'), requestTimeoutMs: 5_000 }), ttlMs: 10_000, now: () => clock.now() });
    await assert.rejects(wrong.get('demo', 'vault-db'), (error: unknown) => {
      rejectsWith('CM_KUBE_API_UNAUTHENTICATED', 'FAILED_PRECONDITION', /refused the driver's credentials/)(error);
      assert.ok(!(error as Error).message.includes('CANARY'));
      return true;
    });
  });

  test("in-cluster: the service address from the environment, the pod's token and CA files", async () => {
    const saved = { host: process.env['KUBERNETES_SERVICE_HOST'], port: process.env['KUBERNETES_SERVICE_PORT'] };
    const root = join(dir, 'pod-root');
    await kube.writeServiceAccountFiles(root);
    process.env['KUBERNETES_SERVICE_HOST'] = '127.0.0.1';
    process.env['KUBERNETES_SERVICE_PORT'] = String(kube.port);
    try {
      kube.putSecretProviderClass('demo', 'in-cluster', { provider: 'vault', parameters: { roleName: 'ic' } });
      const inCluster = new ClassCache({ api: new KubeApi({ kubeconfig: '', requestTimeoutMs: 5_000, inClusterRoot: root }), ttlMs: 10_000, now: () => clock.now() });
      assert.equal((await inCluster.get('demo', 'in-cluster')).parameters['roleName'], 'ic');
    } finally {
      for (const [key, value] of [['KUBERNETES_SERVICE_HOST', saved.host], ['KUBERNETES_SERVICE_PORT', saved.port]] as const) {
        if (value === undefined) delete process.env[key];
        else process.env[key] = value;
      }
    }
  });

  test('in-cluster configuration outside a pod is a clear configuration error', async () => {
    const saved = process.env['KUBERNETES_SERVICE_HOST'];
    delete process.env['KUBERNETES_SERVICE_HOST'];
    try {
      const inCluster = new KubeApi({ kubeconfig: '', requestTimeoutMs: 1_000 });
      await assert.rejects(inCluster.getSecretProviderClass('demo', 'x'), rejectsWith('CM_KUBE_CONFIG_INVALID', 'FAILED_PRECONDITION', /KUBERNETES_SERVICE_HOST.*--kubeconfig/));
    } finally {
      if (saved !== undefined) process.env['KUBERNETES_SERVICE_HOST'] = saved;
    }
  });
});

describe('KubeApi configuration errors', () => {
  test('a malformed kubeconfig holding a token: the error does not quote the file', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'credmount-kubeconfig-'));
    try {
      const { writeFile } = await import('node:fs/promises');
      await writeFile(join(dir, 'broken'), 'users:\n- name: x\n  user:\n    token: TOKEN-CANARY-123\n  : [unbalanced\n');
      const api = new KubeApi({ kubeconfig: join(dir, 'broken'), requestTimeoutMs: 1_000 });
      await assert.rejects(api.getSecretProviderClass('demo', 'x'), (error: unknown) => {
        rejectsWith('CM_KUBE_CONFIG_INVALID', 'FAILED_PRECONDITION', /--kubeconfig .*broken: cannot be read or parsed/)(error);
        assert.ok(!(error as Error).message.includes('TOKEN-CANARY'));
        return true;
      });
      const missing = new KubeApi({ kubeconfig: join(dir, 'absent'), requestTimeoutMs: 1_000 });
      await assert.rejects(missing.getSecretProviderClass('demo', 'x'), rejectsWith('CM_KUBE_CONFIG_INVALID', 'FAILED_PRECONDITION', /absent: does not exist/));
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, beforeEach, describe, test } from 'node:test';
import { KubeApi } from '../../../src/kube/kube-api.js';
import { PodEventRecorder, type PodEventRecorderOptions } from '../../../src/kube/pod-event-recorder.js';
import { createLogger } from '../../../src/observability/logger.js';
import { DriverMetrics } from '../../../src/observability/metrics.js';
import type { PodWarning } from '../../../src/observability/pod-events.js';
import { ManualClock } from '../../../src/volumes/clock.js';
import { KubeTestServer, type EventObject } from '../../support/kube-spc-server/index.js';

const POD = { namespace: 'demo', name: 'app-1', uid: '3f49886c-590a-4ca7-b9d4-136cb6e4828e' };

function warning(overrides: Partial<PodWarning> = {}): PodWarning {
  return { pod: POD, reason: 'CredentialRefreshFailed', code: 'CM_BACKEND_UNAVAILABLE', message: 'Vault is unavailable: 503', ...overrides };
}

describe('PodEventRecorder against the local Kubernetes API (core v1 events)', () => {
  let kube: KubeTestServer;
  let dir: string;
  let clock: ManualClock;
  let metrics: DriverMetrics;
  let lines: Record<string, unknown>[];
  let api: KubeApi;
  const recorder = (options: Partial<PodEventRecorderOptions> = {}) =>
    new PodEventRecorder({
      api,
      component: 'csi.credmount.dev',
      host: 'node-1',
      now: () => clock.now(),
      logger: createLogger({ level: 'debug', destination: { write: (chunk: string) => void lines.push(JSON.parse(chunk) as Record<string, unknown>) } }),
      metrics,
      ...options,
    });
  before(async () => {
    kube = await KubeTestServer.start();
    dir = await mkdtemp(join(tmpdir(), 'credmount-events-'));
    await kube.writeKubeconfig(join(dir, 'kubeconfig'));
    api = new KubeApi({ kubeconfig: join(dir, 'kubeconfig'), requestTimeoutMs: 5_000 });
  });
  after(async () => {
    await kube.stop();
    await rm(dir, { recursive: true, force: true });
  });
  beforeEach(() => {
    clock = new ManualClock();
    metrics = new DriverMetrics();
    lines = [];
    kube.resetObservations();
  });

  test('the first warning creates a Warning event on the pod; repeats are aggregated into its count, patched at most every interval', async () => {
    const events = recorder({ updateIntervalMs: 5 * 60_000 });
    events.warn(warning());
    await events.settle();
    const created = kube.events('demo').filter((e) => e.involvedObject.uid === POD.uid);
    assert.equal(created.length, 1);
    const event = created[0] as EventObject;
    assert.deepEqual(event['involvedObject'], { apiVersion: 'v1', kind: 'Pod', namespace: 'demo', name: 'app-1', uid: POD.uid });
    assert.equal(event['reason'], 'CredentialRefreshFailed');
    assert.equal(event['type'], 'Warning');
    assert.equal(event['count'], 1);
    assert.equal(event['message'], 'CM_BACKEND_UNAVAILABLE: Vault is unavailable: 503');
    assert.deepEqual(event['source'], { component: 'csi.credmount.dev', host: 'node-1' });
    assert.equal(event['reportingInstance'], 'node-1');
    assert.match(event['firstTimestamp'], /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    assert.match(event.metadata.name, /^app-1\.[0-9a-f]{16}$/);

    // 1. Repeats inside the interval: counted, not sent.
    for (let i = 0; i < 3; i++) {
      clock.advance(60_000);
      events.warn(warning());
    }
    await events.settle();
    assert.equal(kube.count({ verb: 'create', resource: 'events' }), 1);
    assert.equal(kube.count({ verb: 'patch', resource: 'events' }), 0);
    // 2. After the interval: one JSON patch carrying every occurrence so far.
    clock.advance(2 * 60_000);
    events.warn(warning({ message: 'Vault is unavailable: 502' }));
    await events.settle();
    const patches = kube.requests.filter((r) => r.verb === 'patch');
    assert.equal(patches.length, 1);
    assert.equal(patches[0]?.status, 200);
    assert.equal(patches[0]?.contentType, 'application/json-patch+json');
    const updated = kube.events('demo').find((e) => e.metadata.name === event.metadata.name) as EventObject;
    assert.equal(updated['count'], 5);
    assert.equal(updated['message'], 'CM_BACKEND_UNAVAILABLE: Vault is unavailable: 502');
    assert.notEqual(updated['lastTimestamp'], event['lastTimestamp']);
    const text = await metrics.registry.metrics();
    assert.match(text, /credmount_pod_events_total\{reason="CredentialRefreshFailed",result="created"\} 1/);
    assert.match(text, /credmount_pod_events_total\{reason="CredentialRefreshFailed",result="updated"\} 1/);
  });

  test('a pod name of 253 characters still gives a valid event name', async () => {
    const events = recorder();
    const longName = `${'a'.repeat(120)}.${'b'.repeat(132)}`;
    events.warn(warning({ pod: { ...POD, name: longName, uid: '00000000-0000-4000-8000-000000000777' } }));
    await events.settle();
    const event = kube.events('demo').find((e) => e.involvedObject.uid === '00000000-0000-4000-8000-000000000777');
    assert.ok(event);
    assert.ok(event.metadata.name.length <= 253, `${event.metadata.name.length} characters`);
    assert.match(event.metadata.name, /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/);
    assert.equal(event.involvedObject.name, longName);
  });

  test('another error code is another event', async () => {
    const events = recorder();
    events.warn(warning({ pod: { ...POD, uid: '00000000-0000-4000-8000-000000000001' } }));
    events.warn(warning({ pod: { ...POD, uid: '00000000-0000-4000-8000-000000000001' }, code: 'CM_ACCESS_DENIED', message: 'denied' }));
    await events.settle();
    assert.equal(kube.count({ verb: 'create', resource: 'events' }), 2);
  });

  test('a node-wide budget caps the calls: a failing backend with many pods does not flood the API server', async () => {
    const events = recorder({ burst: 3, refillMs: 60_000 });
    for (let i = 0; i < 10; i++) events.warn(warning({ pod: { ...POD, name: `pod-${i}`, uid: `00000000-0000-4000-8000-0000000001${String(i).padStart(2, '0')}` } }));
    await events.settle();
    assert.equal(kube.count({ verb: 'create', resource: 'events' }), 3);
    assert.match(await metrics.registry.metrics(), /credmount_pod_events_total\{reason="CredentialRefreshFailed",result="suppressed"\} 7/);
    clock.advance(60_000);
    events.warn(warning({ pod: { ...POD, name: 'pod-later', uid: '00000000-0000-4000-8000-000000000200' } }));
    await events.settle();
    assert.equal(kube.count({ verb: 'create', resource: 'events' }), 4, 'the budget refills');
  });

  test('RBAC denied: logged once naming the rule, no calls while backing off, tried again later', async () => {
    kube.deny('create', 'events');
    const events = recorder({ deniedBackoffMs: 10 * 60_000 });
    try {
      for (let i = 0; i < 5; i++) {
        events.warn(warning({ pod: { ...POD, uid: `00000000-0000-4000-8000-0000000003${String(i).padStart(2, '0')}` } }));
        await events.settle();
        clock.advance(1_000);
      }
      assert.equal(kube.count({ verb: 'create', resource: 'events' }), 1, 'one refused call, then quiet');
      const warnings = lines.filter((l) => l['level'] === 'warn');
      assert.equal(warnings.length, 1);
      assert.match(String(warnings[0]?.['msg']), /needs "create" and "patch" on "events" in the core API group/);
    } finally {
      kube.allow('create', 'events');
    }
    clock.advance(10 * 60_000);
    events.warn(warning({ pod: { ...POD, uid: '00000000-0000-4000-8000-000000000399' } }));
    await events.settle();
    assert.equal(kube.requests.filter((r) => r.verb === 'create' && r.status === 201).length, 1, 'granted later: events flow again');
  });
});

import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { EventObject } from '../support/kube-spc-server/index.js';
import { SpcWorld } from '../support/kube-spc-server/spc-world.js';

const KV_REFRESH_MS = 5 * 60_000;
const OBJECTS = '- objectName: api-key\n  secretPath: secret/data/app/events\n  secretKey: key\n';
const SECRET = 'events-secret-value-CANARY';

/**
 * Kubernetes Events for failed refreshes (`--kube-events=true`), end to end: the refresh fails at
 * Vault, kubelet gets OK (the last good content stays), and the pod gets a Warning event through
 * the local Kubernetes API. Metrics and pod-identity logging of the same path are checked too.
 */
describe('Kubernetes Events on the pod for refresh failures', () => {
  let spc: SpcWorld;
  before(async () => {
    spc = await SpcWorld.start({ driverArgs: ['--kube-events', 'true'] });
    spc.world.vault.writeKv2('secret', 'app/events', { key: SECRET });
  });
  after(async () => {
    await spc.stop();
  });

  test('a failing backend: OK for kubelet, content kept, one Warning event on the pod aggregated over repeats', async () => {
    const pod = spc.world.pod(OBJECTS);
    const published = await spc.world.simulator.publish(pod);
    assert.equal(published.ok, true, published.message);
    assert.equal(spc.kube.count({ resource: 'events' }), 0, 'a healthy volume sends no event');

    await spc.world.vault.setFault({ kind: 'error', status: 503, message: 'maintenance' });
    try {
      // 1. The first failed refresh.
      spc.world.clock.advance(KV_REFRESH_MS + 1_000);
      const kept = await spc.world.simulator.publish(pod);
      assert.equal(kept.ok, true, kept.message);
      assert.equal(await readFile(join(published.targetPath, 'api-key'), 'utf8'), SECRET);
      await spc.world.driver.events?.settle();
      const events = spc.kube.events('demo');
      assert.equal(events.length, 1);
      const event = events[0] as EventObject;
      assert.deepEqual(event['involvedObject'], { apiVersion: 'v1', kind: 'Pod', namespace: 'demo', name: pod.name, uid: pod.uid });
      assert.equal(event['type'], 'Warning');
      assert.equal(event['reason'], 'CredentialRefreshFailed');
      assert.match(event['message'], /^CM_BACKEND_UNAVAILABLE: refreshing volume csi-[0-9a-f]+ failed; the last good content stays mounted: Vault at http:\/\/127\.0\.0\.1:\d+ is unavailable/);
      assert.equal(event['source'].component, 'csi.credmount.dev');
      assert.equal(event['source'].host, 'vault-node');

      // 2. More failures over the next minutes (each after its backoff): counted into the same event.
      for (let i = 0; i < 6; i++) {
        spc.world.clock.advance(60_000);
        assert.equal((await spc.world.simulator.publish(pod)).ok, true);
      }
      await spc.world.driver.events?.settle();
      assert.equal(spc.kube.count({ verb: 'create', resource: 'events' }), 1, 'one event per series');
      assert.ok(spc.kube.count({ verb: 'patch', resource: 'events' }) >= 1, 'its count was updated');
      const updated = spc.kube.events('demo')[0] as EventObject;
      assert.ok(updated['count'] > 1, `count grew (${updated['count']})`);
    } finally {
      await spc.world.vault.setFault(undefined);
    }

    // 3. Metrics of the same story.
    const metrics = await spc.world.driver.metrics.registry.metrics();
    assert.match(metrics, /credmount_refreshes_total\{provider="vault",result="CM_BACKEND_UNAVAILABLE"\} \d+/);
    assert.match(metrics, /credmount_backend_request_errors_total\{provider="vault",operation="(login|read)",result="503"\} \d+/);
    assert.match(metrics, /credmount_backoffs_total\{provider="vault"\} \d+/);
    assert.match(metrics, /credmount_pod_events_total\{reason="CredentialRefreshFailed",result="created"\} 1/);
    assert.match(metrics, /credmount_volumes 1/);
    assert.match(metrics, /credmount_operation_duration_seconds_count\{operation="NodePublishVolume",provider="vault",result="kept"\} \d+/);

    // 4. Recovered: the next due refresh succeeds and sends nothing new.
    spc.world.clock.advance(10 * 60_000);
    assert.equal((await spc.world.simulator.publish(pod)).ok, true);
    assert.match(await spc.world.driver.metrics.registry.metrics(), /credmount_refreshes_total\{provider="vault",result="(unchanged|refreshed)"\} 1/);
    assert.equal((await spc.world.simulator.unpublish(pod)).ok, true);
  });

  test('events forbidden by RBAC: the driver logs it once and keeps working', async () => {
    spc.kube.deny('create', 'events');
    const pod = spc.world.pod(OBJECTS);
    try {
      assert.equal((await spc.world.simulator.publish(pod)).ok, true);
      await spc.world.vault.setFault({ kind: 'error', status: 500 });
      // Two failed refreshes five minutes apart: inside the ten minutes the recorder stays quiet after a 403.
      for (let i = 0; i < 2; i++) {
        spc.world.clock.advance(KV_REFRESH_MS + 1_000);
        const kept = await spc.world.simulator.publish(pod);
        assert.equal(kept.ok, true, kept.message);
        await spc.world.driver.events?.settle();
      }
    } finally {
      await spc.world.vault.setFault(undefined);
      spc.kube.allow('create', 'events');
    }
    const forbidden = (await spc.logLines()).filter((l) => /Kubernetes Events are forbidden/.test(String(l['msg'])));
    assert.equal(forbidden.length, 1);
    assert.equal(spc.kube.requests.filter((r) => r.verb === 'create' && r.status === 403).length, 1, 'one refused call, then quiet');
    assert.match(await spc.world.driver.metrics.registry.metrics(), /credmount_pod_events_total\{reason="CredentialRefreshFailed",result="denied"\} 2/);
    assert.equal((await spc.world.simulator.unpublish(pod)).ok, true);
  });

  test('every log line about a volume names the pod (namespace, pod, UID, service account); no token or secret in logs or events', async () => {
    const lines = await spc.logLines();
    const aboutVolumes = lines.filter((l) => typeof l['volumeId'] === 'string');
    assert.ok(aboutVolumes.length >= 10, `${aboutVolumes.length} lines about volumes`);
    for (const line of aboutVolumes) {
      for (const field of ['namespace', 'pod', 'podUid', 'serviceAccount']) {
        assert.equal(typeof line[field], 'string', `${field} on ${JSON.stringify(line['msg'])}`);
      }
    }
    const logText = await readFile(spc.logFile, 'utf8');
    const eventText = JSON.stringify(spc.kube.requests.map((r) => r.body));
    // Not vacuous: the events of the tests above (messages included) are in what is searched.
    assert.match(eventText, /"reason":"CredentialRefreshFailed"/);
    assert.match(eventText, /CM_BACKEND_UNAVAILABLE: refreshing volume/);
    for (const text of [logText, eventText]) {
      assert.ok(!text.includes(SECRET), 'no secret value');
      assert.doesNotMatch(text, /eyJ[\w-]+\.eyJ[\w-]+\.[\w-]+/, 'no JWT');
      assert.ok(!text.includes(spc.kube.bearerToken), "no driver token");
      assert.doesNotMatch(text, /hvs\.|s\.[A-Za-z0-9]{24}/, 'no Vault token');
    }
  });
});

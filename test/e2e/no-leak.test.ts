import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { readFile, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { readTree } from '../support/fs-probes.js';
import { after, before, describe, test } from 'node:test';
import { prepareTargetParent } from '../../src/cli/kubelet-sim/kubelet-request-builder.js';
import { E2eWorld, withFreePort } from '../support/e2e-world.js';

const TOKENS_KEY = 'csi.storage.k8s.io/serviceAccount.tokens';
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));


/**
 * Canaries — a secret value, the pod's real tokens, a private key the driver generated, and
 * fake token strings sent in malformed requests — go through every path that logs (publish,
 * fresh and due republish, refresh failure, every kind of refusal, stats, unpublish) with the
 * driver at debug level. None may appear in its log, its state directory or its metrics.
 */
describe('no token, secret value or private key reaches logs, state or metrics', () => {
  let world: E2eWorld;
  let port: number;
  const canarySecret = `CANARY-SECRET-${randomUUID()}`;
  const canaryFakeToken = `CANARY-TOKEN-${randomUUID()}`;
  const seen: string[] = [];

  before(async () => {
    world = await withFreePort(async (free) => {
      port = free;
      return E2eWorld.start({ driverArgs: ['--metrics-address', `127.0.0.1:${port}`, '--embedded-refresh-interval', '1s'] });
    });
    await writeFile(join(world.store.storeDir, 'secrets', world.store.secretPaths[0] as string), canarySecret);
  });
  after(async () => {
    await world.stop();
  });

  test('drive every path with canaries, then search for them', async () => {
    const client = world.simulator.client;
    const remember = (json: string | undefined) => {
      for (const entry of Object.values(JSON.parse(json ?? '{}') as Record<string, { token: string }>)) seen.push(entry.token);
    };

    // 1. Publish (tokens in volume_context), fresh republish, due refresh.
    const pod = world.pod();
    const request = await world.simulator.buildPublishRequest(pod);
    remember(request.volume_context[TOKENS_KEY]);
    const published = await world.simulator.publish(pod);
    assert.equal(published.ok, true, published.message);
    assert.equal(await readFile(join(published.targetPath, 'db-password'), 'utf8'), canarySecret, 'the canary did reach the volume');
    seen.push((await readFile(join(published.targetPath, 'tls.key'), 'utf8')).split('\n').slice(1, -2).join(''));
    assert.equal((await world.simulator.publish(pod)).ok, true);
    await sleep(1_100);
    await writeFile(join(world.store.storeDir, 'secrets', world.store.secretPaths[0] as string), `${canarySecret}-2`);
    assert.equal((await world.simulator.publish(pod)).ok, true);

    // 2. Refresh failure: the secret vanishes from the store; the volume keeps it and says why in the log.
    await rm(join(world.store.storeDir, 'secrets', world.store.secretPaths[0] as string));
    await sleep(1_100);
    assert.equal((await world.simulator.publish(pod)).ok, true);
    assert.equal(await readFile(join(published.targetPath, 'db-password'), 'utf8'), `${canarySecret}-2`);
    await writeFile(join(world.store.storeDir, 'secrets', world.store.secretPaths[0] as string), canarySecret);

    // 3. Tokens in `secrets` (Kubernetes 1.35+), for a second pod.
    const pod2 = world.pod();
    const request2 = await world.simulator.buildPublishRequest(pod2);
    await prepareTargetParent(request2);
    request2.secrets[TOKENS_KEY] = request2.volume_context[TOKENS_KEY] as string;
    delete request2.volume_context[TOKENS_KEY];
    remember(request2.secrets[TOKENS_KEY]);
    await client.nodeCall('NodePublishVolume', request2);

    // 4. Refusals that carry tokens: malformed, another pod's claims, an untrusted key, a denied secret.
    const refusals: ((r: typeof request) => void)[] = [
      (r) => (r.volume_context[TOKENS_KEY] = JSON.stringify({ credmount: { token: canaryFakeToken, expirationTimestamp: '2099-01-01T00:00:00Z' } })),
      (r) => (r.volume_context[TOKENS_KEY] = `{"credmount": {"token": "${canaryFakeToken}"`),
      (r) => (r.volume_context[TOKENS_KEY] = JSON.stringify({ credmount: { token: `${canaryFakeToken}.${canaryFakeToken}.${canaryFakeToken}`, expirationTimestamp: '2099-01-01T00:00:00Z' } })),
      (r) => (r.secrets[TOKENS_KEY] = JSON.stringify({ credmount: canaryFakeToken })),
      (r) => (r.volume_context['csi.storage.k8s.io/pod.uid'] = '11111111-1111-4111-8111-111111111111'),
      (r) => (r.volume_context['objects'] = '- objectName: x\n  secretPath: payments/db-password'),
    ];
    for (const mutate of refusals) {
      const bad = await world.simulator.buildPublishRequest(world.pod());
      remember(bad.volume_context[TOKENS_KEY]);
      await prepareTargetParent(bad);
      mutate(bad);
      await assert.rejects(client.nodeCall('NodePublishVolume', bad));
    }

    // The state directory while volumes exist (after unpublish it is nearly empty).
    // Records are written just after each answer (in the driver process): wait for this one.
    let stateWhilePublished = '';
    for (let attempt = 0; attempt < 200 && !stateWhilePublished.includes(published.volumeId); attempt++) {
      if (attempt > 0) await new Promise((resolve) => setTimeout(resolve, 10));
      stateWhilePublished = await readTree(world.driver.stateDir);
    }
    assert.ok(stateWhilePublished.includes(published.volumeId), 'metadata of the published volume is there');

    // 5. Stats, unpublish.
    await client.nodeCall('NodeGetVolumeStats', { volume_id: published.volumeId, volume_path: published.targetPath });
    assert.equal((await world.simulator.unpublish(pod)).ok, true);
    await client.nodeCall('NodeUnpublishVolume', { volume_id: request2.volume_id, target_path: request2.target_path });

    // 6. Search everything the driver wrote outside volumes.
    const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    await world.driver.stop();
    const log = await world.driver.log();
    const state = stateWhilePublished + (await readTree(world.driver.stateDir));
    assert.ok(log.includes('NodePublishVolume') && log.includes('refresh failed'), 'the log covers the paths exercised');
    const canaries = [canarySecret, canaryFakeToken, ...seen, ...seen.map((t) => t.split('.')[2] ?? '')].filter((c) => c.length > 20);
    assert.ok(canaries.length >= 8, `enough canaries (${canaries.length})`);
    for (const canary of canaries) {
      for (const [where, text] of [
        ['driver log', log],
        ['state directory', state],
        ['metrics', metrics],
      ] as const) {
        assert.ok(!text.includes(canary), `a canary (${canary.slice(0, 16)}…) leaked into the ${where}`);
      }
    }
    // Metadata exists while volumes do, and is owner-only.
    assert.ok((await stat(world.driver.stateDir)).isDirectory());
  });
});

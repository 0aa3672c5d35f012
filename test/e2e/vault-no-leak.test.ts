import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readTree } from '../support/fs-probes.js';
import { after, before, describe, test } from 'node:test';
import { VaultWorld } from '../support/vault-world.js';


/**
 * The Vault paths with canaries: a KV value, a dynamic password, the pods' JWTs and every Vault
 * token (`hvs.` prefix) — through login, refusal, reads, lease renewal, 429 and an outage, with
 * the driver at debug level. None may reach the log, the state directory or the metrics.
 */
describe('Vault: no token or secret value in logs, state or metrics', () => {
  let world: VaultWorld;
  const logFile = join(tmpdir(), `credmount-vault-leak-${randomUUID()}.log`);
  const canarySecret = `CANARY-VAULT-${randomUUID()}`;
  before(async () => {
    world = await VaultWorld.start({ logFile });
    world.vault.writeKv2('secret', 'app/canary', { value: canarySecret });
    world.vault.addDatabaseRole('app', { ttlSeconds: 600, maxTtlSeconds: 1800 });
  });
  after(async () => {
    await world.stop();
  });

  test('drive the Vault paths, then search', async () => {
    const seen: string[] = [canarySecret];
    const remember = async (pod: ReturnType<VaultWorld['pod']>) => {
      const request = await world.simulator.buildPublishRequest(pod);
      for (const entry of Object.values(JSON.parse(request.volume_context['csi.storage.k8s.io/serviceAccount.tokens'] ?? '{}') as Record<string, { token: string }>)) seen.push(entry.token);
    };
    const pod = world.pod('- objectName: canary\n  secretPath: secret/data/app/canary\n  secretKey: value\n- objectName: whole\n  secretPath: secret/data/app/canary\n- objectName: db\n  secretPath: database/creds/app\n  secretKey: password\n');
    await remember(pod);
    const published = await world.simulator.publish(pod);
    assert.equal(published.ok, true, published.message);
    seen.push(await readFile(join(published.targetPath, 'db'), 'utf8'));

    const intruder = world.pod('- objectName: x\n  secretPath: secret/data/app/canary\n  secretKey: value\n', { serviceAccountName: 'intruder' });
    await remember(intruder);
    assert.equal((await world.simulator.publish(intruder)).ok, false);

    world.clock.advance(7 * 60_000); // lease renewal and KV re-read
    assert.equal((await world.simulator.publish(pod)).ok, true);
    await world.vault.setFault({ kind: 'rate-limited', retryAfterSeconds: 30 });
    world.clock.advance(7 * 60_000);
    await world.simulator.publish(pod);
    await world.vault.setFault({ kind: 'down', mode: 'reset' });
    world.clock.advance(7 * 60_000);
    await world.simulator.publish(pod);
    await world.vault.setFault(undefined);
    world.clock.advance(60 * 60_000); // Vault token renewal
    await world.simulator.publish(pod);
    await world.driver.volumes.settle(); // records are written just after each answer
    const state = await readTree(join(world.workdir, 'state'));
    assert.equal((await world.simulator.unpublish(pod)).ok, true);

    const metrics = await world.driver.metrics.registry.metrics();
    const log = await readFile(logFile, 'utf8');
    assert.match(log, /refresh failed/, 'the log covers the failure paths');
    assert.ok(state.includes(published.volumeId), 'metadata was there to search');
    for (const [where, text] of [
      ['log', log],
      ['state directory', state],
      ['metrics', metrics],
    ] as const) {
      for (const canary of seen.filter((c) => c.length > 8)) assert.ok(!text.includes(canary), `a canary (${canary.slice(0, 12)}…) leaked into the ${where}`);
      assert.doesNotMatch(text, /hvs\.[A-Za-z0-9]{8,}/, `a Vault token leaked into the ${where}`);
    }
  });
});

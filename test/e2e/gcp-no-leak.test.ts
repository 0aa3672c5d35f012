import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { readTree } from '../support/fs-probes.js';
import { GcpWorld, PROJECT } from '../support/gcp-world.js';

/**
 * The GCP paths with canaries: secret payloads (plain and JSON-extracted), the pods' JWTs and
 * every Google access token the test server issued (`ya29.` prefix) — through the exchange,
 * impersonation, refusals, rotation, a checksum mismatch, 429, an outage and a 401 retry, with the
 * driver at debug level. None may reach the log, the errors kubelet got, the state directory or
 * the metrics.
 */
describe('GCP: no token or secret value in logs, errors, state or metrics', () => {
  let world: GcpWorld;
  const logFile = join(tmpdir(), `credmount-gcp-leak-${randomUUID()}.log`);
  const canary = `CANARY-GCP-${randomUUID()}`;
  const jsonCanary = `CANARY-JSON-${randomUUID()}`;
  before(async () => {
    world = await GcpWorld.start({ logFile });
  });
  after(async () => {
    await world.stop();
  });

  test('drive the GCP paths, then search', async () => {
    const P = PROJECT.project;
    const gsa = 'reader@demo-project.iam.gserviceaccount.com';
    world.addVersion('canary', canary);
    world.addVersion('json', JSON.stringify({ user: jsonCanary, other: canary }));
    world.addVersion('not-json', `not json ${canary}`);
    world.grant('canary', world.principal('demo', 'app'));
    world.grant('json', world.principal('demo', 'app'));
    world.grant('not-json', world.principal('demo', 'app'));
    world.grant('canary', `serviceAccount:${gsa}`);
    world.google.grantTokenCreator(gsa, world.principal('demo', 'app'));

    const seen: string[] = [canary, jsonCanary];
    const errors: string[] = [];
    const remember = async (pod: ReturnType<GcpWorld['pod']>) => {
      const request = await world.simulator.buildPublishRequest(pod);
      for (const entry of Object.values(JSON.parse(request.volume_context['csi.storage.k8s.io/serviceAccount.tokens'] ?? '{}') as Record<string, { token: string }>)) seen.push(entry.token);
    };
    const publish = async (pod: ReturnType<GcpWorld['pod']>) => {
      await remember(pod);
      const event = await world.simulator.publish(pod);
      if (!event.ok) errors.push(event.message ?? '');
      return event;
    };

    const pod = world.pod(`- resourceName: projects/${P}/secrets/canary/versions/latest\n  path: canary\n- resourceName: projects/${P}/secrets/json/versions/latest\n  path: user\n  extractJSONKey: user\n`);
    const published = await publish(pod);
    assert.equal(published.ok, true, published.message);
    const impersonating = world.pod(`- resourceName: projects/${P}/secrets/canary/versions/1\n  path: c\n`, { parameters: { 'iam.gke.io/gcp-service-account': gsa } });
    assert.equal((await publish(impersonating)).ok, true);

    // refusals: another identity, a bad extraction, an impersonation without the binding
    assert.equal((await publish(world.pod(`- resourceName: projects/${P}/secrets/canary/versions/latest\n  path: c\n`, { serviceAccountName: 'intruder' }))).ok, false);
    assert.equal((await publish(world.pod(`- resourceName: projects/${P}/secrets/not-json/versions/latest\n  path: c\n  extractJSONKey: user\n`))).ok, false);
    assert.equal((await publish(world.pod(`- resourceName: projects/${P}/secrets/canary/versions/latest\n  path: c\n`, { serviceAccountName: 'other', parameters: { 'iam.gke.io/gcp-service-account': gsa } }))).ok, false);
    assert.equal((await publish(world.pod(`- resourceName: projects/${P}/secrets/canary/versions/latest\n  path: c\n`, { parameters: { auth: 'provider-adc' } }))).ok, false);

    // refresh, corruption, throttling, outage, a revoked token
    world.addVersion('canary', `${canary}-v2`);
    world.clock.advance(3 * 60_000);
    assert.equal((await publish(pod)).ok, true);
    await world.google.setFault({ kind: 'corrupt-checksum' });
    world.addVersion('canary', `${canary}-v3`);
    world.clock.advance(3 * 60_000);
    await publish(pod);
    const corrupt = await publish(world.pod(`- resourceName: projects/${P}/secrets/canary/versions/3\n  path: c\n`));
    assert.equal(corrupt.ok, false);
    await world.google.setFault({ kind: 'rate-limited', retryDelaySeconds: 30 });
    world.clock.advance(10 * 60_000);
    await publish(pod);
    await world.google.setFault({ kind: 'down' });
    world.clock.advance(10 * 60_000);
    await publish(pod);
    await world.google.setFault(undefined);
    world.google.revokeAllTokens();
    world.clock.advance(10 * 60_000);
    assert.equal((await publish(pod)).ok, true);
    world.clock.advance(2 * 3_600_000); // a new exchange, first refused by a throttled STS
    await world.google.setFault({ kind: 'rate-limited', retryDelaySeconds: 5, on: ['sts', 'iam'] });
    assert.equal((await publish(world.pod(`- resourceName: projects/${P}/secrets/canary/versions/latest\n  path: c\n`))).ok, false);
    await world.google.setFault(undefined);
    assert.equal((await publish(pod)).ok, true);
    await world.driver.volumes.settle(); // records are written just after each answer
    const state = await readTree(join(world.workdir, 'state'));
    assert.equal((await world.simulator.unpublish(pod)).ok, true);
    assert.equal((await world.simulator.unpublish(impersonating)).ok, true);

    const metrics = await world.driver.metrics.registry.metrics();
    const log = await readFile(logFile, 'utf8');
    assert.match(log, /refresh failed/, 'the log covers the failure paths');
    assert.match(log, /CRC32C/, 'the log covers the checksum refusal');
    assert.match(log, /answered 429/, 'the log covers throttling');
    assert.ok(errors.length >= 5, `errors returned to kubelet: ${errors.length}`);
    assert.ok(state.includes(published.volumeId), 'metadata was there to search');
    for (const [where, text] of [
      ['log', log],
      ['errors returned to kubelet', errors.join('\n')],
      ['state directory', state],
      ['metrics', metrics],
    ] as const) {
      for (const c of seen.filter((s) => s.length > 8)) assert.ok(!text.includes(c), `a canary (${c.slice(0, 12)}…) leaked into the ${where}`);
      for (const jwt of seen.filter((s) => s.startsWith('eyJ'))) assert.ok(!text.includes(jwt.split('.')[2] ?? '-'), `a JWT signature leaked into the ${where}`);
      assert.doesNotMatch(text, /ya29\.[A-Za-z0-9_-]{8,}/, `a Google access token leaked into the ${where}`);
    }
  });
});

import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, test } from 'node:test';
import { Errors } from '../../../src/errors/catalogue.js';
import { silentLogger } from '../../../src/observability/logger.js';
import { ProviderRegistry } from '../../../src/providers/registry.js';
import { AtomicDirectoryWriter } from '../../../src/storage/atomic-writer.js';
import { VolumeManager } from '../../../src/volumes/volume-manager.js';
import { VolumeHarness } from '../../support/volume-harness.js';

describe('background renewal (VolumeManager.renewDue)', () => {
  let h: VolumeHarness;
  let manager: VolumeManager;
  const build = (providers: readonly string[]) =>
    new VolumeManager({
      registry: new ProviderRegistry([h.provider]),
      mounter: h.mounter,
      writer: new AtomicDirectoryWriter(),
      metadata: h.metadata,
      logger: silentLogger(),
      metrics: h.metrics,
      maxContentBytes: 64 * 1024,
      clock: h.clock,
      random: () => 0,
      backgroundRenewalProviders: providers,
    });
  beforeEach(async () => {
    h = await VolumeHarness.create();
    h.provider.refreshInMs = 80_000;
    h.provider.expiresInMs = 120_000;
    manager = build(['scripted']);
  });
  afterEach(async () => {
    await h.cleanup();
  });

  test('renews a due volume with the tokens of kubelet\'s last call, and only when due', async () => {
    const request = await h.request('a');
    assert.equal(await manager.publish(request), 'mounted');
    h.clock.advance(79_000);
    assert.equal((await manager.renewDue()).size, 0);
    assert.equal(h.provider.fetches, 1);
    h.provider.version = '2';
    h.clock.advance(1_000);
    assert.deepEqual([...(await manager.renewDue())], [['csi-a', 'refreshed']]);
    assert.equal(h.provider.fetches, 2);
    assert.equal(h.provider.lastRequest?.tokens.get('scripted')?.token, 'header.payload.signature');
    assert.match(await h.metrics.registry.metrics(), /credmount_background_renewals_total\{provider="scripted",result="refreshed"\} 1/);
  });

  test('providers outside the list are left to kubelet', async () => {
    manager = build([]);
    await manager.publish(await h.request('a'));
    h.clock.advance(100_000);
    assert.equal((await manager.renewDue()).size, 0);
    assert.equal(h.provider.fetches, 1);
  });

  test('expired tokens: no fetch, "tokens-expired"; the next republish brings new ones', async () => {
    const request = await h.request('a');
    const short = { ...request, tokens: new Map([['scripted', { audience: 'scripted', token: 't', expiresAt: new Date(h.clock.now() + 60_000), serviceAccountUid: '' }]]) };
    await manager.publish(short);
    h.clock.advance(85_000);
    assert.deepEqual([...(await manager.renewDue()).values()], ['tokens-expired']);
    assert.equal(h.provider.fetches, 1);
    h.provider.version = '2';
    assert.equal(await manager.publish(await h.request('a')), 'refreshed');
    assert.equal(h.provider.fetches, 2);
  });

  test('tokens that would expire before the fetch deadline are not used for a renewal', async () => {
    const request = await h.request('a');
    // valid for 30 s more when the renewal is due: more than a few seconds, less than the 90 s fetch timeout
    const short = { ...request, tokens: new Map([['scripted', { audience: 'scripted', token: 't', expiresAt: new Date(h.clock.now() + 110_000), serviceAccountUid: '' }]]) };
    await manager.publish(short);
    h.clock.advance(80_000);
    assert.deepEqual([...(await manager.renewDue()).values()], ['tokens-expired']);
    assert.equal(h.provider.fetches, 1);
  });

  test('a failing backend: kept while valid, then expired — reported once', async () => {
    await manager.publish(await h.request('a'));
    h.provider.failWith = Errors.backendUnavailable('scripted', 'down');
    h.clock.advance(80_000);
    assert.deepEqual([...(await manager.renewDue()).values()], ['kept']);
    h.clock.advance(45_000); // past the expiry at 120 s and past the first backoff step
    assert.deepEqual([...(await manager.renewDue()).values()], ['expired']);
    h.clock.advance(60_000);
    await manager.renewDue();
    assert.match(await h.metrics.registry.metrics(), /credmount_content_expirations_total\{provider="scripted"\} 1\n/);
  });

  test('an unpublished volume is not renewed', async () => {
    const request = await h.request('a');
    await manager.publish(request);
    await manager.unpublish(request.volumeId, request.targetPath);
    h.clock.advance(100_000);
    assert.equal((await manager.renewDue()).size, 0);
  });

  test('the timer runs passes on its own and stops', async () => {
    await manager.publish(await h.request('a'));
    h.clock.advance(100_000);
    const stop = manager.startBackgroundRenewal(5);
    await new Promise((resolve) => setTimeout(resolve, 60));
    stop();
    assert.equal(h.provider.fetches, 2, 'renewed once, then fresh');
  });
  test('stopping the timer during a pass: the volume being renewed finishes, no other is started', async () => {
    await manager.publish(await h.request('a'));
    await manager.publish(await h.request('b'));
    h.clock.advance(100_000);
    let open: () => void = () => undefined;
    h.provider.gate = new Promise<void>((resolve) => (open = resolve));
    const stop = manager.startBackgroundRenewal(5);
    for (let i = 0; i < 100 && h.provider.fetches < 3; i++) await new Promise((resolve) => setTimeout(resolve, 5));
    assert.equal(h.provider.fetches, 3, 'the pass is renewing the first volume');
    stop();
    open();
    await new Promise((resolve) => setTimeout(resolve, 50));
    assert.equal(h.provider.fetches, 3, 'the second volume was not renewed after stop');
  });
});

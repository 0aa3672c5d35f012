import assert from 'node:assert/strict';
import * as nodeModule from 'node:module';
import { lstat, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { socketPathFromEndpoint } from '../../src/csi/unix-endpoint.js';
import { E2eWorld } from '../support/e2e-world.js';

const exists = (path: string) =>
  lstat(path).then(
    () => true,
    () => false,
  );

describe('the driver process', () => {
  let world: E2eWorld;
  before(async () => {
    world = await E2eWorld.start();
  });
  after(async () => {
    await world.stop();
  });

  test('SIGTERM stops it gracefully (exit 0) and removes its socket', async () => {
    const socket = socketPathFromEndpoint(world.driver.endpoint);
    assert.equal(await exists(socket), true);
    assert.equal(await world.driver.stop('SIGTERM'), 0);
    assert.equal(await exists(socket), false);
    assert.match(await world.driver.log(), /credmount driver stopped/);
    await world.driver.start();
  });

  test('keeps a module compile cache in its state directory where Node.js has one (≥ 22.1), and says so', async () => {
    const directory = join(world.driver.stateDir, 'compile-cache');
    const log = await world.driver.log();
    if (typeof (nodeModule as { enableCompileCache?: unknown }).enableCompileCache === 'function') {
      assert.match(log, /"compileCache":"[^"]*compile-cache/);
      // Written while modules load, flushed at the latest when the process exits.
      await world.driver.stop('SIGTERM');
      await world.driver.start();
      const entries = await readdir(directory, { recursive: true });
      assert.ok(entries.length > 0, 'the cache has entries after a run');
    } else {
      assert.match(log, /"compileCacheUnavailable":"Node\.js v20[^"]*has no module compile cache"/);
      assert.equal(await exists(directory), false);
    }
  });

  test('a stale socket left by a killed process is replaced at start', async () => {
    const socket = socketPathFromEndpoint(world.driver.endpoint);
    await world.driver.stop('SIGKILL');
    assert.equal((await lstat(socket)).isSocket(), true, 'SIGKILL leaves the socket file behind');
    await world.driver.start();
    const info = await world.simulator.client.identityCall<{ name: string }>('GetPluginInfo');
    assert.equal(info.name, 'csi.credmount.dev');
  });

  test('a volume published before a graceful restart keeps working', async () => {
    const pod = world.pod();
    assert.equal((await world.simulator.publish(pod)).ok, true);
    await world.driver.stop('SIGTERM');
    await world.driver.start();
    assert.match(await world.driver.log(), /"recoveredVolumes":1/);
    assert.equal((await world.simulator.publish(pod)).ok, true);
    assert.equal((await world.simulator.unpublish(pod)).ok, true);
  });
});

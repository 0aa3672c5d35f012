import assert from 'node:assert/strict';
import { readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { E2eWorld } from '../support/e2e-world.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const SECRETS = ['alpha', 'beta', 'gamma'];
/** Large enough that writing a generation takes a while, so kills land inside refreshes. */
const SECRET_BYTES = 256 * 1024;

/** Write generation `n` of every secret into the store, each file atomically (as a real backend would serve it). */
async function writeGeneration(world: E2eWorld, n: number): Promise<void> {
  for (const name of SECRETS) {
    const path = join(world.store.storeDir, 'secrets', world.store.namespace, name);
    await writeFile(`${path}.tmp`, `gen-${n}:`.padEnd(SECRET_BYTES, '.'));
    await rename(`${path}.tmp`, path);
  }
}

/** The generation every file of the volume holds; fails if they disagree (a torn volume) or one is missing. */
async function volumeGeneration(target: string): Promise<number> {
  const generations = new Set<string>();
  for (const name of SECRETS) {
    const content = await readFile(join(target, name), 'utf8');
    assert.equal(content.length, SECRET_BYTES, `${name} is complete`);
    generations.add(content.slice(0, content.indexOf(':')));
  }
  assert.equal(generations.size, 1, `all files from one generation, got ${[...generations].join(', ')}`);
  return Number([...generations][0]?.slice(4));
}

function objects(world: E2eWorld): string {
  return SECRETS.map((name) => `- objectName: ${name}\n  secretPath: ${world.store.namespace}/${name}\n`).join('');
}

describe('faults', () => {
  let world: E2eWorld;
  before(async () => {
    world = await E2eWorld.start({ driverArgs: ['--embedded-refresh-interval', '1ms', '--max-volume-bytes', String(4 * 1024 * 1024)] });
    await writeGeneration(world, 0);
  });
  after(async () => {
    await world.stop();
  });

  test('a backend failure during republish keeps the old content byte for byte', async () => {
    const pod = world.pod(objects(world));
    const published = await world.simulator.publish(pod);
    assert.equal(published.ok, true, published.message);
    const before = await Promise.all(SECRETS.map((name) => readFile(join(published.targetPath, name))));
    // The backend loses a secret: NOT_FOUND on every refresh from now on.
    const missing = join(world.store.storeDir, 'secrets', world.store.namespace, 'beta');
    const saved = await readFile(missing);
    await rm(missing);
    for (let i = 0; i < 3; i++) {
      await sleep(5);
      const event = await world.simulator.publish(pod);
      assert.equal(event.ok, true, 'the volume is still valid, so kubelet sees success');
    }
    const after = await Promise.all(SECRETS.map((name) => readFile(join(published.targetPath, name))));
    assert.deepEqual(after, before);
    assert.match(await world.driver.log(), /refresh failed: keeping the last good content/);
    await writeFile(missing, saved);
    assert.equal((await world.simulator.unpublish(pod)).ok, true);
  });

  test('SIGKILL in the middle of refreshes leaves each volume old-or-new; after restart republish and unpublish succeed', async () => {
    const pods = [world.pod(objects(world)), world.pod(objects(world))];
    for (const pod of pods) assert.equal((await world.simulator.publish(pod)).ok, true);
    const targets = await Promise.all(pods.map(async (pod) => (await world.simulator.buildPublishRequest(pod)).target_path));

    // Calibrate: how long does a refresh of both volumes take on this machine?
    await writeGeneration(world, 1);
    const started = performance.now();
    await Promise.all(pods.map((pod) => world.simulator.publish(pod)));
    const refreshMs = performance.now() - started;
    for (const target of targets) assert.equal(await volumeGeneration(target), 1);

    const rounds = 10;
    for (let round = 2; round < 2 + rounds; round++) {
      // 1. The backend moves to a new generation; kubelet republishes both volumes...
      await writeGeneration(world, round);
      const inFlight = pods.map((pod) => world.simulator.publish(pod));
      // 2. ...and the driver dies somewhere inside those refreshes: each round a later point,
      //    sweeping from the start of the calls to past their end.
      await sleep((refreshMs * 1.2 * (round - 1)) / rounds);
      await world.driver.stop('SIGKILL');
      await Promise.allSettled(inFlight);

      // 3. Every volume is complete and from one generation, old or new; no stray temp files.
      for (const target of targets) {
        const generation = await volumeGeneration(target);
        assert.ok(generation === round || generation === round - 1, `generation ${generation} in round ${round}`);
        const visible = (await readdir(target)).filter((n) => !n.startsWith('..'));
        assert.deepEqual(visible.sort(), [...SECRETS].sort());
      }

      // 4. A new driver process on the same state: republish brings the new generation.
      await world.driver.start();
      for (const [i, pod] of pods.entries()) {
        const event = await world.simulator.publish(pod);
        assert.equal(event.ok, true, event.message);
        assert.equal(await volumeGeneration(targets[i] as string), round, 'the restarted driver refreshed the volume');
      }
    }
    for (const [i, pod] of pods.entries()) {
      assert.equal((await world.simulator.unpublish(pod)).ok, true);
      assert.equal(
        await stat(targets[i] as string).then(
          () => true,
          () => false,
        ),
        false,
      );
    }
  });

  test('after a restart, unpublish of a volume the new process never saw succeeds', async () => {
    const pod = world.pod(objects(world));
    const published = await world.simulator.publish(pod);
    assert.equal(published.ok, true);
    await world.driver.stop('SIGKILL');
    await world.driver.start();
    assert.equal((await world.simulator.unpublish(pod)).ok, true);
    assert.equal(
      await stat(published.targetPath).then(
        () => true,
        () => false,
      ),
      false,
    );
  });
});

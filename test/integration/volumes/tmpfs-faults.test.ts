import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, test } from 'node:test';
import { Errors } from '../../../src/errors/catalogue.js';
import { TmpfsMounter } from '../../../src/storage/tmpfs-mounter.js';
import { unmountAllBelow } from '../../support/e2e-world.js';
import { VolumeHarness } from '../../support/volume-harness.js';

const isRoot = process.getuid?.() === 0;

/** The lifecycle on real tmpfs mounts: a failing or hanging backend never touches a mounted volume. */
describe('volume faults on tmpfs', { skip: isRoot ? false : 'needs root to mount tmpfs' }, () => {
  let h: VolumeHarness;
  beforeEach(async () => {
    h = await VolumeHarness.create({ mounter: new TmpfsMounter() });
    h.provider.files = [
      { path: 'a', content: 'A'.repeat(10_000) },
      { path: 'dir/b', content: 'B'.repeat(10_000), mode: 0o600 },
    ];
  });
  afterEach(async () => {
    await unmountAllBelow(h.root);
    await h.cleanup();
  });

  async function snapshot(target: string): Promise<Buffer[]> {
    return Promise.all(['a', 'dir/b'].map((name) => readFile(join(target, name))));
  }

  test('the mount is a tmpfs and survives failing refreshes byte for byte', async () => {
    const request = await h.request('a');
    assert.equal(await h.manager.publish(request), 'mounted');
    assert.equal(await h.mounter.isMounted(request.targetPath), true);
    const before = await snapshot(request.targetPath);
    h.provider.failWith = Errors.backendUnavailable('scripted', 'HTTP 503');
    for (let i = 0; i < 4; i++) {
      h.clock.advance(120_000);
      assert.equal(await h.manager.publish(request), 'kept');
    }
    assert.deepEqual(await snapshot(request.targetPath), before);
    assert.equal(await h.mounter.isMounted(request.targetPath), true);
  });

  test('a backend that hangs past the fetch timeout leaves the volume byte for byte', async () => {
    const request = await h.request('a');
    await h.manager.publish(request);
    const before = await snapshot(request.targetPath);
    h.provider.gate = new Promise(() => undefined);
    h.clock.advance(120_000);
    assert.equal(await h.manager.publish(request), 'kept');
    assert.deepEqual(await snapshot(request.targetPath), before);
  });

  test('unpublish unmounts and removes the target', async () => {
    const request = await h.request('a');
    await h.manager.publish(request);
    await h.manager.unpublish(request.volumeId, request.targetPath);
    assert.equal(await h.mounter.isMounted(request.targetPath), false);
    await assert.rejects(readFile(join(request.targetPath, 'a')), { code: 'ENOENT' });
  });
});

import * as assert from 'node:assert/strict';
import * as fs from 'node:fs/promises';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { after, before, describe, it } from 'node:test';
import { Errors } from '../../../src/errors/catalogue.js';
import { AtomicDirectoryWriter, DATA_LINK_NAME, readCurrentFiles } from '../../../src/storage/atomic-writer.js';
import { TmpfsMounter } from '../../../src/storage/tmpfs-mounter.js';
import { readVolumeUsage } from '../../../src/storage/volume-usage.js';
import { assertRejectsWithCode, snapshotTree } from '../../unit/storage/storage-test-helpers.js';
import type { VolumeFile } from '../../../src/storage/storage.js';
import { generationFiles, generationOf } from './generations.js';
import { cleanupBase, makeBase } from './tmpfs-test-helpers.js';

const MIB = 1024 * 1024;

/** A reader thread (generation-reader.worker.ts); resolves with its summary once `stop` is set. */
function startReader(dir: string, kind: 'snapshot' | 'links', stop: Int32Array): Promise<Record<string, number>> {
  const worker = new Worker(new URL('./generation-reader.worker.js', import.meta.url), { workerData: { dir, kind, stop } });
  return new Promise((resolve, reject) => {
    worker.once('message', (message: { ok: boolean; result?: Record<string, number>; error?: string }) => (message.ok ? resolve(message.result ?? {}) : reject(new Error(message.error))));
    worker.once('error', reject);
  });
}

// The tmpfs is the same whichever mechanism mounted it; run on both to be sure.
for (const mechanism of ['syscall', 'mount(8)'] as const) {
  void describe(`AtomicDirectoryWriter on a real tmpfs (mounted by ${mechanism})`, () => {
    let base: string;
    let n = 0;
    const mounter = new TmpfsMounter({ mechanism });
    const writer = new AtomicDirectoryWriter();
    const newVolume = async (sizeBytes = 4 * MIB, gid?: number) => {
      const parent = join(base, `pod-${++n}`);
      await fs.mkdir(parent);
      const target = join(parent, 'mount');
      await mounter.mount(target, { sizeBytes, gid });
      return target;
    };

    before(async () => {
      base = await makeBase('credmount-writer-');
    });
    after(async () => {
      await cleanupBase(base);
    });

    void it('readers never see a mix of generations, an empty volume, or a torn file while content is swapped', async (t) => {
      const dir = await newVolume();
      await writer.write(dir, generationFiles(0), { maxBytes: MIB });
      const GENERATIONS = 150;
      // Readers in their own threads, as a pod's processes: the writer's steps are synchronous
      // calls, so readers on this thread could never run between them.
      const stop = new Int32Array(new SharedArrayBuffer(4));
      const readers = Promise.all([startReader(dir, 'snapshot', stop), startReader(dir, 'snapshot', stop), startReader(dir, 'links', stop), startReader(dir, 'links', stop)]);
      // Let the readers start before the swaps do.
      await new Promise((resolve) => setTimeout(resolve, 50));
      try {
        for (let g = 1; g <= GENERATIONS; g++) {
          await writer.write(dir, generationFiles(g), { maxBytes: MIB });
          // A pause between generations, as between refreshes: readers see each one for a moment.
          if (g % 10 === 0) await new Promise((resolve) => setImmediate(resolve));
        }
      } finally {
        Atomics.store(stop, 0, 1);
      }
      const [s1, s2, l1, l2] = (await readers) as [{ snapshots: number; retries: number }, { snapshots: number; retries: number }, { reads: number; distinct: number }, { reads: number; distinct: number }];
      t.diagnostic(`snapshots ${s1.snapshots + s2.snapshots} (retried ${s1.retries + s2.retries}), link reads ${l1.reads + l2.reads}`);

      // The test exercised what it claims: readers overlapped many swaps.
      assert.ok(s1.snapshots + s2.snapshots > 50, `too few snapshots: ${s1.snapshots + s2.snapshots}`);
      assert.ok(l1.distinct > 5 && l2.distinct > 5, `link readers saw too few generations: ${l1.distinct}, ${l2.distinct}`);
      const final = await readCurrentFiles(dir);
      assert.deepEqual(final?.map((f) => generationOf(f.path, Buffer.from(f.content))), [GENERATIONS, GENERATIONS, GENERATIONS]);
      // Only the current generation is left on the tmpfs.
      assert.equal((await fs.readdir(dir)).filter((name) => name.startsWith('..')).length, 2);
    });

    void it('with a gid: files and directories are group-owned by it, files group-readable, dirs group r+x', async () => {
      const dir = await newVolume(MIB, 2000);
      await writer.write(
        dir,
        [
          { path: 'key.pem', content: Buffer.from('k'), mode: 0o600 },
          { path: 'certs/ca.crt', content: Buffer.from('c'), mode: 0o644 },
          { path: 'token', content: Buffer.from('t'), mode: 0o400 },
        ],
        { maxBytes: MIB, gid: 2000 },
      );
      const generation = await fs.readlink(join(dir, DATA_LINK_NAME));
      const expectations: Array<[string, number]> = [
        ['key.pem', 0o640],
        ['certs/ca.crt', 0o644],
        ['token', 0o440],
        ['certs', 0o750],
        [generation, 0o750],
      ];
      for (const [path, mode] of expectations) {
        const stats = await fs.stat(join(dir, path));
        assert.equal(stats.gid, 2000, `${path} gid`);
        assert.equal(stats.uid, 0, `${path} stays owned by root`);
        assert.equal(stats.mode & 0o777, mode, `${path} mode ${(stats.mode & 0o777).toString(8)}`);
      }
    });

    void it('a change of gid alone publishes a new generation with the new group', async () => {
      const dir = await newVolume(MIB, 2000);
      const files: VolumeFile[] = [{ path: 'a', content: Buffer.from('x'), mode: 0o640 }];
      await writer.write(dir, files, { maxBytes: MIB, gid: 2000 });
      const first = await fs.readlink(join(dir, DATA_LINK_NAME));
      await writer.write(dir, files, { maxBytes: MIB, gid: 2000 });
      assert.equal(await fs.readlink(join(dir, DATA_LINK_NAME)), first, 'identical write with the same gid is a no-op');
      await writer.write(dir, files, { maxBytes: MIB, gid: 3000 });
      assert.notEqual(await fs.readlink(join(dir, DATA_LINK_NAME)), first);
      assert.equal((await fs.stat(join(dir, 'a'))).gid, 3000);
    });

    void it('a tmpfs too small for the new generation (ENOSPC) keeps the old content intact and leaves no orphan', async () => {
      const dir = await newVolume(128 * 1024);
      await writer.write(dir, [{ path: 'a', content: Buffer.alloc(40 * 1024, 1), mode: 0o644 }], { maxBytes: MIB });
      const before = await snapshotTree(dir);
      await assertRejectsWithCode(
        () => writer.write(dir, [{ path: 'a', content: Buffer.alloc(100 * 1024, 2), mode: 0o644 }], { maxBytes: MIB }),
        Errors.internal.code,
        'INTERNAL',
      );
      assert.deepEqual(await snapshotTree(dir), before);
      assert.ok((await fs.readFile(join(dir, 'a'))).equals(Buffer.alloc(40 * 1024, 1)));
    });

    void it('a tmpfs sized for two generations takes a swap at the limit, and usage reflects the content', async () => {
      const dir = await newVolume(256 * 1024);
      const empty = await readVolumeUsage(dir);
      await writer.write(dir, [{ path: 'a', content: Buffer.alloc(100 * 1024, 1), mode: 0o644 }], { maxBytes: 100 * 1024 });
      await writer.write(dir, [{ path: 'a', content: Buffer.alloc(100 * 1024, 2), mode: 0o644 }], { maxBytes: 100 * 1024 });
      assert.ok((await fs.readFile(join(dir, 'a'))).equals(Buffer.alloc(100 * 1024, 2)));
      const used = await readVolumeUsage(dir);
      assert.equal(used.totalBytes, 256 * 1024);
      assert.ok(used.usedBytes - empty.usedBytes >= 100 * 1024, `used ${used.usedBytes}`);
      assert.ok(used.usedBytes - empty.usedBytes < 200 * 1024, 'the old generation was not freed');
      assert.ok(used.usedInodes > empty.usedInodes);
    });
  });
}

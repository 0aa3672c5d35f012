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
      // A short grace, and writes further apart than it, as refreshes are (minutes, against 1 s):
      // a reader that resolved `..data` just before a swap finds the retired generation until the
      // grace is over, even though each write's calls take microseconds.
      const GRACE_MS = 20;
      const graceWriter = new AtomicDirectoryWriter({ previousGenerationGraceMs: GRACE_MS });
      await graceWriter.write(dir, generationFiles(0), { maxBytes: MIB });
      const GENERATIONS = 100;
      // Readers in their own threads, as a pod's processes: the writer's steps are synchronous
      // calls, so readers on this thread could never run between them.
      const stop = new Int32Array(new SharedArrayBuffer(4));
      const readers = Promise.all([startReader(dir, 'snapshot', stop), startReader(dir, 'snapshot', stop), startReader(dir, 'links', stop), startReader(dir, 'links', stop)]);
      // Let the readers start before the swaps do.
      await new Promise((resolve) => setTimeout(resolve, 50));
      try {
        for (let g = 1; g <= GENERATIONS; g++) {
          await graceWriter.write(dir, generationFiles(g), { maxBytes: MIB });
          await new Promise((resolve) => setTimeout(resolve, GRACE_MS + 10));
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

    void it('keeps the previous generation for the grace period, and never more than two generations', async () => {
      const dir = await newVolume();
      const graceWriter = new AtomicDirectoryWriter({ previousGenerationGraceMs: 200 });
      const generations = async () => (await fs.readdir(dir)).filter((name) => name.startsWith('..') && name !== DATA_LINK_NAME).sort();
      await graceWriter.write(dir, generationFiles(1), { maxBytes: MIB });
      const first = await fs.readlink(join(dir, DATA_LINK_NAME));
      await graceWriter.write(dir, generationFiles(2), { maxBytes: MIB });
      const second = await fs.readlink(join(dir, DATA_LINK_NAME));
      // Right after the swap the retired generation is still readable where a reader resolved it.
      assert.deepEqual(await generations(), [first, second].sort());
      assert.equal(generationOf('a.pem', await fs.readFile(join(dir, first, 'a.pem'))), 1);
      // A write within the grace removes it first: the tmpfs holds two generations at most.
      await graceWriter.write(dir, generationFiles(3), { maxBytes: MIB });
      const third = await fs.readlink(join(dir, DATA_LINK_NAME));
      assert.deepEqual(await generations(), [second, third].sort());
      // After the grace only the current generation is left.
      await new Promise((resolve) => setTimeout(resolve, 300));
      assert.deepEqual(await generations(), [third]);
      assert.deepEqual((await readCurrentFiles(dir))?.map((f) => generationOf(f.path, Buffer.from(f.content))), [3, 3, 3]);
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
      // Three writes within the grace: each must free the generation before the last one first.
      const graceWriter = new AtomicDirectoryWriter({ previousGenerationGraceMs: 50 });
      for (const fill of [1, 2, 3]) await graceWriter.write(dir, [{ path: 'a', content: Buffer.alloc(100 * 1024, fill), mode: 0o644 }], { maxBytes: 100 * 1024 });
      assert.ok((await fs.readFile(join(dir, 'a'))).equals(Buffer.alloc(100 * 1024, 3)));
      // Once the grace is over, only the current generation takes space.
      await new Promise((resolve) => setTimeout(resolve, 100));
      const used = await readVolumeUsage(dir);
      assert.equal(used.totalBytes, 256 * 1024);
      assert.ok(used.usedBytes - empty.usedBytes >= 100 * 1024, `used ${used.usedBytes}`);
      assert.ok(used.usedBytes - empty.usedBytes < 200 * 1024, 'the old generation was not freed');
      assert.ok(used.usedInodes > empty.usedInodes);
    });
  });
}

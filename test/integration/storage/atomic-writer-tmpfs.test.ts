import * as assert from 'node:assert/strict';
import * as fs from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Errors } from '../../../src/errors/catalogue.js';
import { AtomicDirectoryWriter, DATA_LINK_NAME, readCurrentFiles } from '../../../src/storage/atomic-writer.js';
import type { VolumeFile } from '../../../src/storage/storage.js';
import { TmpfsMounter } from '../../../src/storage/tmpfs-mounter.js';
import { readVolumeUsage } from '../../../src/storage/volume-usage.js';
import { assertRejectsWithCode, snapshotTree } from '../../unit/storage/storage-test-helpers.js';
import { cleanupBase, makeBase } from './tmpfs-test-helpers.js';

const MIB = 1024 * 1024;
const NAMES = ['a.pem', 'b.key', 'nested/c.json'] as const;
/** Big enough that a read is several syscalls' worth of work, so reads and swaps overlap. */
const FILE_BYTES = 16 * 1024;

/** Generation `g`'s content of `name`: a header naming both, padded to a fixed size. */
function content(g: number, name: string): Buffer {
  const header = `generation=${g} file=${name};`;
  return Buffer.from(header.padEnd(FILE_BYTES, String.fromCharCode(97 + (g % 26))));
}
function generationFiles(g: number): VolumeFile[] {
  return NAMES.map((name) => ({ path: name, content: content(g, name), mode: 0o644 }));
}
/** Check a read: a complete file of one generation (never empty, never torn); returns the generation. */
function generationOf(name: string, data: Buffer): number {
  const match = /^generation=(\d+) file=([^;]+);/.exec(data.subarray(0, 64).toString());
  assert.ok(match, `${name}: content is empty or not a generation (${data.length} bytes)`);
  assert.equal(match[2], name);
  const g = Number(match[1]);
  assert.ok(data.equals(content(g, name)), `${name}: torn content for generation ${g}`);
  return g;
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
      let writing = true;

      // Reader 1, the consistent way to read several files: resolve `..data` once, read all files
      // below that generation. Every snapshot must be a single generation, and generations only
      // move forward. If the writer deletes the old generation mid-read (ENOENT), `..data` must
      // already name a newer one: the read is retried, it never finds "nothing".
      const snapshotReader = async () => {
        let last = 0;
        let snapshots = 0;
        let retries = 0;
        while (writing) {
          const generationDir = await fs.readlink(join(dir, DATA_LINK_NAME));
          let datas: Buffer[];
          try {
            datas = await Promise.all(NAMES.map((name) => fs.readFile(join(dir, generationDir, name))));
          } catch (error) {
            assert.equal((error as { code?: string }).code, 'ENOENT');
            assert.notEqual(await fs.readlink(join(dir, DATA_LINK_NAME)), generationDir, 'ENOENT although ..data still names that generation');
            retries++;
            continue;
          }
          const generations = new Set(NAMES.map((name, i) => generationOf(name, datas[i] as Buffer)));
          assert.equal(generations.size, 1, `a snapshot mixed generations ${[...generations].join(', ')}`);
          const g = [...generations][0] as number;
          assert.ok(g >= last, `went back from generation ${last} to ${g}`);
          last = g;
          snapshots++;
        }
        return { snapshots, retries, last };
      };

      // Reader 2, how most applications read: each file through its user-visible link. Every read
      // must succeed and be a complete file of one generation, and never go back in time.
      const linkReader = async () => {
        const last = new Map<string, number>();
        const seen = new Set<number>();
        let reads = 0;
        while (writing) {
          for (const name of NAMES) {
            const g = generationOf(name, await fs.readFile(join(dir, name)));
            assert.ok(g >= (last.get(name) ?? 0), `${name} went back in time`);
            last.set(name, g);
            seen.add(g);
            reads++;
          }
        }
        return { reads, distinct: seen.size };
      };

      const readers = Promise.all([snapshotReader(), snapshotReader(), linkReader(), linkReader()]);
      try {
        for (let g = 1; g <= GENERATIONS; g++) await writer.write(dir, generationFiles(g), { maxBytes: MIB });
      } finally {
        writing = false;
      }
      const [s1, s2, l1, l2] = await readers;
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

import * as assert from 'node:assert/strict';
import * as fs from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { Errors } from '../../../src/errors/catalogue.js';
import { AtomicDirectoryWriter, DATA_LINK_NAME, DATA_LINK_TMP_NAME, readCurrentFiles } from '../../../src/storage/atomic-writer.js';
import type { VolumeFile } from '../../../src/storage/storage.js';
import { assertRejectsWithCode, file, makeTempDir, snapshotTree } from './storage-test-helpers.js';

const LIMIT = { maxBytes: 1024 * 1024 };

void describe('AtomicDirectoryWriter', () => {
  let dir: string;
  // No grace for the previous generation: these tests look at the tree right after each write
  // (the grace has its own tests in test/integration/storage/atomic-writer-tmpfs.test.ts).
  const writer = new AtomicDirectoryWriter({ now: () => new Date(Date.UTC(2026, 0, 2, 3, 4, 5)), previousGenerationGraceMs: 0 });

  beforeEach(async () => {
    dir = await makeTempDir();
  });
  afterEach(async () => {
    await fs.rm(dir, { recursive: true, force: true });
  });

  const generation = () => fs.readlink(join(dir, DATA_LINK_NAME));
  const dotEntries = async () => (await fs.readdir(dir)).filter((name) => name.startsWith('..')).sort();

  void it("lays out kubelet's structure: a timestamped generation, ..data, and one link per top-level name", async () => {
    await writer.write(dir, [file('token', 'T1'), file('certs/tls.crt', 'C1'), file('certs/tls.key', 'K1', 0o600)], LIMIT);

    const gen = await generation();
    assert.match(gen, /^\.\.2026_01_02_03_04_05\.[A-Za-z0-9]{6}$/);
    assert.deepEqual((await fs.readdir(dir)).sort(), [gen, DATA_LINK_NAME, 'certs', 'token'].sort());
    assert.equal(await fs.readlink(join(dir, 'token')), '..data/token');
    assert.equal(await fs.readlink(join(dir, 'certs')), '..data/certs');
    assert.equal(await fs.readFile(join(dir, 'token'), 'utf8'), 'T1');
    assert.equal(await fs.readFile(join(dir, 'certs/tls.key'), 'utf8'), 'K1');
    assert.equal((await fs.stat(join(dir, 'certs/tls.key'))).mode & 0o777, 0o600);
    assert.equal((await fs.stat(join(dir, 'certs'))).mode & 0o777, 0o755);
    assert.equal((await fs.stat(join(dir, gen))).mode & 0o777, 0o755);
  });

  void it("applies each file's mode exactly, whatever the umask", async () => {
    const previous = process.umask(0o077);
    try {
      await writer.write(dir, [file('a', 'a', 0o444), file('b', 'b', 0o640), file('c', 'c', 0o400), file('d', 'd', 0o777)], LIMIT);
    } finally {
      process.umask(previous);
    }
    const modes = await Promise.all(['a', 'b', 'c', 'd'].map(async (name) => (await fs.stat(join(dir, name))).mode & 0o777));
    assert.deepEqual(modes, [0o444, 0o640, 0o400, 0o777]);
  });

  void it('readCurrentFiles returns the published set sorted by path, or undefined for an empty volume', async () => {
    assert.equal(await readCurrentFiles(dir), undefined);
    await writer.write(dir, [file('z', 'Z', 0o600), file('./a/b', 'B')], LIMIT);
    const current = await readCurrentFiles(dir);
    assert.deepEqual(
      current?.map((f) => ({ path: f.path, content: Buffer.from(f.content).toString(), mode: f.mode })),
      [
        { path: 'a/b', content: 'B', mode: 0o644 },
        { path: 'z', content: 'Z', mode: 0o600 },
      ],
    );
  });

  void it('an identical write is a no-op: same generation, same inodes', async () => {
    const files = [file('a', 'A'), file('d/b', 'B', 0o600)];
    await writer.write(dir, files, LIMIT);
    const before = await snapshotTree(dir);
    // Same content in new buffer objects and another order: equality is by value.
    await writer.write(dir, [file('d/b', 'B', 0o600), file('./a', 'A')], LIMIT);
    assert.deepEqual(await snapshotTree(dir), before);
  });

  void it('a change in content, mode or set of files publishes a new generation and removes the old one', async () => {
    await writer.write(dir, [file('a', 'A1'), file('b', 'B1')], LIMIT);
    const first = await generation();

    await writer.write(dir, [file('a', 'A2'), file('b', 'B1')], LIMIT);
    const second = await generation();
    assert.notEqual(second, first);
    assert.deepEqual(await dotEntries(), [second, DATA_LINK_NAME].sort());
    assert.equal(await fs.readFile(join(dir, 'a'), 'utf8'), 'A2');

    await writer.write(dir, [file('a', 'A2', 0o600), file('b', 'B1')], LIMIT);
    const third = await generation();
    assert.notEqual(third, second);
    assert.equal((await fs.stat(join(dir, 'a'))).mode & 0o777, 0o600);

    // `b` leaves, `c/d` arrives: the user-visible names follow.
    await writer.write(dir, [file('a', 'A2', 0o600), file('c/d', 'D')], LIMIT);
    assert.deepEqual((await fs.readdir(dir)).filter((n) => !n.startsWith('..')).sort(), ['a', 'c']);
    assert.equal(await fs.readFile(join(dir, 'c/d'), 'utf8'), 'D');
    assert.equal((await dotEntries()).length, 2);
  });

  void it('a file that becomes a directory keeps working through its link', async () => {
    await writer.write(dir, [file('x', 'file')], LIMIT);
    await writer.write(dir, [file('x/y', 'nested')], LIMIT);
    assert.equal(await fs.readFile(join(dir, 'x/y'), 'utf8'), 'nested');
  });

  void describe('refuses bad input before touching the disk', () => {
    const badPayloads: Array<[string, VolumeFile[]]> = [
      ['an absolute path', [file('ok', '1'), file('/etc/passwd', '2')]],
      ['a .. element', [file('ok', '1'), file('a/../../x', '2')]],
      ['a reserved ..data name', [file('..data', '2')]],
      ['an empty name', [file('', '2')]],
      ['a NUL', [file('a\0b', '2')]],
      ['an empty element', [file('a//b', '2')]],
      ['a backslash', [file('a\\b', '2')]],
      ['an over-long element', [file('n'.repeat(256), '2')]],
      ['a duplicate', [file('ok', '1'), file('./ok', '2')]],
      ['a file that is also a directory', [file('a', '1'), file('a/b', '2')]],
    ];
    for (const [title, payload] of badPayloads) {
      void it(`${title}: CM_FILE_PATH_INVALID, INVALID_ARGUMENT, volume unchanged`, async () => {
        await writer.write(dir, [file('ok', 'old')], LIMIT);
        const before = await snapshotTree(dir);
        await assertRejectsWithCode(() => writer.write(dir, payload, LIMIT), Errors.filePathInvalid.code, 'INVALID_ARGUMENT');
        assert.deepEqual(await snapshotTree(dir), before);
      });
    }

    void it('also on an empty volume: nothing is created', async () => {
      await assertRejectsWithCode(() => writer.write(dir, [file('../x', '1')], LIMIT), Errors.filePathInvalid.code, 'INVALID_ARGUMENT');
      assert.deepEqual(await fs.readdir(dir), []);
    });

    void it('content over maxBytes: CM_CONTENT_TOO_LARGE, volume unchanged', async () => {
      await writer.write(dir, [file('ok', 'old')], LIMIT);
      const before = await snapshotTree(dir);
      await assertRejectsWithCode(() => writer.write(dir, [file('a', 'x'.repeat(600)), file('b', 'y'.repeat(500))], { maxBytes: 1000 }), Errors.contentTooLarge.code, 'INVALID_ARGUMENT');
      assert.deepEqual(await snapshotTree(dir), before);
      // Exactly at the limit is allowed.
      await writer.write(dir, [file('a', 'x'.repeat(500)), file('b', 'y'.repeat(500))], { maxBytes: 1000 });
      assert.equal((await fs.readFile(join(dir, 'b'))).length, 500);
    });

    void it('a bad mode: CM_FIELD_INVALID, volume unchanged', async () => {
      await writer.write(dir, [file('ok', 'old')], LIMIT);
      const before = await snapshotTree(dir);
      await assertRejectsWithCode(() => writer.write(dir, [file('ok', 'new', 0o4755)], LIMIT), Errors.fieldInvalid.code, 'INVALID_ARGUMENT');
      assert.deepEqual(await snapshotTree(dir), before);
    });
  });

  void describe('recovers from a crash at any step', () => {
    void it('orphan generations and a stale ..data_tmp are removed by the next (changing) write', async () => {
      await writer.write(dir, [file('a', 'A1')], LIMIT);
      // Crash during step 5/6 of an earlier write: a half-written generation and a dangling ..data_tmp.
      await fs.mkdir(join(dir, '..2025_01_01_00_00_00.orphan'));
      await fs.writeFile(join(dir, '..2025_01_01_00_00_00.orphan', 'a'), 'half');
      await fs.symlink('..2025_01_01_00_00_00.orphan', join(dir, DATA_LINK_TMP_NAME));

      await writer.write(dir, [file('a', 'A2')], LIMIT);
      assert.deepEqual(await dotEntries(), [await generation(), DATA_LINK_NAME].sort());
      assert.equal(await fs.readFile(join(dir, 'a'), 'utf8'), 'A2');
    });

    void it('leftovers are also removed by an identical write, which keeps the current generation', async () => {
      await writer.write(dir, [file('a', 'A1')], LIMIT);
      const current = await generation();
      // Crash after the rename but before the old generation was removed; ..data_tmp as a directory for good measure.
      await fs.mkdir(join(dir, '..2025_01_01_00_00_00.previous'));
      await fs.mkdir(join(dir, DATA_LINK_TMP_NAME));

      await writer.write(dir, [file('a', 'A1')], LIMIT);
      assert.equal(await generation(), current);
      assert.deepEqual(await dotEntries(), [current, DATA_LINK_NAME].sort());
    });

    void it('missing user-visible links (crash right after the rename) are recreated by an identical write', async () => {
      await writer.write(dir, [file('a', 'A'), file('b/c', 'C')], LIMIT);
      const current = await generation();
      await fs.unlink(join(dir, 'a'));
      await fs.unlink(join(dir, 'b'));

      await writer.write(dir, [file('a', 'A'), file('b/c', 'C')], LIMIT);
      assert.equal(await generation(), current);
      assert.equal(await fs.readFile(join(dir, 'a'), 'utf8'), 'A');
      assert.equal(await fs.readFile(join(dir, 'b/c'), 'utf8'), 'C');
    });

    void it('stale or wrong user-visible entries are replaced or removed', async () => {
      await writer.write(dir, [file('a', 'A')], LIMIT);
      await fs.unlink(join(dir, 'a'));
      await fs.writeFile(join(dir, 'a'), 'impostor'); // a regular file where the link should be
      await fs.symlink('/etc', join(dir, 'gone')); // a name the payload no longer has

      await writer.write(dir, [file('a', 'A')], LIMIT);
      assert.equal(await fs.readlink(join(dir, 'a')), '..data/a');
      assert.deepEqual((await fs.readdir(dir)).filter((n) => !n.startsWith('..')), ['a']);
      // Removing the stale symlink did not follow it.
      await fs.access('/etc');
    });

    void it('a ..data that names a missing generation is replaced by a full new one', async () => {
      await writer.write(dir, [file('a', 'A')], LIMIT);
      await fs.rm(join(dir, await generation()), { recursive: true });

      await writer.write(dir, [file('a', 'A')], LIMIT);
      assert.equal(await fs.readFile(join(dir, 'a'), 'utf8'), 'A');
    });

    void it('a ..data that is a real directory is replaced by the symlink', async () => {
      await fs.mkdir(join(dir, DATA_LINK_NAME));
      await fs.writeFile(join(dir, DATA_LINK_NAME, 'junk'), 'x');

      await writer.write(dir, [file('a', 'A')], LIMIT);
      assert.ok((await fs.lstat(join(dir, DATA_LINK_NAME))).isSymbolicLink());
      assert.equal(await fs.readFile(join(dir, 'a'), 'utf8'), 'A');
    });

    void it('a generation that was tampered with (extra file) is not mistaken for identical content', async () => {
      await writer.write(dir, [file('a', 'A')], LIMIT);
      const current = await generation();
      await fs.writeFile(join(dir, current, 'extra'), 'x');

      await writer.write(dir, [file('a', 'A')], LIMIT);
      assert.notEqual(await generation(), current);
      assert.deepEqual((await readCurrentFiles(dir))?.map((f) => f.path), ['a']);
    });
  });

  void it('reports a missing volume directory as an internal error', async () => {
    await assertRejectsWithCode(() => writer.write(join(dir, 'missing'), [file('a', 'A')], LIMIT), Errors.internal.code, 'INTERNAL');
  });

  void it('accepts an empty payload: the volume holds an empty generation', async () => {
    await writer.write(dir, [file('a', 'A')], LIMIT);
    await writer.write(dir, [], LIMIT);
    assert.deepEqual(await readCurrentFiles(dir), []);
    assert.deepEqual((await fs.readdir(dir)).filter((n) => !n.startsWith('..')), []);
  });
});

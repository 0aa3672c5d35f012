import * as assert from 'node:assert/strict';
import * as fs from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { Errors } from '../../../src/errors/catalogue.js';
import { FileMetadataStore, type MetadataProblem } from '../../../src/storage/metadata-store.js';
import { metadataFileName } from '../../../src/storage/volume-file-name.js';
import { assertRejectsWithCode, makeTempDir, sampleMetadata } from './storage-test-helpers.js';

void describe('FileMetadataStore', () => {
  let stateDir: string;
  let problems: MetadataProblem[];
  let store: FileMetadataStore;

  beforeEach(async () => {
    stateDir = await makeTempDir('credmount-state-');
    problems = [];
    store = new FileMetadataStore(stateDir, { onProblem: (problem) => problems.push(problem) });
  });
  afterEach(async () => {
    await fs.rm(stateDir, { recursive: true, force: true });
  });

  void it('round-trips a record, including absent optional fields', async () => {
    const full = sampleMetadata('csi-0123abcd');
    const sparse = sampleMetadata('csi-4567ef', { mountGroup: undefined, expiresAt: undefined, versions: {}, readOnly: false });
    await store.save(full);
    await store.save(sparse);
    assert.deepEqual(await store.load('csi-0123abcd'), full);
    assert.deepEqual(await store.load('csi-4567ef'), sparse);
    assert.equal(await store.load('csi-unknown'), undefined);
    assert.deepEqual(await store.list(), [full, sparse]);
    assert.deepEqual(problems, []);
  });

  void it('save replaces the record; remove deletes it and is idempotent', async () => {
    await store.save(sampleMetadata('csi-1'));
    await store.save(sampleMetadata('csi-1', { refreshAt: '2026-02-02T00:00:00.000Z' }));
    assert.equal((await store.load('csi-1'))?.refreshAt, '2026-02-02T00:00:00.000Z');
    await store.remove('csi-1');
    assert.equal(await store.load('csi-1'), undefined);
    await store.remove('csi-1');
    assert.deepEqual(await store.list(), []);
  });

  void it('keeps records private: files 0600 in a 0700 directory, even if it existed with a looser mode', async () => {
    await fs.mkdir(join(stateDir, 'volumes'), { mode: 0o755 });
    await fs.chmod(join(stateDir, 'volumes'), 0o755);
    await store.save(sampleMetadata('csi-1'));
    assert.equal((await fs.stat(join(stateDir, 'volumes'))).mode & 0o777, 0o700);
    assert.equal((await fs.stat(join(stateDir, 'volumes', 'csi-1.json'))).mode & 0o777, 0o600);
  });

  void it('names kubelet-style ids plainly, so an operator can find them', async () => {
    await store.save(sampleMetadata('csi-9f86d081884c7d65'));
    assert.deepEqual(await fs.readdir(join(stateDir, 'volumes')), ['csi-9f86d081884c7d65.json']);
  });

  void it('stores any volume id safely: no escape from the directory, no collisions', async () => {
    const ids = [
      '../../etc/passwd',
      'a/b',
      '/abs',
      '.',
      '..',
      '.hidden',
      'with space',
      'ünïcødé',
      'a\0b',
      '@plain-looking',
      `@${Buffer.from('x').toString('base64url')}`, // looks like an encoded name
      'eA', // the base64url of "x": must not collide with the one above
      'x'.repeat(150), // plain but long
      'y/'.repeat(200), // too long to encode: hashed
      'csi-sanity-volume-id-1',
    ];
    for (const id of ids) await store.save(sampleMetadata(id));
    for (const id of ids) assert.equal((await store.load(id))?.volumeId, id, `load ${JSON.stringify(id)}`);
    assert.deepEqual((await store.list()).map((m) => m.volumeId).sort(), [...ids].sort());

    // Exactly one regular file per id, all directly in volumes/, and nothing else anywhere in the state dir.
    const names = await fs.readdir(join(stateDir, 'volumes'), { withFileTypes: true });
    assert.equal(names.length, ids.length);
    assert.ok(names.every((entry) => entry.isFile() && Buffer.byteLength(entry.name) <= 255));
    assert.deepEqual(await fs.readdir(stateDir), ['volumes']);

    for (const id of ids) await store.remove(id);
    assert.deepEqual(await fs.readdir(join(stateDir, 'volumes')), []);
  });

  void it('refuses an empty volume id', async () => {
    await assertRejectsWithCode(() => store.save(sampleMetadata('')), Errors.fieldMissing.code, 'INVALID_ARGUMENT');
    await assertRejectsWithCode(() => store.load(''), Errors.fieldMissing.code, 'INVALID_ARGUMENT');
  });

  void it('save is atomic: concurrent readers only ever see a complete old or new record', async () => {
    await store.save(sampleMetadata('csi-1', { refreshAt: 'v0' }));
    let saving = true;
    const seen = new Set<string>();
    const reader = (async () => {
      while (saving) {
        const loaded = await store.load('csi-1');
        assert.ok(loaded !== undefined, 'the record vanished during a save');
        seen.add(loaded.refreshAt);
      }
    })();
    // save() is synchronous; turning the event loop between saves lets the reader's reads (on the
    // thread pool) run while later saves rename over the record.
    for (let i = 1; i <= 200; i++) {
      await store.save(sampleMetadata('csi-1', { refreshAt: `v${i}`, versions: { big: 'z'.repeat(i * 50) } }));
      await new Promise((resolve) => setImmediate(resolve));
    }
    saving = false;
    await reader;
    assert.deepEqual(problems, [], 'a reader saw a torn record');
    assert.ok(seen.size > 1, 'the reader never observed a save (test did not exercise concurrency)');
    // No temp files left behind.
    assert.deepEqual(await fs.readdir(join(stateDir, 'volumes')), ['csi-1.json']);
  });

  void it('a second store on the directory (a restarted driver, same pid) never picks the first one\'s temporary names', async () => {
    // Both stores count their saves from 1 in one process: names from the pid and a counter alone
    // would collide, and 'wx' would refuse the second save.
    const other = new FileMetadataStore(stateDir, { onProblem: (problem) => problems.push(problem) });
    await Promise.all(Array.from({ length: 10 }, (_, i) => [store.save(sampleMetadata('csi-1', { refreshAt: `a${i}` })), other.save(sampleMetadata('csi-1', { refreshAt: `b${i}` }))]).flat());
    assert.equal((await store.load('csi-1'))?.volumeId, 'csi-1');
    assert.deepEqual(await fs.readdir(join(stateDir, 'volumes')), ['csi-1.json']);
    assert.deepEqual(problems, []);
  });

  void it('ignores temp files a crashed save left behind', async () => {
    await store.save(sampleMetadata('csi-1'));
    await fs.writeFile(join(stateDir, 'volumes', '.csi-1.json.abc123.tmp'), '{"formatVersion": 1, "vol');
    assert.deepEqual((await store.list()).map((m) => m.volumeId), ['csi-1']);
    assert.equal((await store.load('csi-1'))?.volumeId, 'csi-1');
    assert.deepEqual(problems, []);
  });

  void it('list skips corrupt and unreadable records, reports each, and returns the good ones', async () => {
    await store.save(sampleMetadata('csi-good'));
    const dir = join(stateDir, 'volumes');
    await fs.writeFile(join(dir, 'csi-truncated.json'), '{"formatVersion": 1, "volume": {"volumeId": "csi-tr');
    await fs.writeFile(join(dir, 'csi-array.json'), '[]');
    await fs.writeFile(join(dir, 'csi-future.json'), JSON.stringify({ formatVersion: 99, volume: sampleMetadata('csi-future') }));
    const { podName: _podName, ...missingField } = sampleMetadata('csi-missing');
    await fs.writeFile(join(dir, 'csi-missing.json'), JSON.stringify({ formatVersion: 1, volume: missingField }));
    await fs.writeFile(join(dir, 'csi-badtype.json'), JSON.stringify({ formatVersion: 1, volume: { ...sampleMetadata('csi-badtype'), readOnly: 'yes' } }));
    await fs.writeFile(join(dir, 'csi-misplaced.json'), JSON.stringify({ formatVersion: 1, volume: sampleMetadata('csi-other') }));
    await fs.mkdir(join(dir, 'csi-directory.json')); // unreadable: EISDIR
    await fs.writeFile(join(dir, 'README'), 'not a record');

    const listing = await store.listWithProblems();
    assert.deepEqual(listing.volumes.map((m) => m.volumeId), ['csi-good']);
    const reasons = Object.fromEntries(listing.problems.map((p) => [p.file.slice(dir.length + 1), p.reason]));
    assert.deepEqual(Object.keys(reasons).sort(), ['csi-array.json', 'csi-badtype.json', 'csi-directory.json', 'csi-future.json', 'csi-misplaced.json', 'csi-missing.json', 'csi-truncated.json']);
    assert.match(reasons['csi-truncated.json'] ?? '', /^corrupt/);
    assert.match(reasons['csi-future.json'] ?? '', /formatVersion/);
    assert.match(reasons['csi-missing.json'] ?? '', /podName/);
    assert.match(reasons['csi-badtype.json'] ?? '', /readOnly/);
    assert.match(reasons['csi-misplaced.json'] ?? '', /does not match/);
    assert.match(reasons['csi-directory.json'] ?? '', /^unreadable/);

    // list() reports the same problems through the callback instead of throwing.
    assert.deepEqual((await store.list()).map((m) => m.volumeId), ['csi-good']);
    assert.equal(problems.length, 7);
  });

  void it('load treats a corrupt record as absent and reports it', async () => {
    await fs.mkdir(join(stateDir, 'volumes'), { recursive: true });
    await fs.writeFile(join(stateDir, 'volumes', 'csi-bad.json'), 'not json');
    assert.equal(await store.load('csi-bad'), undefined);
    assert.equal(problems.length, 1);
    assert.match(problems[0]?.reason ?? '', /corrupt/);
    // A record whose id differs from its file's is not handed out under the wrong id.
    await fs.writeFile(join(stateDir, 'volumes', 'csi-x.json'), JSON.stringify({ formatVersion: 1, volume: sampleMetadata('csi-y') }));
    assert.equal(await store.load('csi-x'), undefined);
    assert.equal(problems.length, 2);
  });

  void it('list of a store that never saved anything is empty', async () => {
    assert.deepEqual(await store.list(), []);
  });

  void it('metadataFileName is deterministic and injective over tricky ids', () => {
    const ids = ['a', 'A', '@YQ', 'YQ', '.a', '_a', 'a.json', 'a b', 'a/b', 'a_b'];
    const names = ids.map(metadataFileName);
    assert.equal(new Set(names).size, ids.length);
    assert.deepEqual(ids.map(metadataFileName), names);
    assert.ok(names.every((name) => !name.includes('/') && name !== '.json' && !name.startsWith('.')));
  });
});

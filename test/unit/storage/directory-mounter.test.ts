import * as assert from 'node:assert/strict';
import * as fs from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { Errors } from '../../../src/errors/catalogue.js';
import { DirectoryMounter } from '../../../src/storage/directory-mounter.js';
import { assertRejectsWithCode, makeTempDir } from './storage-test-helpers.js';

void describe('DirectoryMounter', () => {
  let parent: string;
  let target: string;
  const mounter = new DirectoryMounter();

  beforeEach(async () => {
    parent = await makeTempDir();
    target = join(parent, 'mount');
  });
  afterEach(async () => {
    await fs.rm(parent, { recursive: true, force: true });
  });

  void it('is of kind directory', () => {
    assert.equal(mounter.kind, 'directory');
  });

  void it('mount creates the target with mode 0755, isMounted follows it', async () => {
    assert.equal(await mounter.isMounted(target), false);
    await mounter.mount(target, { sizeBytes: 1024 });
    assert.equal((await fs.stat(target)).mode & 0o777, 0o755);
    assert.equal(await mounter.isMounted(target), true);
  });

  void it('mount is idempotent and keeps existing content (a republish)', async () => {
    await mounter.mount(target, { sizeBytes: 1024 });
    await fs.writeFile(join(target, 'kept'), 'x');
    await mounter.mount(target, { sizeBytes: 1024 });
    assert.equal(await fs.readFile(join(target, 'kept'), 'utf8'), 'x');
  });

  void it('mount refuses a missing parent without creating anything', async () => {
    const deep = join(parent, 'missing', 'mount');
    await assertRejectsWithCode(() => mounter.mount(deep, { sizeBytes: 1024 }), Errors.mountFailed.code, 'INTERNAL');
    await assert.rejects(() => mounter.mount(deep, { sizeBytes: 1024 }), /parent directory .* does not exist/);
    assert.deepEqual(await fs.readdir(parent), []);
  });

  void it('mount refuses a relative target and a target that is a file', async () => {
    await assertRejectsWithCode(() => mounter.mount('relative/mount', { sizeBytes: 1024 }), Errors.mountFailed.code, 'INTERNAL');
    await fs.writeFile(target, 'x');
    await assertRejectsWithCode(() => mounter.mount(target, { sizeBytes: 1024 }), Errors.mountFailed.code, 'INTERNAL');
  });

  void it('unmount removes the target with its content and is idempotent', async () => {
    await mounter.mount(target, { sizeBytes: 1024 });
    await fs.mkdir(join(target, 'sub'));
    await fs.writeFile(join(target, 'sub', 'f'), 'x');
    await assert.rejects(() => mounter.unmount(target), /not a volume this driver knows/);
    await mounter.unmount(target, { removeContent: true });
    assert.equal(await mounter.isMounted(target), false);
    await assert.rejects(() => fs.lstat(target), { code: 'ENOENT' });
    await mounter.unmount(target);
    await mounter.unmount(join(parent, 'never', 'existed'));
  });
});

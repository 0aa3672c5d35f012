import * as assert from 'node:assert/strict';
import * as fs from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Errors } from '../../../src/errors/catalogue.js';
import { CommandFailedError, runCommand, type CommandRunner } from '../../../src/storage/mount-command.js';
import { readMountInfo, topMountAt } from '../../../src/storage/mount-info.js';
import { TmpfsMounter, tmpfsOptions } from '../../../src/storage/tmpfs-mounter.js';
import { readVolumeUsage } from '../../../src/storage/volume-usage.js';
import { assertRejectsWithCode } from '../../unit/storage/storage-test-helpers.js';
import { cleanupBase, makeBase, mountTmpfs, mountsUnder } from './tmpfs-test-helpers.js';

const MIB = 1024 * 1024;

void describe('TmpfsMounter (real tmpfs)', () => {
  let base: string;
  let n = 0;
  const mounter = new TmpfsMounter();
  /** A fresh target whose parent exists, as kubelet prepares it. */
  const newTarget = async () => {
    const parent = join(base, `pod-${++n}`);
    await fs.mkdir(parent);
    return join(parent, 'mount');
  };

  before(async () => {
    base = await makeBase('credmount-tmpfs-');
  });
  after(async () => {
    await cleanupBase(base);
  });

  void it('is of kind tmpfs', () => {
    assert.equal(mounter.kind, 'tmpfs');
  });

  void it('mounts a tmpfs of the requested size with nosuid,nodev,noexec and mode 0755', async () => {
    const target = await newTarget();
    await mounter.mount(target, { sizeBytes: 2 * MIB });
    assert.equal(await mounter.isMounted(target), true);

    const usage = await readVolumeUsage(target);
    assert.equal(usage.totalBytes, 2 * MIB);
    assert.ok(usage.usedBytes < 64 * 1024);

    const entry = topMountAt(await readMountInfo(), target);
    assert.equal(entry?.fsType, 'tmpfs');
    for (const option of ['nosuid', 'nodev', 'noexec']) assert.ok(entry?.mountOptions.split(',').includes(option), `${option} in ${entry?.mountOptions}`);
    assert.ok(entry?.superOptions.split(',').includes('mode=755'), entry?.superOptions);
    assert.equal((await fs.stat(target)).mode & 0o777, 0o755);
  });

  void it('with a gid, the root of the tmpfs is group-owned by it with mode 0750', async () => {
    const target = await newTarget();
    await mounter.mount(target, { sizeBytes: MIB, gid: 2000 });
    const stats = await fs.stat(target);
    assert.equal(stats.gid, 2000);
    assert.equal(stats.uid, 0);
    assert.equal(stats.mode & 0o777, 0o750);
    assert.ok(topMountAt(await readMountInfo(), target)?.superOptions.split(',').includes('gid=2000'));
  });

  void it('enforces the size: writing past it fails with ENOSPC', async () => {
    const target = await newTarget();
    await mounter.mount(target, { sizeBytes: 256 * 1024 });
    await assert.rejects(() => fs.writeFile(join(target, 'big'), Buffer.alloc(512 * 1024)), { code: 'ENOSPC' });
  });

  void it('mount is idempotent: a second call does not stack another tmpfs over the content', async () => {
    const target = await newTarget();
    await mounter.mount(target, { sizeBytes: MIB });
    await fs.writeFile(join(target, 'content'), 'kept');
    await mounter.mount(target, { sizeBytes: MIB });
    assert.equal(await fs.readFile(join(target, 'content'), 'utf8'), 'kept');
    assert.equal((await readMountInfo()).filter((e) => e.mountPoint === target).length, 1);
  });

  void it('mounts over an existing, unmounted target directory (a restart between mkdir and mount)', async () => {
    const target = await newTarget();
    await fs.mkdir(target);
    await mounter.mount(target, { sizeBytes: MIB });
    assert.equal(await mounter.isMounted(target), true);
  });

  void it('unmount removes the mount and the directory, and is idempotent', async () => {
    const target = await newTarget();
    await mounter.mount(target, { sizeBytes: MIB });
    await fs.writeFile(join(target, 'secret'), 's3cr3t');
    await mounter.unmount(target);
    assert.equal(await mounter.isMounted(target), false);
    await assert.rejects(() => fs.lstat(target), { code: 'ENOENT' });
    await mounter.unmount(target);
    await mounter.unmount(target);
    await mounter.unmount(join(base, 'no-such-pod', 'mount'));
  });

  void it('concurrent unmount calls all succeed', async () => {
    const target = await newTarget();
    await mounter.mount(target, { sizeBytes: MIB });
    await Promise.all([mounter.unmount(target), mounter.unmount(target), mounter.unmount(target)]);
    assert.equal(await mounter.isMounted(target), false);
    await assert.rejects(() => fs.lstat(target), { code: 'ENOENT' });
  });

  void it('unmount removes stacked mounts too', async () => {
    const target = await newTarget();
    await mounter.mount(target, { sizeBytes: MIB });
    await mountTmpfs(target);
    await mountTmpfs(target);
    assert.equal((await readMountInfo()).filter((e) => e.mountPoint === target).length, 3);
    await mounter.unmount(target);
    assert.equal((await readMountInfo()).filter((e) => e.mountPoint === target).length, 0);
    await assert.rejects(() => fs.lstat(target), { code: 'ENOENT' });
  });

  void it('unmount removes a non-mount-point target with content only when the volume is ours', async () => {
    const target = await newTarget();
    await fs.mkdir(target);
    await fs.writeFile(join(target, 'left-on-disk'), 'x');
    await assertRejectsWithCode(() => mounter.unmount(target), Errors.internal.code, 'INTERNAL');
    assert.equal(await fs.readFile(join(target, 'left-on-disk'), 'utf8'), 'x');
    await mounter.unmount(target, { removeContent: true });
    await assert.rejects(() => fs.lstat(target), { code: 'ENOENT' });
  });

  void it('unmount refuses to delete recursively across a mount nested inside the target', async () => {
    const target = await newTarget();
    await fs.mkdir(join(target, 'nested'), { recursive: true });
    await fs.writeFile(join(target, 'file'), 'x');
    await mountTmpfs(join(target, 'nested'));
    await fs.writeFile(join(target, 'nested', 'precious'), 'y');
    await assertRejectsWithCode(() => mounter.unmount(target), Errors.internal.code, 'INTERNAL');
    assert.equal(await fs.readFile(join(target, 'nested', 'precious'), 'utf8'), 'y');
  });

  void it('isMounted: false for a missing path, a plain directory, and a non-tmpfs bind mount', async () => {
    const target = await newTarget();
    assert.equal(await mounter.isMounted(target), false);
    await fs.mkdir(target);
    assert.equal(await mounter.isMounted(target), false);
    const source = join(base, `bind-source-${n}`);
    await fs.mkdir(source);
    await runCommand('mount', ['--bind', source, target]);
    // Same device as the parent: a dev comparison would say "not mounted"; the mount table knows better.
    assert.equal((await fs.stat(target)).dev, (await fs.stat(join(target, '..'))).dev);
    assert.ok(topMountAt(await readMountInfo(), target) !== undefined);
    assert.equal(await mounter.isMounted(target), false, 'a bind mount of ext4 is not our tmpfs');
    // ...and unmount refuses to touch it: only a credmount tmpfs is ever unmounted.
    await assertRejectsWithCode(() => mounter.unmount(target, { removeContent: true }), Errors.internal.code, 'INTERNAL');
    assert.ok(topMountAt(await readMountInfo(), target) !== undefined);
    await runCommand('umount', [target]);
  });

  void it('isMounted resolves symlinks in the path (kubelet root is often a symlink)', async () => {
    const target = await newTarget();
    await mounter.mount(target, { sizeBytes: MIB });
    const alias = join(base, `alias-${n}`);
    await fs.symlink(join(target, '..'), alias);
    assert.equal(await mounter.isMounted(join(alias, 'mount')), true);
    await mounter.unmount(join(alias, 'mount'));
    assert.equal(await mounter.isMounted(target), false);
  });

  void it('refuses a missing parent: clear error, nothing created, nothing mounted', async () => {
    const target = join(base, 'missing-parent', 'mount');
    const before = (await mountsUnder(base)).length;
    await assertRejectsWithCode(() => mounter.mount(target, { sizeBytes: MIB }), Errors.mountFailed.code, 'INTERNAL');
    await assert.rejects(() => mounter.mount(target, { sizeBytes: MIB }), /parent directory .*missing-parent does not exist/);
    await assert.rejects(() => fs.lstat(join(base, 'missing-parent')), { code: 'ENOENT' });
    assert.equal((await mountsUnder(base)).length, before);
  });

  void it('a failed mount removes the directory it created, and keeps one it did not create', async () => {
    const failing: CommandRunner = async (file) => {
      throw new CommandFailedError(file, 32, 'mount: permission denied');
    };
    const broken = new TmpfsMounter({ run: failing });

    const fresh = await newTarget();
    await assertRejectsWithCode(() => broken.mount(fresh, { sizeBytes: MIB }), Errors.mountFailed.code, 'INTERNAL');
    await assert.rejects(() => broken.mount(fresh, { sizeBytes: MIB }), /permission denied/);
    await assert.rejects(() => fs.lstat(fresh), { code: 'ENOENT' });

    const existing = await newTarget();
    await fs.mkdir(existing);
    await assert.rejects(() => broken.mount(existing, { sizeBytes: MIB }));
    assert.ok((await fs.stat(existing)).isDirectory());
  });

  void it('a real mount(8) failure is reported as CM_MOUNT_FAILED with its message', async () => {
    // size=0 is "unlimited" to tmpfs, so provoke a genuine failure with an invalid option value instead.
    const bad = new TmpfsMounter({ run: (file, args) => runCommand(file, args.map((a) => (a.startsWith('size=') ? `${a},nr_inodes=notanumber` : a))) });
    const target = await newTarget();
    await assertRejectsWithCode(() => bad.mount(target, { sizeBytes: MIB }), Errors.mountFailed.code, 'INTERNAL');
    await assert.rejects(() => fs.lstat(target), { code: 'ENOENT' });
  });

  void it('tmpfsOptions validates before anything reaches mount(8)', () => {
    assert.equal(tmpfsOptions('/t', { sizeBytes: 1024 }), 'size=1024,mode=0755,nosuid,nodev,noexec');
    assert.equal(tmpfsOptions('/t', { sizeBytes: 1024, gid: 0 }), 'size=1024,mode=0750,gid=0,nosuid,nodev,noexec');
    for (const [target, options] of [
      ['relative', { sizeBytes: 1024 }],
      ['/t', { sizeBytes: 0 }],
      ['/t', { sizeBytes: 1.5 }],
      ['/t', { sizeBytes: 1024, gid: -1 }],
      ['/t', { sizeBytes: 1024, gid: 1.5 }],
    ] as const) {
      assert.throws(() => tmpfsOptions(target, options), { code: Errors.mountFailed.code });
    }
  });
});

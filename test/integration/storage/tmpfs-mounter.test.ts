import * as assert from 'node:assert/strict';
import * as fs from 'node:fs/promises';
import { createRequire, syncBuiltinESMExports } from 'node:module';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Errors } from '../../../src/errors/catalogue.js';
import { loadLibc, type LibcLoadResult, type LibcMount } from '../../../src/storage/linux-mount-syscalls.js';
import { CommandFailedError, runCommand, type CommandRunner } from '../../../src/storage/mount-command.js';
import { MOUNT_INFO_PATH, readMountInfo, topMountAt } from '../../../src/storage/mount-info.js';
import { TmpfsMounter, tmpfsData, tmpfsOptions, type MountMechanism, type TmpfsMounterOptions } from '../../../src/storage/tmpfs-mounter.js';
import { readVolumeUsage } from '../../../src/storage/volume-usage.js';
import { assertRejectsWithCode } from '../../unit/storage/storage-test-helpers.js';
import { cleanupBase, makeBase, makeNonTmpfsDir, mountTmpfs, mountsUnder } from './tmpfs-test-helpers.js';

const MIB = 1024 * 1024;
const EPERM = 1;
/** statfs(2)'s f_type of tmpfs — and of devtmpfs (linux/magic.h). */
const TMPFS_MAGIC = 0x01021994;

/** The real libc, for tests that wrap it; the syscall tests need it loaded. */
function realLibc(): LibcMount {
  const loaded = loadLibc();
  if ('unavailable' in loaded) throw new Error(`mount(2) unavailable on this machine: ${loaded.unavailable}`);
  return loaded.libc;
}
const libcWith = (libc: LibcMount) => (): LibcLoadResult => ({ libc, library: 'test' });

const nodeFs = createRequire(import.meta.url)('node:fs') as typeof import('node:fs');
/** How often `work` reads this process's mount table (node:fs's readFileSync of /proc/self/mountinfo). */
async function mountTableReads(work: () => Promise<unknown>): Promise<number> {
  const original = nodeFs.readFileSync;
  let reads = 0;
  nodeFs.readFileSync = ((path: unknown, ...rest: unknown[]) => {
    if (path === MOUNT_INFO_PATH) reads += 1;
    return (original as (...args: unknown[]) => unknown)(path, ...rest);
  }) as typeof original;
  syncBuiltinESMExports(); // the driver's `import { readFileSync } from 'node:fs'` sees it too
  try {
    await work();
  } finally {
    nodeFs.readFileSync = original;
    syncBuiltinESMExports();
  }
  return reads;
}

/**
 * How each mechanism is made to fail for the cleanup tests: mount(8) through its command runner,
 * the syscalls through the libc binding.
 */
const failing: Record<MountMechanism, TmpfsMounterOptions> = {
  'mount(8)': {
    mechanism: 'mount(8)',
    run: (async (file) => {
      throw new CommandFailedError(file, 32, 'mount: permission denied');
    }) satisfies CommandRunner,
  },
  syscall: { mechanism: 'syscall', loadLibc: libcWith({ mount: () => EPERM, umount2: () => EPERM }) },
};
/** A genuine failure from the kernel: tmpfs refuses nr_inodes=notanumber (size=0 would just mean "unlimited"). */
const invalidOption: Record<MountMechanism, TmpfsMounterOptions> = {
  'mount(8)': { mechanism: 'mount(8)', run: (file, args) => runCommand(file, args.map((a) => (a.startsWith('size=') ? `${a},nr_inodes=notanumber` : a))) },
  syscall: {
    mechanism: 'syscall',
    loadLibc: () => {
      const libc = realLibc();
      return libcWith({ ...libc, mount: (source, target, fstype, flags, data) => libc.mount(source, target, fstype, flags, `${data},nr_inodes=notanumber`) })();
    },
  },
};

for (const mechanism of ['syscall', 'mount(8)'] as const) {
  void describe(`TmpfsMounter (real tmpfs, ${mechanism})`, () => {
    let base: string;
    let n = 0;
    const mounter = new TmpfsMounter({ mechanism });
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

    void it('is of kind tmpfs, mounted by the requested mechanism', () => {
      assert.equal(mounter.kind, 'tmpfs');
      assert.equal(mounter.mechanism, mechanism);
      assert.equal(mounter.fallbackReason, undefined);
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

    void it('isMounted: false for a missing path, a plain directory, and a non-tmpfs bind mount', async (t) => {
      const target = await newTarget();
      assert.equal(await mounter.isMounted(target), false);
      await fs.mkdir(target);
      assert.equal(await mounter.isMounted(target), false);
      const source = await makeNonTmpfsDir(`credmount-bind-source-${n}-`);
      if (source === undefined) return t.skip('no writable directory outside tmpfs for the bind mount');
      try {
        await runCommand('mount', ['--bind', source, target]);
        assert.notEqual(topMountAt(await readMountInfo(), target)?.fsType, 'tmpfs');
        assert.equal(await mounter.isMounted(target), false, 'a bind mount of a disk file system is not our tmpfs');
        // ...and unmount refuses to touch it: only a credmount tmpfs is ever unmounted.
        await assertRejectsWithCode(() => mounter.unmount(target, { removeContent: true }), Errors.internal.code, 'INTERNAL');
        assert.ok(topMountAt(await readMountInfo(), target) !== undefined);
        await runCommand('umount', [target]);
      } finally {
        await fs.rm(source, { recursive: true, force: true });
      }
    });

    void it('isMounted: false for a bind mount from the same file system (the same device as its parent)', async () => {
      const target = await newTarget();
      await fs.mkdir(target);
      const source = join(base, `bind-source-${n}`);
      await fs.mkdir(source);
      await runCommand('mount', ['--bind', source, target]);
      // Same device as the parent: a dev comparison would say "not mounted"; the mount table knows better.
      assert.equal((await fs.stat(target)).dev, (await fs.stat(join(target, '..'))).dev);
      assert.ok(topMountAt(await readMountInfo(), target) !== undefined);
      if (topMountAt(await readMountInfo(), target)?.fsType !== 'tmpfs') {
        assert.equal(await mounter.isMounted(target), false, 'a bind mount of the base (not tmpfs) is not our tmpfs');
      }
      await runCommand('umount', [target]);
    });

    void it('unmount takes our tmpfs off a foreign mount below it, then refuses to remove the directory, leaving the foreign mount', async (t) => {
      const target = await newTarget();
      await fs.mkdir(target);
      const source = await makeNonTmpfsDir(`credmount-bind-below-${n}-`);
      if (source === undefined) return t.skip('no writable directory outside tmpfs for the foreign mount');
      try {
        await fs.writeFile(join(source, 'theirs'), 'z');
        await runCommand('mount', ['--bind', source, target]);
        await mountTmpfs(target);
        // statfs after the umount says "not tmpfs", so the table is not read again; the directory
        // is still a mount point, so removing it fails rather than touching what is below.
        await assertRejectsWithCode(() => mounter.unmount(target, { removeContent: true }), Errors.internal.code, 'INTERNAL');
        assert.equal(topMountAt(await readMountInfo(), target)?.fsType === 'tmpfs', false);
        assert.equal(await fs.readFile(join(target, 'theirs'), 'utf8'), 'z');
        await runCommand('umount', [target]);
      } finally {
        await fs.rm(source, { recursive: true, force: true });
      }
    });

    void it('a volume in service is found and unmounted without reading the mount table', async () => {
      // After the unmount, a base directory that is itself on tmpfs (a tmpfs /tmp) needs the
      // table once to tell "nothing mounted here" from a mount of its own tmpfs.
      const baseOnTmpfs = (await fs.statfs(base)).type === TMPFS_MAGIC ? 1 : 0;
      const target = await newTarget();
      await mounter.mount(target, { sizeBytes: MIB });
      assert.equal(await mountTableReads(async () => assert.equal(await mounter.isMounted(target), true)), 0);
      assert.equal(await mountTableReads(() => mounter.unmount(target)), baseOnTmpfs);
      assert.equal(topMountAt(await readMountInfo(), target), undefined);
      await assert.rejects(() => fs.lstat(target), { code: 'ENOENT' });

      // A tmpfs someone else stacked on it is looked up (once), then both come off.
      const stacked = await newTarget();
      await mounter.mount(stacked, { sizeBytes: MIB });
      await mountTmpfs(stacked);
      assert.equal(await mountTableReads(() => mounter.unmount(stacked)), 1 + baseOnTmpfs);
      assert.equal(topMountAt(await readMountInfo(), stacked), undefined);

      // What statfs and stat cannot settle still goes to the table (and the count sees it).
      const outer = await newTarget();
      await mounter.mount(outer, { sizeBytes: MIB });
      await fs.mkdir(join(outer, 'inner'));
      assert.equal(await mountTableReads(async () => assert.equal(await mounter.isMounted(join(outer, 'inner')), false)), 1);
      await mounter.unmount(outer);
    });

    void it('a volume mounted before the driver restarted is confirmed by the table once, then known', async () => {
      const target = await newTarget();
      await mounter.mount(target, { sizeBytes: MIB });
      const restarted = new TmpfsMounter({ mechanism });
      assert.equal(await mountTableReads(async () => assert.equal(await restarted.isMounted(target), true)), 1);
      assert.equal(await mountTableReads(async () => assert.equal(await restarted.isMounted(target), true)), 0);
      await restarted.unmount(target);
      assert.equal(await mounter.isMounted(target), false);
    });

    void it('devtmpfs at a target (statfs calls it tmpfs) is not a volume: found not mounted, and never unmounted', async () => {
      const target = await newTarget();
      await fs.mkdir(target);
      await runCommand('mount', ['-t', 'devtmpfs', 'devtmpfs', target]);
      try {
        assert.equal((await fs.statfs(target)).type, TMPFS_MAGIC, 'the same f_type as tmpfs');
        assert.equal(await mounter.isMounted(target), false);
        await assertRejectsWithCode(() => mounter.unmount(target, { removeContent: true }), Errors.internal.code, 'INTERNAL');
        await assert.rejects(() => mounter.unmount(target), /a devtmpfs filesystem is mounted there/);
        assert.equal(topMountAt(await readMountInfo(), target)?.fsType, 'devtmpfs');
      } finally {
        await runCommand('umount', [target]);
      }
    });

    void it('a tmpfs bind-mounted from a directory of the parent\'s own tmpfs (same device) is still found through the table', async () => {
      const outer = await newTarget();
      await mounter.mount(outer, { sizeBytes: MIB });
      const source = join(outer, 'source');
      const target = join(outer, 'target');
      await fs.mkdir(source);
      await fs.mkdir(target);
      await runCommand('mount', ['--bind', source, target]);
      assert.equal((await fs.stat(target)).dev, (await fs.stat(outer)).dev);
      assert.equal(await mountTableReads(async () => assert.equal(await mounter.isMounted(target), true)), 1);
      await mounter.unmount(target);
      assert.equal(topMountAt(await readMountInfo(), target), undefined);
      await mounter.unmount(outer);
    });

    void it('isMounted: false for a plain directory inside another tmpfs (statfs says tmpfs, the table decides)', async () => {
      const outer = await newTarget();
      await mounter.mount(outer, { sizeBytes: MIB });
      const inner = join(outer, 'inner');
      await fs.mkdir(inner);
      assert.equal(await mounter.isMounted(inner), false);
      await mountTmpfs(inner);
      assert.equal(await mounter.isMounted(inner), true);
      await mounter.unmount(inner);
      await mounter.unmount(outer);
      assert.equal(await mounter.isMounted(outer), false);
    });

    void it('mounts, finds and unmounts a target whose path the mount table escapes (space, tab, backslash)', async () => {
      const parent = join(base, `odd name\tand\\slash-${++n}`);
      await fs.mkdir(parent);
      const target = join(parent, 'mount');
      await mounter.mount(target, { sizeBytes: MIB });
      assert.equal(await mounter.isMounted(target), true);
      assert.equal(topMountAt(await readMountInfo(), target)?.fsType, 'tmpfs');
      await mounter.unmount(target);
      assert.equal(await mounter.isMounted(target), false);
      assert.equal(topMountAt(await readMountInfo(), target), undefined);
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

    void it('refuses a parent that is not a directory: clear error, nothing mounted', async () => {
      const file = join(base, `file-parent-${++n}`);
      await fs.writeFile(file, 'x');
      const before = (await mountsUnder(base)).length;
      await assertRejectsWithCode(() => mounter.mount(join(file, 'mount'), { sizeBytes: MIB }), Errors.mountFailed.code, 'INTERNAL');
      await assert.rejects(() => mounter.mount(join(file, 'mount'), { sizeBytes: MIB }), /the parent .*file-parent-\d+ is not a directory/);
      assert.equal(await fs.readFile(file, 'utf8'), 'x');
      assert.equal((await mountsUnder(base)).length, before);
    });

    void it('mounts a target it creates without reading the mount table; an existing one is checked against it', async () => {
      // A table that cannot be read: any look at it fails the mount.
      const blind = new TmpfsMounter({ mechanism, mountInfoPath: join(base, 'no-such-mountinfo') });
      const fresh = await newTarget();
      await blind.mount(fresh, { sizeBytes: MIB });
      assert.equal(await mounter.isMounted(fresh), true);
      // Already there: only the table can tell whether it is mounted, so now it is read.
      await assert.rejects(() => blind.mount(fresh, { sizeBytes: MIB }), { code: 'ENOENT' });
      await mounter.unmount(fresh);
      assert.equal(await mounter.isMounted(fresh), false);
    });

    void it('a failed mount removes the directory it created, and keeps one it did not create', async () => {
      const broken = new TmpfsMounter(failing[mechanism]);

      const fresh = await newTarget();
      await assertRejectsWithCode(() => broken.mount(fresh, { sizeBytes: MIB }), Errors.mountFailed.code, 'INTERNAL');
      await assert.rejects(() => broken.mount(fresh, { sizeBytes: MIB }), mechanism === 'syscall' ? /mount\(2\) failed: EPERM \(operation not permitted\)/ : /permission denied/);
      await assert.rejects(() => fs.lstat(fresh), { code: 'ENOENT' });

      const existing = await newTarget();
      await fs.mkdir(existing);
      await assert.rejects(() => broken.mount(existing, { sizeBytes: MIB }));
      assert.ok((await fs.stat(existing)).isDirectory());
    });

    void it(`a real ${mechanism === 'syscall' ? 'mount(2)' : 'mount(8)'} failure is reported as CM_MOUNT_FAILED with its message`, async () => {
      const bad = new TmpfsMounter(invalidOption[mechanism]);
      const target = await newTarget();
      await assertRejectsWithCode(() => bad.mount(target, { sizeBytes: MIB }), Errors.mountFailed.code, 'INTERNAL');
      if (mechanism === 'syscall') await assert.rejects(() => bad.mount(target, { sizeBytes: MIB }), /mount\(2\) failed: EINVAL/);
      await assert.rejects(() => fs.lstat(target), { code: 'ENOENT' });
    });

    void it('an unmount failure is CM_INTERNAL and leaves the mount and its content in place', async () => {
      const target = await newTarget();
      await mounter.mount(target, { sizeBytes: MIB });
      await fs.writeFile(join(target, 'secret'), 'kept');
      const broken = new TmpfsMounter(failing[mechanism]);
      await assertRejectsWithCode(() => broken.unmount(target), Errors.internal.code, 'INTERNAL');
      if (mechanism === 'syscall') await assert.rejects(() => broken.unmount(target), /umount2\(2\) failed: EPERM/);
      assert.equal(await fs.readFile(join(target, 'secret'), 'utf8'), 'kept');
      await mounter.unmount(target);
    });

    void it('tmpfsOptions validates before anything reaches mount(8) or mount(2)', () => {
      assert.equal(tmpfsOptions('/t', { sizeBytes: 1024 }), 'size=1024,mode=0755,nosuid,nodev,noexec');
      assert.equal(tmpfsOptions('/t', { sizeBytes: 1024, gid: 0 }), 'size=1024,mode=0750,gid=0,nosuid,nodev,noexec');
      assert.equal(tmpfsData('/t', { sizeBytes: 1024, gid: 0 }), 'size=1024,mode=0750,gid=0');
      for (const [target, options] of [
        ['relative', { sizeBytes: 1024 }],
        ['/t', { sizeBytes: 0 }],
        ['/t', { sizeBytes: 1.5 }],
        ['/t', { sizeBytes: 1024, gid: -1 }],
        ['/t', { sizeBytes: 1024, gid: 1.5 }],
      ] as const) {
        assert.throws(() => tmpfsOptions(target, options), { code: Errors.mountFailed.code });
        assert.throws(() => tmpfsData(target, options), { code: Errors.mountFailed.code });
      }
    });
  });
}

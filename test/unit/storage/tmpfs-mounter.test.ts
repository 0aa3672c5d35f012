import * as assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import * as fs from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { Errors } from '../../../src/errors/catalogue.js';
import { TMPFS_MOUNT_FLAGS, UMOUNT_NOFOLLOW, type LibcLoadResult, type LibcMount } from '../../../src/storage/linux-mount-syscalls.js';
import type { CommandRunner } from '../../../src/storage/mount-command.js';
import { TmpfsMounter } from '../../../src/storage/tmpfs-mounter.js';
import { assertRejectsWithCode, makeTempDir } from './storage-test-helpers.js';

/**
 * The choice between mount(2) and mount(8), and what each is handed, with fakes in place of the
 * kernel: no root needed. The real mounts are in test/integration/storage/tmpfs-mounter.test.ts,
 * run once per mechanism.
 */

const EPERM = 1;
const EINVAL = 22;
const MIB = 1024 * 1024;

void describe('TmpfsMounter mechanism', () => {
  let dir: string;
  let mountInfo: string;
  let target: string;
  /** What each mechanism was asked to do. */
  let calls: string[];

  /** A fake mount table: `mounted` lists the tmpfs mount points. */
  const setMounted = (...mounted: string[]) =>
    writeFileSync(mountInfo, mounted.map((point, i) => `${100 + i} 1 0:${50 + i} / ${point} rw,nosuid,nodev,noexec,relatime - tmpfs tmpfs rw,size=1024k\n`).join(''));

  /** A libc that records its calls and keeps the fake mount table in step. */
  const libc: LibcMount = {
    mount: (source, mountPoint, fstype, flags, data) => {
      calls.push(`mount(${source}, ${mountPoint}, ${fstype}, ${flags}, ${data})`);
      setMounted(mountPoint);
      return 0;
    },
    umount2: (mountPoint, flags) => {
      calls.push(`umount2(${mountPoint}, ${flags})`);
      setMounted();
      return 0;
    },
  };
  const run: CommandRunner = async (file, args) => {
    calls.push(`${file} ${args.join(' ')}`);
    if (file === 'mount') setMounted(args[args.length - 1] ?? '');
    else setMounted();
  };
  const available = (): LibcLoadResult => ({ libc, library: 'fake' });
  const unavailable = (): LibcLoadResult => ({ unavailable: 'no libc.so.6 here' });

  beforeEach(async () => {
    dir = await fs.realpath(await makeTempDir());
    mountInfo = join(dir, 'mountinfo');
    target = join(dir, 'mount');
    calls = [];
    setMounted();
  });
  afterEach(async () => {
    await fs.rm(dir, { recursive: true, force: true });
  });

  void it('auto (the default) uses the syscalls when libc loads: mount(2) with the three flags, never mount(8)', async () => {
    const mounter = new TmpfsMounter({ loadLibc: available, run, mountInfoPath: mountInfo });
    assert.equal(mounter.mechanism, 'syscall');
    assert.equal(mounter.fallbackReason, undefined);
    await mounter.mount(target, { sizeBytes: MIB, gid: 2000 });
    assert.equal(await mounter.isMounted(target), true);
    await mounter.unmount(target);
    assert.deepEqual(calls, [`mount(tmpfs, ${target}, tmpfs, ${TMPFS_MOUNT_FLAGS}, size=${MIB},mode=0750,gid=2000)`, `umount2(${target}, ${UMOUNT_NOFOLLOW})`]);
    await assert.rejects(() => fs.lstat(target), { code: 'ENOENT' });
  });

  void it('auto falls back to mount(8) when libc cannot be loaded, and says why', async () => {
    const mounter = new TmpfsMounter({ loadLibc: unavailable, run, mountInfoPath: mountInfo });
    assert.equal(mounter.mechanism, 'mount(8)');
    assert.equal(mounter.fallbackReason, 'no libc.so.6 here');
    await mounter.mount(target, { sizeBytes: MIB });
    await mounter.unmount(target);
    assert.deepEqual(calls, [`mount -t tmpfs -o size=${MIB},mode=0755,nosuid,nodev,noexec tmpfs ${target}`, `umount ${target}`]);
  });

  void it('mount(8) forced: libc is never loaded', async () => {
    const mounter = new TmpfsMounter({ mechanism: 'mount(8)', loadLibc: () => assert.fail('libc must not be loaded'), run, mountInfoPath: mountInfo });
    assert.equal(mounter.mechanism, 'mount(8)');
    assert.equal(mounter.fallbackReason, undefined);
    await mounter.mount(target, { sizeBytes: MIB });
    assert.equal(calls.length, 1);
  });

  void it('syscall forced where libc cannot load: mounts fail with the reason, leaving nothing behind', async () => {
    const mounter = new TmpfsMounter({ mechanism: 'syscall', loadLibc: unavailable, run, mountInfoPath: mountInfo });
    assert.equal(mounter.mechanism, 'syscall');
    assert.equal(mounter.fallbackReason, 'no libc.so.6 here');
    await assertRejectsWithCode(() => mounter.mount(target, { sizeBytes: MIB }), Errors.mountFailed.code, 'INTERNAL');
    await assert.rejects(() => mounter.mount(target, { sizeBytes: MIB }), /mount\(2\) is unavailable: no libc\.so\.6 here/);
    await assert.rejects(() => fs.lstat(target), { code: 'ENOENT' });
    assert.deepEqual(calls, [], 'no fallback to mount(8) when syscalls were asked for');
  });

  void it('is decided lazily and once: nothing is loaded by the constructor, the loader runs once', async () => {
    let loads = 0;
    const mounter = new TmpfsMounter({
      loadLibc: () => {
        loads++;
        return available();
      },
      mountInfoPath: mountInfo,
    });
    assert.equal(loads, 0);
    await mounter.mount(target, { sizeBytes: MIB });
    assert.equal(mounter.mechanism, 'syscall');
    await mounter.unmount(target);
    await mounter.mount(target, { sizeBytes: MIB });
    assert.equal(loads, 1);
  });

  void it('validates the options before loading anything or touching the disk', async () => {
    const mounter = new TmpfsMounter({ loadLibc: () => assert.fail('libc must not be loaded'), mountInfoPath: mountInfo });
    await assertRejectsWithCode(() => mounter.mount(target, { sizeBytes: 0 }), Errors.mountFailed.code, 'INTERNAL');
    await assertRejectsWithCode(() => mounter.mount('relative/mount', { sizeBytes: MIB }), Errors.mountFailed.code, 'INTERNAL');
    await assert.rejects(() => fs.lstat(target), { code: 'ENOENT' });
  });

  void it('syscall unmount: a lost race (EINVAL, nothing mounted any more) is success', async () => {
    setMounted(target);
    await fs.mkdir(target);
    const racing: LibcMount = {
      ...libc,
      umount2: () => {
        setMounted(); // another unmount got there first
        return EINVAL;
      },
    };
    const mounter = new TmpfsMounter({ loadLibc: () => ({ libc: racing, library: 'fake' }), mountInfoPath: mountInfo });
    await mounter.unmount(target);
    await assert.rejects(() => fs.lstat(target), { code: 'ENOENT' });
  });

  void it('syscall unmount: EPERM is CM_INTERNAL and the directory is kept', async () => {
    setMounted(target);
    await fs.mkdir(target);
    const mounter = new TmpfsMounter({ loadLibc: () => ({ libc: { ...libc, umount2: () => EPERM }, library: 'fake' }), mountInfoPath: mountInfo });
    await assertRejectsWithCode(() => mounter.unmount(target), Errors.internal.code, 'INTERNAL');
    await assert.rejects(() => mounter.unmount(target), /umount2\(2\) failed: EPERM/);
    assert.ok((await fs.stat(target)).isDirectory());
  });

  void it('syscall unmount that never takes effect stops after a bounded number of attempts', async () => {
    setMounted(target);
    await fs.mkdir(target);
    let attempts = 0;
    const stuck: LibcMount = {
      ...libc,
      umount2: () => {
        attempts++;
        return EINVAL; // e.g. the last component became a symlink: UMOUNT_NOFOLLOW refuses to follow it
      },
    };
    const mounter = new TmpfsMounter({ loadLibc: () => ({ libc: stuck, library: 'fake' }), mountInfoPath: mountInfo });
    await assert.rejects(() => mounter.unmount(target), /still mounted after 8 attempts/);
    assert.equal(attempts, 8);
  });
});

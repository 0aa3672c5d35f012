import * as assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import * as fs from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { Errors } from '../../../src/errors/catalogue.js';
import { mountTmpfs, unmount } from '../../../src/storage/linux-mount-syscalls.js';
import { readMountInfo, topMountAt } from '../../../src/storage/mount-info.js';
import { readVolumeUsage } from '../../../src/storage/volume-usage.js';
import { assertThrowsWithCode } from '../../unit/storage/storage-test-helpers.js';
import { cleanupBase, makeBase } from './tmpfs-test-helpers.js';

/** mount(2)/umount2(2) against the real kernel (as root), through the process-wide libc binding. */

const MIB = 1024 * 1024;
const run = promisify(execFile);
const mountsAt = async (path: string) => (await readMountInfo()).filter((entry) => entry.mountPoint === path).length;

void describe('linux mount syscalls (real kernel)', () => {
  let base: string;
  let n = 0;
  const newDir = async () => {
    const dir = join(base, `dir-${++n}`);
    await fs.mkdir(dir);
    return dir;
  };

  before(async () => {
    base = await makeBase('credmount-syscalls-');
  });
  after(async () => {
    await cleanupBase(base);
  });

  void it('mounts a tmpfs with nosuid,nodev,noexec from the flags and size/mode/gid from the data', async () => {
    const dir = await newDir();
    mountTmpfs(dir, `size=${MIB},mode=0750,gid=2000`);
    const entry = topMountAt(await readMountInfo(), dir);
    assert.equal(entry?.fsType, 'tmpfs');
    assert.equal(entry?.source, 'tmpfs');
    for (const option of ['nosuid', 'nodev', 'noexec']) assert.ok(entry?.mountOptions.split(',').includes(option), `${option} in ${entry?.mountOptions}`);
    for (const option of ['mode=750', 'gid=2000']) assert.ok(entry?.superOptions.split(',').includes(option), `${option} in ${entry?.superOptions}`);
    assert.equal((await readVolumeUsage(dir)).totalBytes, MIB);
    assert.equal(unmount(dir), true);
    assert.equal(await mountsAt(dir), 0);
  });

  void it('mounting on a missing directory: CM_MOUNT_FAILED with ENOENT in the message', async () => {
    const missing = join(base, 'missing', 'mount');
    assertThrowsWithCode(() => mountTmpfs(missing, 'size=1m'), Errors.mountFailed.code, 'INTERNAL');
    assert.throws(() => mountTmpfs(missing, 'size=1m'), { message: `mounting a tmpfs at ${missing} failed: mount(2) failed: ENOENT (no such file or directory)` });
  });

  void it('invalid tmpfs data is EINVAL from the kernel', async () => {
    const dir = await newDir();
    assert.throws(() => mountTmpfs(dir, 'size=1m,nr_inodes=notanumber'), /mount\(2\) failed: EINVAL/);
    assert.equal(await mountsAt(dir), 0);
  });

  void it('unmount of a directory that is not a mount point, or of a missing path, succeeds and reports false', async () => {
    const dir = await newDir();
    assert.equal(unmount(dir), false);
    assert.equal(unmount(join(base, 'no-such-dir')), false);
  });

  void it('unmount takes one stacked mount at a time', async () => {
    const dir = await newDir();
    mountTmpfs(dir, 'size=1m');
    mountTmpfs(dir, 'size=1m');
    assert.equal(await mountsAt(dir), 2);
    assert.equal(unmount(dir), true);
    assert.equal(await mountsAt(dir), 1);
    assert.equal(unmount(dir), true);
    assert.equal(unmount(dir), false);
  });

  void it('a busy tmpfs is EBUSY (no lazy detach by default); detach: true unmounts it anyway', async () => {
    const dir = await newDir();
    mountTmpfs(dir, 'size=1m');
    const handle = await fs.open(join(dir, 'held-open'), 'w');
    try {
      assertThrowsWithCode(() => unmount(dir), Errors.internal.code, 'INTERNAL');
      assert.throws(() => unmount(dir), /umount2\(2\) failed: EBUSY/);
      assert.equal(await mountsAt(dir), 1);
      assert.equal(unmount(dir, { detach: true }), true);
      assert.equal(await mountsAt(dir), 0);
    } finally {
      await handle.close();
    }
  });

  void it('does not follow a symlink to a mount point: nothing is unmounted through it', async () => {
    const dir = await newDir();
    mountTmpfs(dir, 'size=1m');
    const link = join(base, `link-${n}`);
    await fs.symlink(dir, link);
    assert.equal(unmount(link), false);
    assert.equal(await mountsAt(dir), 1);
    assert.equal(unmount(dir), true);
  });

  void it('without CAP_SYS_ADMIN, mount is EPERM', { skip: process.getuid?.() !== 0 && 'needs root to switch to an unprivileged user' }, async () => {
    const dir = await newDir();
    await fs.chmod(base, 0o755);
    const module = fileURLToPath(new URL('../../../src/storage/linux-mount-syscalls.js', import.meta.url));
    const script = `import(${JSON.stringify(module)}).then((m) => { try { m.mountTmpfs(${JSON.stringify(dir)}, 'size=1m'); console.log('mounted'); } catch (e) { console.log(e.code, e.cause?.code, e.message); } });`;
    const { stdout } = await run(process.execPath, ['-e', script], { uid: 65534, gid: 65534 });
    assert.match(stdout, /^CM_MOUNT_FAILED EPERM mounting a tmpfs at .* failed: mount\(2\) failed: EPERM \(operation not permitted\)/);
    assert.equal(await mountsAt(dir), 0);
  });
});

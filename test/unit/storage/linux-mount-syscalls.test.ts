import * as assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Errors } from '../../../src/errors/catalogue.js';
import { isCredmountError } from '../../../src/errors/credmount-error.js';
import {
  describeErrno,
  LinuxMountSyscalls,
  loadLibc,
  MNT_DETACH,
  SyscallError,
  TMPFS_MOUNT_FLAGS,
  tryLoadLibc,
  UMOUNT_NOFOLLOW,
  type LibcMount,
} from '../../../src/storage/linux-mount-syscalls.js';
import { assertThrowsWithCode } from './storage-test-helpers.js';

// Linux errno values (asm-generic/errno-base.h).
const EPERM = 1;
const ENOENT = 2;
const EBUSY = 16;
const EINVAL = 22;

interface Call {
  readonly fn: 'mount' | 'umount2';
  readonly args: readonly unknown[];
}

/** A libc whose calls return the given errnos in turn (0 = success) and are recorded. */
function fakeLibc(...errnos: number[]): { libc: LibcMount; calls: Call[] } {
  const calls: Call[] = [];
  const next = () => errnos.shift() ?? 0;
  return {
    calls,
    libc: {
      mount: (...args) => {
        calls.push({ fn: 'mount', args });
        return next();
      },
      umount2: (...args) => {
        calls.push({ fn: 'umount2', args });
        return next();
      },
    },
  };
}

/** The SyscallError behind a CredmountError thrown by `action`. */
function causeOf(action: () => unknown): SyscallError {
  try {
    action();
  } catch (error) {
    assert.ok(isCredmountError(error), String(error));
    assert.ok(error.cause instanceof SyscallError, `cause: ${String(error.cause)}`);
    return error.cause;
  }
  assert.fail('did not throw');
}

void describe('LinuxMountSyscalls', () => {
  void it('mounts a tmpfs with MS_NOSUID|MS_NODEV|MS_NOEXEC and passes the data string unchanged', () => {
    const { libc, calls } = fakeLibc(0);
    new LinuxMountSyscalls(libc).mountTmpfs('/pods/a/mount', 'size=1024,mode=0750,gid=2000');
    assert.equal(TMPFS_MOUNT_FLAGS, 0x2 | 0x4 | 0x8);
    assert.deepEqual(calls, [{ fn: 'mount', args: ['tmpfs', '/pods/a/mount', 'tmpfs', TMPFS_MOUNT_FLAGS, 'size=1024,mode=0750,gid=2000'] }]);
  });

  void it('a failed mount is CM_MOUNT_FAILED naming the target and the errno, with a SyscallError cause', () => {
    for (const [errno, name] of [
      [EPERM, 'EPERM'],
      [ENOENT, 'ENOENT'],
      [EBUSY, 'EBUSY'],
      [EINVAL, 'EINVAL'],
    ] as const) {
      const syscalls = new LinuxMountSyscalls(fakeLibc(errno, errno).libc);
      assertThrowsWithCode(() => syscalls.mountTmpfs('/pods/a/mount', 'size=1'), Errors.mountFailed.code, 'INTERNAL');
      const cause = causeOf(() => syscalls.mountTmpfs('/pods/a/mount', 'size=1'));
      assert.equal(cause.code, name);
      assert.equal(cause.errno, errno);
      assert.equal(cause.syscall, 'mount(2)');
      assert.equal(cause.path, '/pods/a/mount');
    }
    const syscalls = new LinuxMountSyscalls(fakeLibc(EPERM).libc);
    assert.throws(() => syscalls.mountTmpfs('/pods/a/mount', 'size=1'), {
      message: 'mounting a tmpfs at /pods/a/mount failed: mount(2) failed: EPERM (operation not permitted)',
    });
  });

  void it('unmount: umount2 without MNT_DETACH and without following a symlink; true when something was unmounted', () => {
    const { libc, calls } = fakeLibc(0, 0);
    const syscalls = new LinuxMountSyscalls(libc);
    assert.equal(syscalls.unmount('/pods/a/mount'), true);
    assert.equal(syscalls.unmount('/pods/a/mount', { detach: true }), true);
    assert.deepEqual(calls, [
      { fn: 'umount2', args: ['/pods/a/mount', UMOUNT_NOFOLLOW] },
      { fn: 'umount2', args: ['/pods/a/mount', UMOUNT_NOFOLLOW | MNT_DETACH] },
    ]);
  });

  void it('unmount: EINVAL (not a mount point) and ENOENT (no such path) are "nothing mounted", not errors', () => {
    const syscalls = new LinuxMountSyscalls(fakeLibc(EINVAL, ENOENT).libc);
    assert.equal(syscalls.unmount('/pods/a/mount'), false);
    assert.equal(syscalls.unmount('/pods/a/mount'), false);
  });

  void it('unmount: any other errno is CM_INTERNAL with its name (EBUSY, EPERM)', () => {
    const syscalls = new LinuxMountSyscalls(fakeLibc(EBUSY, EPERM, EBUSY).libc);
    assert.throws(() => syscalls.unmount('/pods/a/mount'), {
      code: Errors.internal.code,
      message: 'internal error: unmounting /pods/a/mount failed: umount2(2) failed: EBUSY (resource busy or locked)',
    });
    assertThrowsWithCode(() => syscalls.unmount('/pods/a/mount'), Errors.internal.code, 'INTERNAL');
    assert.equal(causeOf(() => syscalls.unmount('/pods/a/mount')).code, 'EBUSY');
  });

  void it('refuses a relative path or a NUL byte before calling libc (a C string would end early)', () => {
    const { libc, calls } = fakeLibc();
    const syscalls = new LinuxMountSyscalls(libc);
    assertThrowsWithCode(() => syscalls.mountTmpfs('pods/a', 'size=1'), Errors.mountFailed.code, 'INTERNAL');
    assertThrowsWithCode(() => syscalls.mountTmpfs('/pods/a\0/etc', 'size=1'), Errors.mountFailed.code, 'INTERNAL');
    assertThrowsWithCode(() => syscalls.mountTmpfs('/pods/a', 'size=1\0,mode=4777'), Errors.mountFailed.code, 'INTERNAL');
    assertThrowsWithCode(() => syscalls.unmount('/pods/a\0/etc'), Errors.internal.code, 'INTERNAL');
    assertThrowsWithCode(() => syscalls.unmount('relative'), Errors.internal.code, 'INTERNAL');
    assert.deepEqual(calls, []);
  });

  void it('an errno that is unknown (or a failure that left errno 0) is still an error, named by its number', () => {
    assert.deepEqual(describeErrno(EBUSY), ['EBUSY', 'resource busy or locked']);
    assert.deepEqual(describeErrno(-1), ['errno -1', 'unknown error']);
    assert.deepEqual(describeErrno(9999), ['errno 9999', 'unknown error']);
    const syscalls = new LinuxMountSyscalls(fakeLibc(-1).libc);
    assert.throws(() => syscalls.mountTmpfs('/pods/a', 'size=1'), /mount\(2\) failed: errno -1 \(unknown error\)/);
  });
});

void describe('tryLoadLibc', () => {
  void it('is unavailable, with the reason, off Linux', () => {
    const result = tryLoadLibc({ platform: 'darwin', loadKoffi: () => assert.fail('koffi must not be loaded') });
    assert.ok('unavailable' in result);
    assert.match(result.unavailable, /Linux-only.*darwin/);
  });

  void it('is unavailable, with the reason, when koffi cannot be loaded', () => {
    const result = tryLoadLibc({
      platform: 'linux',
      loadKoffi: () => {
        throw new Error("Cannot find module 'koffi'\nRequire stack: ...");
      },
    });
    assert.deepEqual(result, { unavailable: "the koffi FFI could not be loaded: Cannot find module 'koffi'" });
  });

  // The remaining cases load the real koffi package, which ships binaries for Linux only among
  // the platforms this driver supports.
  const linux = process.platform === 'linux';

  void it('is unavailable, naming each library tried, when no libc can be opened', { skip: !linux }, () => {
    const result = tryLoadLibc({ libraries: ['libcredmount-does-not-exist.so.9', '/nonexistent/libc.so.6'] });
    assert.ok('unavailable' in result);
    assert.match(result.unavailable, /libcredmount-does-not-exist\.so\.9: .*; \/nonexistent\/libc\.so\.6: /);
  });

  void it('binds mount and umount2 from libc.so.6, or from the process itself (musl)', { skip: !linux }, () => {
    for (const library of ['libc.so.6', null]) {
      const result = tryLoadLibc({ libraries: [library] });
      assert.ok('libc' in result, JSON.stringify(result));
      assert.equal(result.library, library ?? 'the process itself');
      // A path that does not exist: ENOENT, read from errno. The kernel looks the path up before
      // checking privilege, so this holds for any user and mounts nothing.
      assert.equal(result.libc.umount2('/nonexistent/credmount-test', 0), ENOENT);
      assert.equal(result.libc.mount('tmpfs', '/nonexistent/credmount-test', 'tmpfs', TMPFS_MOUNT_FLAGS, 'size=1m'), ENOENT);
    }
  });

  void it('loadLibc loads once per process and keeps the outcome', { skip: !linux }, () => {
    assert.equal(loadLibc(), loadLibc());
  });
});

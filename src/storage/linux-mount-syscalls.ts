import { createRequire } from 'node:module';
import { isAbsolute } from 'node:path';
import { getSystemErrorMap } from 'node:util';
import type * as Koffi from 'koffi';
import { Errors } from '../errors/catalogue.js';
import { CredmountError } from '../errors/credmount-error.js';

/**
 * mount(2) and umount2(2) called directly from libc through an FFI (koffi), so that publishing a
 * volume does not fork/exec mount(8): ~10 ms per mount becomes a few microseconds (numbers in
 * docs/mounting.md).
 *
 * Loading is lazy: koffi and libc are loaded the first time a mechanism is needed, not when this
 * module is imported, because loading them costs ~15 ms and ~5 MiB that a driver which never
 * mounts (the demo as non-root, `--help`) should not pay. The outcome — bound or unavailable,
 * with the reason — is cached for the process: it is decided once.
 *
 * The calls are synchronous on the event-loop thread. A tmpfs mount or unmount on a local
 * directory takes microseconds, far less than handing the call to the libuv thread pool would
 * cost, and it lets errno be read on the same thread right after the call returns.
 */

// <linux/mount.h>. Numeric values are part of the kernel ABI and the same on every architecture.
export const MS_NOSUID = 0x2;
export const MS_NODEV = 0x4;
export const MS_NOEXEC = 0x8;
/** umount2: detach lazily (the mount disappears from the namespace, the filesystem lives on while busy). */
export const MNT_DETACH = 0x2;
/** umount2: do not follow a symlink in the last component of the target. */
export const UMOUNT_NOFOLLOW = 0x8;

/**
 * Credentials are data: no setuid/setgid programs, no device nodes, nothing executable. mount(8)
 * turns `-o nosuid,nodev,noexec` into exactly these flags; here they are passed directly and
 * never appear in the tmpfs data string.
 */
export const TMPFS_MOUNT_FLAGS = MS_NOSUID | MS_NODEV | MS_NOEXEC;

/**
 * The two libc entry points, reduced to "0 on success, otherwise the errno": the binding reads
 * errno immediately after a call that returned -1, before any other JavaScript can run (and
 * possibly make another call that changes it). Tests substitute fakes.
 */
export interface LibcMount {
  mount(source: string, target: string, fstype: string, flags: number, data: string): number;
  umount2(target: string, flags: number): number;
}

/** The outcome of loading libc: the bound functions, or why the syscall mechanism is unavailable. */
export type LibcLoadResult = { readonly libc: LibcMount; readonly library: string } | { readonly unavailable: string };

export interface LoadLibcOptions {
  /** Defaults to `process.platform`; the flags and libc functions are Linux's. */
  readonly platform?: NodeJS.Platform;
  /** Libraries tried in order; `null` means the symbols already loaded in this process. */
  readonly libraries?: readonly (string | null)[];
  /** How koffi is loaded (tests simulate a missing or broken package). */
  readonly loadKoffi?: () => typeof Koffi;
}

/**
 * glibc's libc.so.6 first; then the symbols already in the process, which holds whatever C
 * library node itself is linked against (musl on Alpine has no libc.so.6).
 */
const DEFAULT_LIBRARIES: readonly (string | null)[] = ['libc.so.6', null];

const requireCjs = createRequire(import.meta.url);

/** Try to load koffi and bind mount/umount2. Never throws: a failure is a reason. Not cached. */
export function tryLoadLibc(options: LoadLibcOptions = {}): LibcLoadResult {
  const platform = options.platform ?? process.platform;
  if (platform !== 'linux') return { unavailable: `mount(2) is Linux-only and this platform is ${platform}` };
  let koffi: typeof Koffi;
  try {
    koffi = (options.loadKoffi ?? (() => requireCjs('koffi') as typeof Koffi))();
  } catch (error) {
    return { unavailable: `the koffi FFI could not be loaded: ${firstLine(error)}` };
  }
  const failures: string[] = [];
  for (const library of options.libraries ?? DEFAULT_LIBRARIES) {
    const name = library ?? 'the process itself';
    try {
      const lib = koffi.load(library);
      const mount = lib.func('int mount(const char *source, const char *target, const char *filesystemtype, unsigned long mountflags, const void *data)');
      const umount2 = lib.func('int umount2(const char *target, int flags)');
      const libc: LibcMount = {
        mount: (source, target, fstype, flags, data) => {
          // NUL-terminated bytes: `data` is a `const void *`, which koffi passes a Buffer to as a pointer.
          const result: unknown = mount(source, target, fstype, flags, Buffer.from(`${data}\0`, 'utf8'));
          return result === 0 ? 0 : lastErrno(koffi);
        },
        umount2: (target, flags) => {
          const result: unknown = umount2(target, flags);
          return result === 0 ? 0 : lastErrno(koffi);
        },
      };
      return { libc, library: name };
    } catch (error) {
      failures.push(`${name}: ${firstLine(error)}`);
    }
  }
  return { unavailable: `libc could not be loaded through koffi (${failures.join('; ')})` };
}

/** errno of the call that just failed; a failure that left errno 0 is still a failure. */
function lastErrno(koffi: typeof Koffi): number {
  const errno = koffi.errno();
  return errno > 0 ? errno : -1;
}

let cached: LibcLoadResult | undefined;

/** Load libc once per process (lazily, on first use) and remember the outcome. */
export function loadLibc(): LibcLoadResult {
  cached ??= tryLoadLibc();
  return cached;
}

/** A failed mount(2)/umount2(2): `code` is the errno name (EPERM, EBUSY, ...), like Node's fs errors. */
export class SyscallError extends Error {
  override readonly name = 'SyscallError';
  readonly code: string;
  constructor(
    readonly syscall: string,
    readonly errno: number,
    readonly path: string,
  ) {
    const [code, description] = describeErrno(errno);
    super(`${syscall} failed: ${code} (${description})`);
    this.code = code;
  }
}

/** `['EBUSY', 'resource busy or locked']` for 16, from libuv's table (the same names Node's fs errors use). */
export function describeErrno(errno: number): [name: string, description: string] {
  const entry = errno > 0 ? getSystemErrorMap().get(-errno) : undefined;
  return entry ?? [`errno ${errno}`, 'unknown error'];
}

/** umount2's ways of saying "nothing is mounted there", which unmount treats as success. */
const NOT_MOUNTED_ERRNOS: ReadonlySet<string> = new Set(['EINVAL', 'ENOENT']);

export interface SyscallUnmountOptions {
  /** MNT_DETACH: lazy unmount. Off by default: a busy mount fails with EBUSY instead of lingering unseen. */
  readonly detach?: boolean;
}

/**
 * mount(2)/umount2(2) over a bound libc. Errors are the catalogue's: CM_MOUNT_FAILED for a mount,
 * CM_INTERNAL for an unmount, with the errno name in the message and a `SyscallError` as cause.
 */
export class LinuxMountSyscalls {
  constructor(private readonly libc: LibcMount) {}

  /**
   * Mount a new tmpfs at `target` with nosuid,nodev,noexec. `data` is the tmpfs option string
   * (`size=…,mode=…,gid=…`); the three flags are not options of tmpfs and must not be in it.
   */
  mountTmpfs(target: string, data: string): void {
    checkPath(target, (reason) => Errors.mountFailed(target, reason));
    if (data.includes('\0')) throw Errors.mountFailed(target, 'the tmpfs options contain a NUL byte');
    const errno = this.libc.mount('tmpfs', target, 'tmpfs', TMPFS_MOUNT_FLAGS, data);
    if (errno === 0) return;
    const error = new SyscallError('mount(2)', errno, target);
    throw withCause(Errors.mountFailed(target, error.message), error);
  }

  /**
   * Unmount the topmost mount at `target`. Returns false when nothing was mounted there (EINVAL:
   * not a mount point; ENOENT: no such path), which callers treat as success: a concurrent
   * unmount won the race. A symlink in the last component is not followed.
   */
  unmount(target: string, options: SyscallUnmountOptions = {}): boolean {
    checkPath(target, (reason) => Errors.internal(`unmounting ${target} failed: ${reason}`));
    const errno = this.libc.umount2(target, UMOUNT_NOFOLLOW | (options.detach === true ? MNT_DETACH : 0));
    if (errno === 0) return true;
    const error = new SyscallError('umount2(2)', errno, target);
    if (NOT_MOUNTED_ERRNOS.has(error.code)) return false;
    throw withCause(Errors.internal(`unmounting ${target} failed: ${error.message}`), error);
  }
}

/** The catalogue's factories take no cause; keep the SyscallError (with its errno) reachable. */
function withCause(error: CredmountError, cause: SyscallError): CredmountError {
  return new CredmountError(error.code, error.status, error.message, { field: error.field, cause });
}

function checkPath(path: string, fail: (reason: string) => Error): void {
  if (!isAbsolute(path)) throw fail('the path must be absolute');
  // A C string ends at the first NUL: the kernel would see a different, shorter path.
  if (path.includes('\0')) throw fail('the path contains a NUL byte');
}

/** The process-wide syscalls, loading libc on first use; throws when they are unavailable. */
function defaultSyscalls(fail: (reason: string) => Error): LinuxMountSyscalls {
  const loaded = loadLibc();
  if ('unavailable' in loaded) throw fail(`mount(2) is unavailable: ${loaded.unavailable}`);
  return new LinuxMountSyscalls(loaded.libc);
}

/** mount(2) a tmpfs at `target` with nosuid,nodev,noexec and the `size=…,mode=…,gid=…` data string. */
export function mountTmpfs(target: string, data: string): void {
  defaultSyscalls((reason) => Errors.mountFailed(target, reason)).mountTmpfs(target, data);
}

/** umount2(2) `target`; false when nothing was mounted there. */
export function unmount(target: string, options: SyscallUnmountOptions = {}): boolean {
  return defaultSyscalls((reason) => Errors.internal(`unmounting ${target} failed: ${reason}`)).unmount(target, options);
}

function firstLine(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return message.split('\n', 1)[0] ?? message;
}

import * as fs from 'node:fs';
import { dirname, isAbsolute } from 'node:path';
import { describeError, isCredmountError } from '../errors/credmount-error.js';
import { Errors } from '../errors/catalogue.js';
import { entryKind } from './entry-kind.js';
import { errorCode } from './error-code.js';
import { LinuxMountSyscalls, loadLibc, type LibcLoadResult } from './linux-mount-syscalls.js';
import { CommandFailedError, runCommand, type CommandRunner } from './mount-command.js';
import { MOUNT_INFO_PATH, mountsBelow, readMountInfo, readTopMountAt } from './mount-info.js';
import type { Mounter, MountOptions, UnmountOptions } from './storage.js';
import { createTarget } from './create-target.js';

/**
 * Every file system call here is synchronous: each is a metadata operation on kubelet's directory
 * or the tmpfs (dentry cache, microseconds), where a thread-pool round trip costs 50–100 µs more
 * and the mount path makes about six of them (bench/README.md, optimisation log).
 *
 * Credentials live in a tmpfs at the pod's target path: they never reach the node's disk, the
 * size limit is enforced by the kernel, and — until Kubernetes 1.37 — a mount point is what
 * stops kubelet from deleting the target directory after a failed republish.
 *
 * How the tmpfs is mounted (docs/mounting.md): by default through the mount(2)/umount2(2) system
 * calls (linux-mount-syscalls.ts), falling back to running mount(8)/umount(8) only when the FFI
 * cannot load libc. The choice is made once per mounter, on first use, and `mechanism` tells
 * which it is. Everything else — the checks, the mount table, the cleanup — is the same for both.
 */

/** `syscall`: mount(2)/umount2(2) called directly; `mount(8)`: the mount/umount programs are run. */
export type MountMechanism = 'syscall' | 'mount(8)';

export interface TmpfsMounterOptions {
  /**
   * `auto` (the default): `syscall` when libc can be loaded through the FFI, else `mount(8)`.
   * Forcing `syscall` where it is unavailable makes every mount fail with the reason.
   */
  readonly mechanism?: MountMechanism | 'auto';
  /** How mount/umount are run by the `mount(8)` mechanism; tests inject failures here. */
  readonly run?: CommandRunner;
  /** How libc is loaded for the `syscall` mechanism (default: once per process, through koffi); tests inject fakes here. */
  readonly loadLibc?: () => LibcLoadResult;
  /** Where the mount table is read from. */
  readonly mountInfoPath?: string;
}

/** The one step that differs between the mechanisms; the callers wrap errors into the catalogue's. */
interface MountBackend {
  readonly mechanism: MountMechanism;
  /** Why `auto` did not pick the syscalls (or why forced syscalls cannot work). */
  readonly unavailable: string | undefined;
  mount(target: string, options: MountOptions): Promise<void>;
  /** Unmount the top mount at `resolved`; "nothing mounted there" (a lost race) is success. */
  unmount(resolved: string): Promise<void>;
}

/** Bound on umount calls for one target: enough for stacked mounts, never an endless loop. */
const MAX_UNMOUNT_ATTEMPTS = 8;
/** umount's ways of saying "there is nothing to unmount", which unmount treats as success. */
const NOT_MOUNTED = /not mounted|not a mount ?point|no mount point specified|mountpoint not found|no such file or directory/i;

export class TmpfsMounter implements Mounter {
  /** The same for both mechanisms: it is recorded in volume metadata and names the kind of volume, not how it was mounted. */
  readonly kind = 'tmpfs';
  readonly #options: TmpfsMounterOptions;
  readonly #mountInfoPath: string;
  /** statfs(2) and stat(2) may answer for the table only when the table read is this process's real one. */
  readonly #statfsShortcut: boolean;
  /**
   * st_dev of each tmpfs this process mounted, or that the mount table showed to be a tmpfs at a
   * target; dropped when unmounted. statfs(2) alone cannot tell a tmpfs from devtmpfs (the same
   * f_type), so only these count as "a tmpfs" without the table.
   */
  readonly #tmpfsDevices = new Set<number>();
  #backend: MountBackend | undefined;

  constructor(options: TmpfsMounterOptions = {}) {
    this.#options = options;
    this.#mountInfoPath = options.mountInfoPath ?? MOUNT_INFO_PATH;
    this.#statfsShortcut = options.mountInfoPath === undefined;
  }

  /**
   * Which mechanism mounts and unmounts, decided once. Reading it before the first mount loads
   * the FFI and libc then (~15 ms), which is otherwise deferred to the first mount.
   */
  get mechanism(): MountMechanism {
    return this.#selectBackend().mechanism;
  }

  /**
   * Why the syscalls are not in use (`auto` fell back to mount(8)), or why forced syscalls will
   * fail; `undefined` when they are in use or mount(8) was asked for. For the driver's start-up log.
   */
  get fallbackReason(): string | undefined {
    return this.#selectBackend().unavailable;
  }

  #selectBackend(): MountBackend {
    this.#backend ??= selectBackend(this.#options);
    return this.#backend;
  }

  async mount(target: string, options: MountOptions): Promise<void> {
    // Validated before anything touches the disk (the same checks for both mechanisms).
    tmpfsData(target, options);
    // Only the target itself (never recursive): kubelet creates the parent, and creating it here
    // would hide a wrong path. A target just created cannot have anything mounted on it.
    const created = createTarget(target, 0o750) === 'created';
    if (!created) {
      // Idempotent early return: a republish, or a retry after a timeout, finds the tmpfs already
      // there. Mounting again would stack a second, empty tmpfs over the pod's content. The
      // existing mount's size/gid are not compared: `volumes/` refuses a republish that changes them.
      if (await this.isMounted(target)) return;
      // An existing, unmounted directory (a driver restart between mkdir and mount, or an old
      // kubelet that kept it) is reused.
      const stats = fs.lstatSync(target);
      if (!stats.isDirectory()) throw Errors.mountFailed(target, 'it exists and is not a directory');
    }

    try {
      await this.#selectBackend().mount(target, options);
    } catch (error) {
      // Leave no directory behind that we made: kubelet would otherwise find a non-mount-point
      // target and the next attempt would look like a half-done publish.
      if (created) tryRemoveDirectory(target);
      throw isCredmountError(error) ? error : Errors.mountFailed(target, describeError(error));
    }
    this.#rememberTmpfsAt(target);
  }

  async unmount(target: string, options: UnmountOptions = {}): Promise<void> {
    // 1. Never follow a symlink at the target: remove the link itself, nothing it points to.
    const kind = await entryKind(target);
    if (kind === 'missing') return; // Idempotent: NodeUnpublishVolume on a target already gone succeeds.
    if (kind === 'symlink') {
      fs.unlinkSync(target);
      return;
    }
    if (kind !== 'directory') throw Errors.internal(`removing ${target} failed: it is not a directory`);
    const resolved = resolveTarget(target);
    if (resolved === undefined) return;

    // 2. Unmount until no tmpfs is mounted at the target (a stacked mount would otherwise survive);
    //    anything else mounted there is not ours and is left alone.
    for (let attempt = 0; ; attempt++) {
      // Our tmpfs on top (the usual case) needs no table; anything else is named by it. The
      // device is forgotten once that mount is off.
      const device = deviceOf(resolved);
      const topType = this.#tmpfsAtWithoutTable(resolved, device) === true ? 'tmpfs' : (await readTopMountAt(resolved, this.#mountInfoPath))?.fsType;
      if (topType === undefined) break;
      if (topType !== 'tmpfs') throw Errors.internal(`removing ${target} refused: a ${topType} filesystem is mounted there, not a credmount tmpfs`);
      if (attempt >= MAX_UNMOUNT_ATTEMPTS) throw Errors.internal(`unmounting ${target} failed: still mounted after ${MAX_UNMOUNT_ATTEMPTS} attempts`);
      try {
        // A concurrent unmount may have won the race: "not mounted" is the outcome we want, and
        // each backend treats it as success.
        await this.#selectBackend().unmount(resolved);
      } catch (error) {
        throw isCredmountError(error) ? error : Errors.internal(`unmounting ${target} failed: ${describeError(error)}`);
      }
      if (device !== undefined) this.#tmpfsDevices.delete(device);
      // No tmpfs at the end of the path any more (the usual case: kubelet's directory is on
      // disk) means nothing is stacked there: done without reading the table. A tmpfs there is
      // either stacked (the next round takes it off) or one the directory merely lives in
      // (the table says nothing is mounted at the target).
      if (this.#tmpfsAtWithoutTable(resolved) === false) break;
    }

    // 3. Remove the now-empty directory.
    try {
      fs.rmdirSync(resolved);
    } catch (error) {
      const code = errorCode(error);
      if (code === 'ENOENT') return;
      if (code !== 'ENOTEMPTY' && code !== 'EEXIST') throw Errors.internal(`removing ${target} failed: ${describeError(error)}`);
      // Not a mount point, yet not empty: content written while no tmpfs was there (e.g. by the
      // directory mounter before a switch to root). Removed only when the volume is known to be
      // ours, and never with something mounted below, which a recursive delete would empty.
      if (options.removeContent !== true) throw Errors.internal(`removing ${target} refused: it is not empty and not a volume this driver knows`);
      const nested = mountsBelow(await readMountInfo(this.#mountInfoPath), resolved);
      if (nested.length > 0) throw Errors.internal(`removing ${target} failed: ${nested[0]?.mountPoint} is mounted inside it`);
      fs.rmSync(resolved, { recursive: true, force: true });
    }
  }

  /**
   * Whether a tmpfs is mounted at exactly `target`. The path is resolved first because the table
   * holds resolved paths (kubelet's root directory is often a symlink).
   *
   * First, statfs(2): it describes the filesystem at the end of the path, which is the topmost
   * mount at the target when there is one. Anything but tmpfs there means no tmpfs is mounted at
   * the target — the answer for every first publish. A tmpfs this process mounted (or the table
   * confirmed) whose device differs from the parent directory's is mounted at the target — the
   * answer for a volume in service. Neither needs the mount table; what remains is read from it
   * (#tmpfsAtWithoutTable says what, and mount-info.ts why the table is the authority).
   */
  async isMounted(target: string): Promise<boolean> {
    const resolved = resolveTarget(target);
    if (resolved === undefined) return false;
    const known = this.#tmpfsAtWithoutTable(resolved);
    if (known !== undefined) return known;
    const mounted = (await readTopMountAt(resolved, this.#mountInfoPath))?.fsType === 'tmpfs';
    // A volume mounted before this process started (a driver restart): the table said so once.
    if (mounted) this.#rememberTmpfsAt(resolved);
    return mounted;
  }

  /**
   * Whether a tmpfs is the topmost mount at exactly `resolved`, when that is certain without the
   * mount table; `undefined` means "ask the table".
   *
   * - `false`: statfs(2) names something other than tmpfs at the end of the path, so no tmpfs is
   *   mounted there.
   * - `true`: statfs(2) names tmpfs, the path's device (stat(2)) is one of #tmpfsDevices, and it
   *   differs from the parent directory's, so the path is a mount point (inside one filesystem a
   *   path has the device of the directory above it) with that tmpfs on top. Every tmpfs has a
   *   device of its own, so a volume in service always passes.
   * - `undefined`: anything else statfs calls tmpfs — a directory that merely lives in some other
   *   tmpfs, a bind mount from one, a tmpfs mounted by someone else, devtmpfs (whose f_type is
   *   tmpfs's) — which the table tells apart; or a test's table (mountInfoPath), which may not be
   *   this process's.
   *
   * Reading the table costs ~0.2 ms with 100 volumes on the node and grows with every mount.
   * `known` is the path's st_dev when the caller has it already.
   */
  #tmpfsAtWithoutTable(resolved: string, known?: number): boolean | undefined {
    if (!this.#statfsShortcut) return undefined;
    const type = filesystemType(resolved);
    if (type === undefined) return undefined;
    if (type !== TMPFS_MAGIC) return false;
    const device = known ?? deviceOf(resolved);
    if (device === undefined || !this.#tmpfsDevices.has(device)) return undefined;
    const parent = dirname(resolved);
    return parent !== resolved && device !== deviceOf(parent) ? true : undefined;
  }

  /** Remember the device of the tmpfs at `path` (just mounted, or confirmed by the table). */
  #rememberTmpfsAt(path: string): void {
    if (!this.#statfsShortcut) return;
    const device = deviceOf(path);
    if (device !== undefined) this.#tmpfsDevices.add(device);
  }
}

/** st_dev of `path`; `undefined` when it vanished meanwhile (then the table decides). */
function deviceOf(path: string): number | undefined {
  try {
    return fs.statSync(path).dev;
  } catch {
    return undefined;
  }
}

function selectBackend(options: TmpfsMounterOptions): MountBackend {
  const wanted = options.mechanism ?? 'auto';
  if (wanted === 'mount(8)') return commandBackend(options.run ?? runCommand, undefined);
  const loaded = (options.loadLibc ?? loadLibc)();
  if ('libc' in loaded) return syscallBackend(new LinuxMountSyscalls(loaded.libc));
  if (wanted === 'syscall') return unavailableBackend(loaded.unavailable);
  return commandBackend(options.run ?? runCommand, loaded.unavailable);
}

/** mount(2) with MS_NOSUID|MS_NODEV|MS_NOEXEC and the data string; umount2(2) without MNT_DETACH. */
function syscallBackend(syscalls: LinuxMountSyscalls): MountBackend {
  return {
    mechanism: 'syscall',
    unavailable: undefined,
    mount: async (target, options) => syscalls.mountTmpfs(target, tmpfsData(target, options)),
    unmount: async (resolved) => {
      syscalls.unmount(resolved);
    },
  };
}

/** Forced syscalls that cannot load: every mount says why (unmount only runs when something is mounted). */
function unavailableBackend(reason: string): MountBackend {
  const fail = (): never => {
    throw new Error(`mount(2) is unavailable: ${reason}`);
  };
  return { mechanism: 'syscall', unavailable: reason, mount: async () => fail(), unmount: async () => fail() };
}

/** The fallback: fork/exec mount(8)/umount(8). */
function commandBackend(run: CommandRunner, unavailable: string | undefined): MountBackend {
  return {
    mechanism: 'mount(8)',
    unavailable,
    mount: (target, options) => run('mount', ['-t', 'tmpfs', '-o', tmpfsOptions(target, options), 'tmpfs', target]),
    unmount: async (resolved) => {
      try {
        await run('umount', [resolved]);
      } catch (error) {
        if (!(error instanceof CommandFailedError && NOT_MOUNTED.test(error.stderr))) throw error;
      }
    },
  };
}

/**
 * The tmpfs data string for mount(2), `size=…,mode=…,gid=…`: checked here, before anything reaches
 * the kernel or mount(8). The nosuid/nodev/noexec flags are not in it: they are mount flags.
 */
export function tmpfsData(target: string, options: MountOptions): string {
  if (!isAbsolute(target)) throw Errors.mountFailed(target, 'the target path must be absolute');
  if (!Number.isSafeInteger(options.sizeBytes) || options.sizeBytes <= 0) throw Errors.mountFailed(target, `size must be a positive number of bytes, not ${options.sizeBytes}`);
  const gid = options.gid;
  if (gid !== undefined && (!Number.isInteger(gid) || gid < 0 || gid > 0xfffffffe)) throw Errors.mountFailed(target, `gid must be a group id, not ${gid}`);
  // 0750 with an fsGroup: owner (root) and the pod's group only. 0755 without one: the pod runs
  // as an arbitrary uid and the file modes alone decide what it may read.
  const parts = [`size=${options.sizeBytes}`, gid === undefined ? 'mode=0755' : 'mode=0750'];
  if (gid !== undefined) parts.push(`gid=${gid}`);
  return parts.join(',');
}

/**
 * `size=…,mode=…,gid=…,nosuid,nodev,noexec`: the `-o` argument of mount(8). Credentials are
 * data: no setuid programs, no device nodes, nothing executable (the syscall mechanism passes
 * the same three as MS_NOSUID|MS_NODEV|MS_NOEXEC).
 */
export function tmpfsOptions(target: string, options: MountOptions): string {
  return `${tmpfsData(target, options)},nosuid,nodev,noexec`;
}

function tryRemoveDirectory(path: string): void {
  try {
    fs.rmdirSync(path);
  } catch {
    // Best effort: the mount error is what the caller reports.
  }
}

/** statfs(2)'s f_type of tmpfs (linux/magic.h). */
const TMPFS_MAGIC = 0x01021994;

/** f_type of the filesystem at `path`; `undefined` when it vanished meanwhile (then the table decides). */
function filesystemType(path: string): number | undefined {
  try {
    return fs.statfsSync(path).type;
  } catch {
    return undefined;
  }
}

/** The target with symlinks resolved, or `undefined` when it does not exist. */
function resolveTarget(target: string): string | undefined {
  try {
    return fs.realpathSync.native(target);
  } catch (error) {
    const code = errorCode(error);
    if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
    throw error;
  }
}

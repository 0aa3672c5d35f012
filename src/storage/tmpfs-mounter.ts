import * as fs from 'node:fs/promises';
import { isAbsolute } from 'node:path';
import { describeError } from '../errors/credmount-error.js';
import { Errors } from '../errors/catalogue.js';
import { entryKind } from './entry-kind.js';
import { errorCode } from './error-code.js';
import { CommandFailedError, runCommand, type CommandRunner } from './mount-command.js';
import { MOUNT_INFO_PATH, mountsBelow, readMountInfo, topMountAt } from './mount-info.js';
import type { Mounter, MountOptions, UnmountOptions } from './storage.js';
import { requireParent } from './target-parent.js';

/**
 * Credentials live in a tmpfs at the pod's target path: they never reach the node's disk, the
 * size limit is enforced by the kernel, and — until Kubernetes 1.37 — a mount point is what
 * stops kubelet from deleting the target directory after a failed republish.
 */

export interface TmpfsMounterOptions {
  /** How mount/umount are run; tests inject failures here. */
  readonly run?: CommandRunner;
  /** Where the mount table is read from. */
  readonly mountInfoPath?: string;
}

/** Bound on umount calls for one target: enough for stacked mounts, never an endless loop. */
const MAX_UNMOUNT_ATTEMPTS = 8;
/** umount's ways of saying "there is nothing to unmount", which unmount treats as success. */
const NOT_MOUNTED = /not mounted|not a mount ?point|no mount point specified|mountpoint not found|no such file or directory/i;

export class TmpfsMounter implements Mounter {
  readonly kind = 'tmpfs';
  readonly #run: CommandRunner;
  readonly #mountInfoPath: string;

  constructor(options: TmpfsMounterOptions = {}) {
    this.#run = options.run ?? runCommand;
    this.#mountInfoPath = options.mountInfoPath ?? MOUNT_INFO_PATH;
  }

  async mount(target: string, options: MountOptions): Promise<void> {
    const mountOptions = tmpfsOptions(target, options);
    await requireParent(target);
    // Idempotent early return: a republish, or a retry after a timeout, finds the tmpfs already
    // there. Mounting again would stack a second, empty tmpfs over the pod's content. The
    // existing mount's size/gid are not compared: `volumes/` refuses a republish that changes them.
    if (await this.isMounted(target)) return;

    let created = false;
    try {
      // Only the target itself (never recursive): kubelet creates the parent, and creating it
      // here would hide a wrong path.
      await fs.mkdir(target, { mode: 0o750 });
      created = true;
    } catch (error) {
      if (errorCode(error) !== 'EEXIST') throw Errors.mountFailed(target, `creating the directory failed: ${describeError(error)}`);
      // An existing, unmounted directory (a driver restart between mkdir and mount, or an old
      // kubelet that kept it) is reused.
      const stats = await fs.lstat(target);
      if (!stats.isDirectory()) throw Errors.mountFailed(target, 'it exists and is not a directory');
    }

    try {
      await this.#run('mount', ['-t', 'tmpfs', '-o', mountOptions, 'tmpfs', target]);
    } catch (error) {
      // Leave no directory behind that we made: kubelet would otherwise find a non-mount-point
      // target and the next attempt would look like a half-done publish.
      if (created) await fs.rmdir(target).catch(() => undefined);
      throw Errors.mountFailed(target, describeError(error));
    }
  }

  async unmount(target: string, options: UnmountOptions = {}): Promise<void> {
    // 1. Never follow a symlink at the target: remove the link itself, nothing it points to.
    const kind = await entryKind(target);
    if (kind === 'missing') return; // Idempotent: NodeUnpublishVolume on a target already gone succeeds.
    if (kind === 'symlink') {
      await fs.unlink(target);
      return;
    }
    if (kind !== 'directory') throw Errors.internal(`removing ${target} failed: it is not a directory`);
    const resolved = await resolveTarget(target);
    if (resolved === undefined) return;

    // 2. Unmount until no tmpfs is mounted at the target (a stacked mount would otherwise survive);
    //    anything else mounted there is not ours and is left alone.
    for (let attempt = 0; ; attempt++) {
      const top = topMountAt(await readMountInfo(this.#mountInfoPath), resolved);
      if (top === undefined) break;
      if (top.fsType !== 'tmpfs') throw Errors.internal(`removing ${target} refused: a ${top.fsType} filesystem is mounted there, not a credmount tmpfs`);
      if (attempt >= MAX_UNMOUNT_ATTEMPTS) throw Errors.internal(`unmounting ${target} failed: still mounted after ${MAX_UNMOUNT_ATTEMPTS} attempts`);
      try {
        await this.#run('umount', [resolved]);
      } catch (error) {
        // A concurrent unmount may have won the race: "not mounted" is the outcome we want.
        if (!(error instanceof CommandFailedError && NOT_MOUNTED.test(error.stderr))) {
          throw Errors.internal(`unmounting ${target} failed: ${describeError(error)}`);
        }
      }
    }

    // 3. Remove the now-empty directory.
    try {
      await fs.rmdir(resolved);
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
      await fs.rm(resolved, { recursive: true, force: true });
    }
  }

  /**
   * Whether a tmpfs is mounted at exactly `target`, read from the mount table (see
   * mount-info.ts for why not `stat().dev`). The path is resolved first because the table
   * holds resolved paths (kubelet's root directory is often a symlink).
   */
  async isMounted(target: string): Promise<boolean> {
    const resolved = await resolveTarget(target);
    if (resolved === undefined) return false;
    return topMountAt(await readMountInfo(this.#mountInfoPath), resolved)?.fsType === 'tmpfs';
  }
}

/** `size=…,mode=…,gid=…,nosuid,nodev,noexec`: checked here because the result goes to mount(8). */
export function tmpfsOptions(target: string, options: MountOptions): string {
  if (!isAbsolute(target)) throw Errors.mountFailed(target, 'the target path must be absolute');
  if (!Number.isSafeInteger(options.sizeBytes) || options.sizeBytes <= 0) throw Errors.mountFailed(target, `size must be a positive number of bytes, not ${options.sizeBytes}`);
  const gid = options.gid;
  if (gid !== undefined && (!Number.isInteger(gid) || gid < 0 || gid > 0xfffffffe)) throw Errors.mountFailed(target, `gid must be a group id, not ${gid}`);
  // 0750 with an fsGroup: owner (root) and the pod's group only. 0755 without one: the pod runs
  // as an arbitrary uid and the file modes alone decide what it may read.
  const parts = [`size=${options.sizeBytes}`, gid === undefined ? 'mode=0755' : 'mode=0750'];
  if (gid !== undefined) parts.push(`gid=${gid}`);
  // Credentials are data: no setuid programs, no device nodes, nothing executable.
  parts.push('nosuid', 'nodev', 'noexec');
  return parts.join(',');
}

/** The target with symlinks resolved, or `undefined` when it does not exist. */
async function resolveTarget(target: string): Promise<string | undefined> {
  try {
    return await fs.realpath(target);
  } catch (error) {
    const code = errorCode(error);
    if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
    throw error;
  }
}

import { DirectoryMounter } from './directory-mounter.js';
import { TmpfsMounter } from './tmpfs-mounter.js';
import type { Mounter } from './storage.js';

/**
 * Mounting a tmpfs needs root (CAP_SYS_ADMIN), which the driver has in a cluster. Without it —
 * the demo on a laptop — fall back to plain directories rather than fail, and hand the caller a
 * warning to log (storage does not log: it has no logger and must not pick one).
 */

export interface MounterSelection {
  readonly mounter: Mounter;
  /** Set when the choice weakens guarantees; the caller logs it once at startup. */
  readonly warning: string | undefined;
}

export interface SelectMounterOptions {
  /** The effective uid; defaults to this process's. `undefined` (no getuid, e.g. Windows) means not root. */
  readonly uid?: number | undefined;
}

export function selectMounter(options: SelectMounterOptions = {}): MounterSelection {
  const uid = 'uid' in options ? options.uid : process.getuid?.();
  if (uid === 0) return { mounter: new TmpfsMounter(), warning: undefined };
  return {
    mounter: new DirectoryMounter(),
    warning:
      `not running as root (uid ${uid ?? 'unknown'}): volumes are plain directories on the node's disk instead of tmpfs mounts, ` +
      'so credentials are written to persistent storage and volume size is not enforced by the kernel; use this only for demos and development',
  };
}

import { statfs } from 'node:fs/promises';
import { describeError } from '../errors/credmount-error.js';
import { Errors } from '../errors/catalogue.js';
import { errorCode } from './error-code.js';
import type { VolumeUsage } from './storage.js';

/**
 * NodeGetVolumeStats: bytes and inodes of the filesystem holding `path` — for a tmpfs volume,
 * exactly the volume. statfs(2) reads counters the kernel already keeps, so this is cheap
 * enough for kubelet's periodic stats calls (unlike walking the tree).
 */
export async function readVolumeUsage(path: string): Promise<VolumeUsage> {
  let stats: Awaited<ReturnType<typeof statfs>>;
  try {
    stats = await statfs(path);
  } catch (error) {
    if (errorCode(error) === 'ENOENT' || errorCode(error) === 'ENOTDIR') throw Errors.volumePathNotFound(path);
    throw Errors.internal(`reading the usage of ${path} failed: ${describeError(error)}`);
  }
  // `bavail` (not `bfree`) is what an unprivileged writer can still use; the pod is one.
  return {
    totalBytes: stats.blocks * stats.bsize,
    availableBytes: stats.bavail * stats.bsize,
    usedBytes: (stats.blocks - stats.bfree) * stats.bsize,
    totalInodes: stats.files,
    availableInodes: stats.ffree,
    usedInodes: stats.files - stats.ffree,
  };
}

import { lstatSync } from 'node:fs';
import { errorCode } from './error-code.js';

/** What is at `path`, without following a symlink there (one synchronous lstat: see tmpfs-mounter.ts). */
export async function entryKind(path: string): Promise<'missing' | 'symlink' | 'directory' | 'other'> {
  try {
    const stats = lstatSync(path);
    return stats.isSymbolicLink() ? 'symlink' : stats.isDirectory() ? 'directory' : 'other';
  } catch (error) {
    const code = errorCode(error);
    if (code === 'ENOENT' || code === 'ENOTDIR') return 'missing';
    throw error;
  }
}

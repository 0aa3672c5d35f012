import { execFile } from 'node:child_process';
import * as fs from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { mountsBelow, readMountInfo } from '../../../src/storage/mount-info.js';

/**
 * Integration tests mount real tmpfs filesystems (CI runs as root). Each test file works below
 * its own base directory and `cleanupBase` unmounts everything below it, deepest and most recent
 * first, so a failed assertion never leaves a mount behind on the machine.
 */

const run = promisify(execFile);

export async function makeBase(prefix: string): Promise<string> {
  return fs.realpath(await fs.mkdtemp(join(tmpdir(), prefix)));
}

/** statfs(2)'s f_type of tmpfs (linux/magic.h). */
const TMPFS_MAGIC = 0x01021994;

/**
 * A new directory on a file system that is not tmpfs — the source of a bind mount that must be
 * someone else's mount, not a tmpfs — or undefined when none of the usual places is one (all on
 * tmpfs). A base under a tmpfs /tmp would make such a bind a tmpfs, which the mounter rightly
 * treats as a tmpfs at the target.
 */
export async function makeNonTmpfsDir(prefix: string): Promise<string | undefined> {
  for (const parent of [tmpdir(), '/var/tmp', process.cwd()]) {
    const onTmpfs = await fs.statfs(parent).then(
      (stats) => stats.type === TMPFS_MAGIC,
      () => true,
    );
    if (onTmpfs) continue;
    const made = await fs.mkdtemp(join(parent, prefix)).catch(() => undefined);
    if (made !== undefined) return fs.realpath(made);
  }
  return undefined;
}

export async function mountTmpfs(target: string, options = 'size=1m'): Promise<void> {
  await run('mount', ['-t', 'tmpfs', '-o', options, 'tmpfs', target]);
}

export async function mountsUnder(base: string) {
  return mountsBelow(await readMountInfo(), base);
}

export async function cleanupBase(base: string): Promise<void> {
  for (let round = 0; round < 20; round++) {
    const mounts = await mountsUnder(base);
    if (mounts.length === 0) break;
    const last = mounts[mounts.length - 1];
    if (last !== undefined) await run('umount', ['-l', last.mountPoint]).catch(() => undefined);
  }
  await fs.rm(base, { recursive: true, force: true });
}

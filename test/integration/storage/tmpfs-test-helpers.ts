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

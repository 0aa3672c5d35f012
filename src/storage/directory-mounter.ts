import * as fs from 'node:fs/promises';
import { isAbsolute } from 'node:path';
import { describeError } from '../errors/credmount-error.js';
import { Errors } from '../errors/catalogue.js';
import { errorCode } from './error-code.js';
import type { Mounter, MountOptions, UnmountOptions } from './storage.js';
import { entryKind } from './entry-kind.js';
import { createTarget } from './create-target.js';

/**
 * A plain directory in place of a tmpfs, for running without root (the demo, developer
 * machines). It keeps the same contract — only the target is created, the parent must exist,
 * unmount is idempotent — so everything above it behaves as in production. What it cannot
 * give: content stays on the node's disk, and `sizeBytes` is not enforced by a kernel (the
 * writer's own `maxBytes` check still applies). select-mounter.ts warns about this.
 */
export class DirectoryMounter implements Mounter {
  readonly kind = 'directory';

  async mount(target: string, options: MountOptions): Promise<void> {
    if (!isAbsolute(target)) throw Errors.mountFailed(target, 'the target path must be absolute');
    // Same modes as the tmpfs root: 0750 with an fsGroup, 0755 without.
    const mode = options.gid === undefined ? 0o755 : 0o750;
    const created = createTarget(target, mode) === 'created';
    // Idempotent: a republish finds the directory (and the content in it) already there.
    if (!created && !(await fs.lstat(target)).isDirectory()) throw Errors.mountFailed(target, 'it exists and is not a directory');
    try {
      if (options.gid !== undefined) await fs.chown(target, -1, options.gid);
      await fs.chmod(target, mode);
    } catch (error) {
      if (created) await fs.rmdir(target).catch(() => undefined);
      throw Errors.mountFailed(target, `setting owner and mode failed: ${describeError(error)}`);
    }
  }

  async unmount(target: string, options: UnmountOptions = {}): Promise<void> {
    const kind = await entryKind(target);
    if (kind === 'missing') return; // a missing target is success, as NodeUnpublishVolume requires
    if (kind === 'symlink') {
      await fs.unlink(target); // the link, never what it points to
      return;
    }
    if (options.removeContent === true) {
      await fs.rm(target, { recursive: true, force: true });
      return;
    }
    try {
      await fs.rmdir(target);
    } catch (error) {
      if (errorCode(error) === 'ENOENT') return;
      throw Errors.internal(`removing ${target} refused: it is not empty and not a volume this driver knows`);
    }
  }

  async isMounted(target: string): Promise<boolean> {
    try {
      return (await fs.lstat(target)).isDirectory();
    } catch (error) {
      if (errorCode(error) === 'ENOENT' || errorCode(error) === 'ENOTDIR') return false;
      throw error;
    }
  }
}

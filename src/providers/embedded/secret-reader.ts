import { closeSync, constants, fstatSync, openSync, readFileSync, readlinkSync, realpathSync } from 'node:fs';
import { sep } from 'node:path';
import { CredmountError } from '../../errors/credmount-error.js';
import { Errors } from '../../errors/catalogue.js';

/**
 * Reads secret files from the store's `secrets/` directory. The path was already checked
 * lexically (no `..`, not absolute) when the parameters were parsed; here the *resolved* path is
 * checked too, so a symlink inside the store cannot lead out of it.
 *
 * The calls are synchronous: the store is a local directory of small files (the embedded
 * provider's whole premise), where each call takes microseconds and a thread-pool round trip
 * costs more than the call itself — seven of them per secret were most of a publish's fetch stage
 * (bench/README.md, optimisation log). O_NONBLOCK keeps a FIFO put in the store from blocking the open.
 */

export interface StoredSecret {
  readonly content: Uint8Array;
  /** `mtimeMs-ctimeMs-ino` of the file that was read: changes when the file does, says nothing about the value (not even its length). */
  readonly version: string;
  /** Where the path led after symlinks, relative to `secrets/`: the policy is checked on this too. */
  readonly resolvedPath: string;
}

/** Kubernetes Secrets stop at 1 MiB; a store file larger than that is a mistake. */
export const MAX_SECRET_BYTES = 1024 * 1024;

/**
 * A reader for the secrets of one fetch. The root is resolved once, on the first read: every
 * secret of the fetch then comes from the same directory, even if a symlinked root (a mounted
 * volume's `..data`) is swapped in between — and the root's symlinks are not walked again for
 * every file.
 */
export function storeSecretReader(secretsDir: string): (secretPath: string) => StoredSecret {
  let root: string | undefined;
  return (secretPath) => {
    const what = `secret ${JSON.stringify(secretPath)}`;
    root ??= resolveRoot(secretsDir, what);
    return readBelowRoot(root, secretPath, what);
  };
}

/** 1. The root itself may be a symlink (e.g. a mounted volume): compare against where it leads. */
function resolveRoot(secretsDir: string, what: string): string {
  try {
    return realpathSync.native(secretsDir);
  } catch (error: unknown) {
    if (errorCode(error) === 'ENOENT') throw Errors.notFound(`${what} (the store has no secrets/ directory)`);
    throw Errors.backendUnavailable('embedded store', `cannot read ${secretsDir}: ${errorCode(error) ?? 'error'}`);
  }
}

function readBelowRoot(root: string, secretPath: string, what: string): StoredSecret {
  // 2. resolve every symlink on the way and refuse a target outside the root
  let resolved: string;
  try {
    resolved = realpathSync.native(`${root}${sep}${secretPath}`);
  } catch (error: unknown) {
    if (errorCode(error) === 'ENOENT' || errorCode(error) === 'ENOTDIR') throw Errors.notFound(what);
    throw Errors.backendUnavailable('embedded store', `cannot resolve ${what}: ${errorCode(error) ?? 'error'}`);
  }
  if (!isInside(root, resolved)) throw Errors.accessDenied(what, 'it resolves to a file outside the store\'s secrets/ directory');

  // 3. open the resolved path without following a symlink swapped in since, then confirm (on
  //    Linux, through /proc) that the descriptor really is that file inside the root
  let fd: number;
  try {
    fd = openSync(resolved, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (error: unknown) {
    if (errorCode(error) === 'ENOENT') throw Errors.notFound(what);
    if (errorCode(error) === 'ELOOP') throw Errors.accessDenied(what, 'it was replaced by a symbolic link while being read');
    throw Errors.backendUnavailable('embedded store', `cannot open ${what}: ${errorCode(error) ?? 'error'}`);
  }
  try {
    const opened = readlinkOrUndefined(`/proc/self/fd/${fd}`);
    if (opened !== undefined && !isInside(root, opened)) throw Errors.accessDenied(what, "it resolves to a file outside the store's secrets/ directory");
    // 4. content and version from the same descriptor, so they describe the same file
    const info = fstatSync(fd);
    if (!info.isFile()) throw Errors.notFound(`${what} as a regular file (it is a directory or special file)`);
    if (info.size > MAX_SECRET_BYTES) {
      throw new CredmountError(Errors.contentTooLarge.code, Errors.contentTooLarge.status, `${what} is ${info.size} bytes, more than the limit of ${MAX_SECRET_BYTES} bytes`);
    }
    const content = readFileSync(fd);
    return {
      content: new Uint8Array(content.buffer, content.byteOffset, content.byteLength),
      version: `${info.mtimeMs}-${info.ctimeMs}-${info.ino}`,
      resolvedPath: resolved.slice(root.length + 1).split(sep).join('/'),
    };
  } finally {
    closeSync(fd);
  }
}

function readlinkOrUndefined(path: string): string | undefined {
  try {
    return readlinkSync(path);
  } catch {
    return undefined;
  }
}

function isInside(root: string, path: string): boolean {
  return path.startsWith(root.endsWith(sep) ? root : `${root}${sep}`);
}

function errorCode(error: unknown): string | undefined {
  return typeof error === 'object' && error !== null && 'code' in error && typeof error.code === 'string' ? error.code : undefined;
}

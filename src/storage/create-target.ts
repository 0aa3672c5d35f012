import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { describeError } from '../errors/credmount-error.js';
import { Errors } from '../errors/catalogue.js';
import { errorCode } from './error-code.js';

/**
 * Create the target directory — only the target: kubelet creates its parent, and a missing
 * parent means a wrong path or a pod already gone, so fail clearly instead of creating
 * directories kubelet never asked for (and would never clean up). Returns `'created'`, or
 * `'exists'` when something is already there (the caller decides whether it may be reused).
 *
 * One mkdir(2) answers all three questions: its ENOENT and ENOTDIR are the parent's, and its
 * success proves the target is brand new — nothing can be mounted on a path that did not exist,
 * so a first publish needs no mount-table check. (Synchronous: a metadata operation on kubelet's
 * directory, microseconds, where a thread-pool round trip costs 50–100 µs.)
 */
export function createTarget(target: string, mode: number): 'created' | 'exists' {
  try {
    mkdirSync(target, { mode });
    return 'created';
  } catch (error) {
    const code = errorCode(error);
    if (code === 'EEXIST') return 'exists';
    const parent = dirname(target);
    if (code === 'ENOENT') throw Errors.mountFailed(target, `the parent directory ${parent} does not exist (kubelet creates it before calling the driver)`);
    if (code === 'ENOTDIR') throw Errors.mountFailed(target, `the parent ${parent} is not a directory`);
    throw Errors.mountFailed(target, `creating the directory failed: ${describeError(error)}`);
  }
}

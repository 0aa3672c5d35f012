import { statSync } from 'node:fs';
import { dirname } from 'node:path';
import { Errors } from '../errors/catalogue.js';
import { errorCode } from './error-code.js';

/**
 * Kubelet creates the parent of `target_path` and the driver creates only the target. A missing
 * parent means a wrong path or a pod already gone: fail clearly instead of creating directories
 * kubelet never asked for (and would never clean up).
 */
export async function requireParent(target: string): Promise<void> {
  const parent = dirname(target);
  let isDirectory: boolean;
  try {
    isDirectory = statSync(parent).isDirectory();
  } catch (error) {
    if (errorCode(error) === 'ENOENT') throw Errors.mountFailed(target, `the parent directory ${parent} does not exist (kubelet creates it before calling the driver)`);
    throw error;
  }
  if (!isDirectory) throw Errors.mountFailed(target, `the parent ${parent} is not a directory`);
}

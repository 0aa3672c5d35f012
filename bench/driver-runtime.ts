import { execFileSync } from 'node:child_process';
import { resolve } from 'node:path';
import { DRIVER_NODE_FLAGS, nodeFlagsFor } from '../src/cli/runtime-flags.js';

/** Where the runner learns another Node.js for the drivers (`--driver-node` sets it; `--compare` runs inherit it). */
export const DRIVER_NODE_ENV = 'CREDMOUNT_BENCH_DRIVER_NODE';

/** The Node.js a run starts its drivers on, and the flags the image gives that runtime. */
export interface DriverRuntime {
  readonly execPath: string;
  /** `process.version` of that runtime. */
  readonly version: string;
  /** src/cli/runtime-flags.ts for that runtime's V8 (not this process's: the flags differ by V8). */
  readonly flags: readonly string[];
}

let chosen: DriverRuntime | undefined;

/**
 * The Node.js every driver of this run runs on — also the bare gRPC server and the `node -e ""`
 * floor, so that each reference is on the same runtime as what it is compared with. By default
 * this process's; `--driver-node PATH` (CREDMOUNT_BENCH_DRIVER_NODE) measures the driver on
 * another one, such as the container image's Node.js 24, while the runner and its clients stay
 * as they are.
 */
export function driverRuntime(): DriverRuntime {
  chosen ??= runtimeAt(process.env[DRIVER_NODE_ENV]);
  return chosen;
}

/** The runtime at `path`, asked for its versions; this process's when `path` is unset or empty. */
export function runtimeAt(path: string | undefined): DriverRuntime {
  if (path === undefined || path === '') return { execPath: process.execPath, version: process.version, flags: DRIVER_NODE_FLAGS };
  const execPath = resolve(path);
  let versions: { node?: unknown; v8?: unknown };
  try {
    const printed = execFileSync(execPath, ['-p', 'JSON.stringify({ node: process.version, v8: process.versions.v8 })'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 30_000 });
    versions = JSON.parse(printed) as { node?: unknown; v8?: unknown };
  } catch (error) {
    throw new Error(`--driver-node (${DRIVER_NODE_ENV}): ${execPath} does not run as Node.js: ${error instanceof Error ? error.message.split('\n')[0] : String(error)}`, { cause: error });
  }
  if (typeof versions.node !== 'string' || typeof versions.v8 !== 'string') throw new Error(`--driver-node (${DRIVER_NODE_ENV}): ${execPath} did not report its Node.js and V8 versions`);
  return { execPath, version: versions.node, flags: nodeFlagsFor(versions.v8) };
}

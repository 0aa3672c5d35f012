import type { ChildProcess } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The driver as the image ships it: the bundle `npm run build` writes (scripts/bundle.ts), so the
 * end-to-end tests and the benchmarks run the same code the DaemonSet does.
 */
export const DRIVER_MAIN = resolve(fileURLToPath(import.meta.url), '../../../bundle/cli/main.js');

/**
 * What the e2e tests' DriverProcess and the benchmarks' DriverChild share: a `credmount driver`
 * child process logging to a file, stopped by a signal. Each subclass spawns it its own way
 * (the tests with their provider flags, the bench with its runtime flags and a 1 ms readiness poll).
 */
export abstract class ChildDriver {
  protected child: ChildProcess | undefined;
  protected exited: Promise<number | null> | undefined;

  constructor(readonly logFile: string) {}

  /** SIGTERM (graceful) or SIGKILL (crash); resolves with the exit code. */
  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<number | null> {
    if (this.child === undefined || this.exited === undefined) return null;
    this.child.kill(signal);
    const code = await this.exited;
    this.child = undefined;
    return code;
  }

  async log(): Promise<string> {
    return readFile(this.logFile, 'utf8').catch(() => '');
  }
}

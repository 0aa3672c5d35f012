import { spawn } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { CsiClient } from '../../src/cli/kubelet-sim/csi-client.js';
import { ChildDriver, DRIVER_MAIN } from './child-driver.js';



export interface DriverProcessOptions {
  readonly workdir: string;
  readonly storeDir: string;
  readonly jwksUrl: string;
  /** Extra `credmount driver` flags. */
  readonly args?: readonly string[];
}

/**
 * The real `credmount driver` in a child process, logging to a file: what kubelet talks to in
 * a cluster. Tests kill it (SIGKILL) and start it again on the same state directory.
 */
export class DriverProcess extends ChildDriver {
  readonly endpoint: string;
  readonly stateDir: string;

  constructor(readonly options: DriverProcessOptions) {
    super(join(options.workdir, 'driver.log'));
    this.endpoint = `unix://${join(options.workdir, 'csi.sock')}`;
    this.stateDir = join(options.workdir, 'state');
  }

  async start(): Promise<void> {
    await mkdir(this.options.workdir, { recursive: true });
    const log = createWriteStream(this.logFile, { flags: 'a' });
    await new Promise((resolveOpen) => log.once('open', resolveOpen));
    const args = [
      DRIVER_MAIN,
      'driver',
      '--endpoint', this.endpoint,
      '--state-dir', this.stateDir,
      '--node-id', 'e2e-node',
      '--log-level', 'debug',
      '--embedded-store', this.options.storeDir,
      '--embedded-jwks-url', this.options.jwksUrl,
      ...(this.options.args ?? []),
    ];
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout?.pipe(log, { end: false });
    child.stderr?.pipe(log, { end: false });
    this.child = child;
    this.exited = new Promise((resolveExit) => child.once('exit', (code) => resolveExit(code)));
    const client = CsiClient.connect(this.endpoint);
    try {
      await Promise.race([
        client.waitUntilReady(20_000),
        this.exited.then(async (code) => {
          throw new Error(`driver exited with ${code} before it was ready:\n${await this.log()}`);
        }),
      ]);
    } finally {
      client.close();
    }
  }

}

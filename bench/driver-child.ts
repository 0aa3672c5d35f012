import { spawn } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { mkdir, stat } from 'node:fs/promises';
import { connect } from 'node:net';
import { join } from 'node:path';
import { CsiClient } from '../src/cli/kubelet-sim/csi-client.js';
import { ChildDriver, DRIVER_MAIN } from '../test/support/child-driver.js';
import { driverRuntime } from './driver-runtime.js';

/**
 * The bundle the image runs (dist/bundle/cli/main.js), or another entry to compare with, e.g.
 * `CREDMOUNT_BENCH_DRIVER_MAIN=$PWD/dist/src/cli/main.js` for the unbundled build.
 */
const MAIN = process.env['CREDMOUNT_BENCH_DRIVER_MAIN'] ?? DRIVER_MAIN;

export interface DriverChildOptions {
  /** Socket, state directory and log go here. */
  readonly dir: string;
  /** Provider flags and anything else (`--metrics-address`, `--embedded-*`, `--vault-*`). */
  readonly args: readonly string[];
  /** Log level of the driver; `info` is the production default (fresh republishes log at debug). */
  readonly logLevel?: string;
}

/**
 * The real `credmount driver` as a child process, with its pid (for /proc) and its log in a file
 * (the driver writes to it directly, as to a container runtime's pipe, not through this process).
 */
export class DriverChild extends ChildDriver {
  readonly endpoint: string;
  readonly socketPath: string;
  /** performance.now() just before spawn, and when Probe first answered ready. */
  spawnedAtMs = 0;
  readyAtMs = 0;

  constructor(private readonly options: DriverChildOptions) {
    super(join(options.dir, 'driver.log'));
    this.socketPath = join(options.dir, 'csi.sock');
    this.endpoint = `unix://${this.socketPath}`;
  }

  get pid(): number {
    const pid = this.child?.pid;
    if (pid === undefined) throw new Error('the driver is not running');
    return pid;
  }

  /** Milliseconds from spawn until Probe answered ready. */
  get coldStartMs(): number {
    return this.readyAtMs - this.spawnedAtMs;
  }

  /** Spawn and wait until Probe answers ready (or the driver exits, or `timeoutMs` passes). */
  async start(timeoutMs = 20_000): Promise<void> {
    await mkdir(this.options.dir, { recursive: true });
    const logFd = openSync(this.logFile, 'a');
    const args = [
      // As the image runs it (src/cli/runtime-flags.ts), then whatever the run adds (profiling).
      ...driverRuntime().flags,
      ...driverNodeFlags(),
      MAIN,
      'driver',
      '--endpoint', this.endpoint,
      '--state-dir', join(this.options.dir, 'state'),
      '--node-id', 'bench-node',
      '--log-level', this.options.logLevel ?? 'info',
      ...this.options.args,
    ];
    this.spawnedAtMs = performance.now();
    const child = spawn(driverRuntime().execPath, args, { stdio: ['ignore', logFd, logFd] });
    closeSync(logFd);
    this.child = child;
    this.exited = new Promise((resolveExit) => child.once('exit', (code) => resolveExit(code)));
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        this.waitUntilReady(),
        this.exited.then(async (code) => {
          throw new Error(`the driver exited with ${code} before it was ready:\n${await this.log()}`);
        }),
        new Promise((_, reject) => {
          timer = setTimeout(() => reject(new Error(`the driver was not ready within ${timeoutMs} ms:\n`)), timeoutMs);
        }),
      ]);
    } catch (error) {
      await this.stop('SIGKILL');
      throw error;
    } finally {
      clearTimeout(timer);
    }
    this.readyAtMs = performance.now();
  }


  /** The `mounter` the driver reported when it became ready (`tmpfs` as root, else `directory`). */
  async mounterKind(): Promise<string> {
    return /"mounter":"([^"]+)"/.exec(await this.log())?.[1] ?? 'unknown';
  }

  /** How tmpfs volumes are mounted (`syscall` or `mount(8)`), from the driver's log; `unknown` if it does not say. */
  async mountMechanism(): Promise<string> {
    return /"mechanism":"([^"]+)"/.exec(await this.log())?.[1] ?? 'unknown';
  }

  /**
   * Poll every millisecond until the socket accepts a connection, then ask Probe. Connecting
   * gRPC only once the socket accepts matters: a refused first attempt would put the channel into
   * its reconnect backoff (a second or more) and measure that instead of the driver.
   */
  private async waitUntilReady(): Promise<void> {
    for (;;) {
      if (this.child === undefined) return;
      if (await this.socketAccepts()) break;
      await new Promise((resolveTick) => setTimeout(resolveTick, 1));
    }
    const client = CsiClient.connect(this.endpoint);
    try {
      await client.waitUntilReady(20_000);
    } finally {
      client.close();
    }
  }

  private async socketAccepts(): Promise<boolean> {
    try {
      if (!(await stat(this.socketPath)).isSocket()) return false;
    } catch {
      return false;
    }
    return new Promise((resolveAccept) => {
      const socket = connect(this.socketPath);
      socket.once('connect', () => {
        socket.destroy();
        resolveAccept(true);
      });
      socket.once('error', () => resolveAccept(false));
    });
  }
}

/**
 * Node.js flags for every driver process from `CREDMOUNT_BENCH_DRIVER_NODE_FLAGS` (space
 * separated), to profile the driver: `--cpu-prof --cpu-prof-dir=/tmp/prof`,
 * `--heapsnapshot-signal=SIGUSR2` (Node 20 refuses --cpu-prof in NODE_OPTIONS).
 */
export function driverNodeFlags(): string[] {
  return (process.env['CREDMOUNT_BENCH_DRIVER_NODE_FLAGS'] ?? '').split(' ').filter((flag) => flag !== '');
}

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { execFile } from 'node:child_process';
import { mountsBelow, readMountInfo } from '../../src/storage/mount-info.js';
import { KubeletSimulator } from '../../src/cli/kubelet-sim/kubelet-simulator.js';
import type { SimulatedPod } from '../../src/cli/kubelet-sim/simulated-pod.js';
import { writeSampleStore, type SampleStore } from '../../src/providers/embedded/sample-store.js';
import { DriverProcess } from './driver-process.js';

export interface WorldOptions {
  readonly tokensInSecrets?: boolean;
  readonly driverArgs?: readonly string[];
}

/** A node in a box: the driver process, the kubelet simulator and an embedded store. */
export class E2eWorld {
  private constructor(
    readonly workdir: string,
    readonly store: SampleStore,
    readonly simulator: KubeletSimulator,
    readonly driver: DriverProcess,
  ) {}

  static async start(options: WorldOptions = {}): Promise<E2eWorld> {
    const workdir = await mkdtemp(join(tmpdir(), 'credmount-e2e-'));
    const store = await writeSampleStore(join(workdir, 'store'));
    const endpoint = `unix://${join(workdir, 'csi.sock')}`;
    const simulator = await KubeletSimulator.start({ endpoint, kubeletRoot: join(workdir, 'kubelet'), tokensInSecrets: options.tokensInSecrets ?? false });
    const driver = new DriverProcess({ workdir, storeDir: store.storeDir, jwksUrl: simulator.jwks.jwksUri, args: options.driverArgs ?? [] });
    const world = new E2eWorld(workdir, store, simulator, driver);
    try {
      await driver.start();
    } catch (error) {
      // Nothing left behind: the caller may start another world (withFreePort does).
      await world.stop();
      throw error;
    }
    return world;
  }

  /** A pod of the store's service account asking for `objects`. */
  pod(objects: string = this.store.objectsParameter, overrides: Partial<SimulatedPod> = {}): SimulatedPod {
    return {
      namespace: this.store.namespace,
      name: `app-${randomUUID().slice(0, 8)}`,
      uid: randomUUID(),
      serviceAccountName: this.store.serviceAccount,
      volumeName: 'creds',
      attributes: { provider: 'embedded', objects },
      audiences: ['credmount'],
      ...overrides,
    };
  }

  /** Prometheus text from the driver's /metrics (the driver must run with --metrics-address). */
  async metric(name: string, labels: string): Promise<number> {
    const port = this.metricsPort;
    const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    const line = text.split('\n').find((l) => l.startsWith(`${name}{${labels}}`));
    return line === undefined ? 0 : Number(line.split(' ').pop());
  }

  get metricsPort(): string {
    const args = this.driver.options.args ?? [];
    const at = args.indexOf('--metrics-address');
    if (at < 0) throw new Error('start the world with --metrics-address to read metrics');
    return (args[at + 1] ?? '').replace(/^.*:/, '');
  }

  async stop(): Promise<void> {
    await this.simulator.stop().catch(() => undefined);
    await this.driver.stop().catch(() => undefined);
    await unmountAllBelow(this.workdir);
    await rm(this.workdir, { recursive: true, force: true });
  }
}

/** Tests that kill the driver can leave tmpfs mounts behind; never leave them on the machine. */
export async function unmountAllBelow(dir: string): Promise<void> {
  const mounts = mountsBelow(await readMountInfo(), dir).map((m) => m.mountPoint).sort((a, b) => b.length - a.length);
  for (const mountPoint of mounts) {
    await new Promise<void>((done) => execFile('umount', [mountPoint], () => done()));
  }
}

/**
 * Runs `start` with a free loopback port, and again with another one when it failed because the
 * port was taken: freePort closes its probe before `start` binds the port, and another process
 * (a test server, another driver on this machine) can take it in between.
 */
export async function withFreePort<T>(start: (port: number) => Promise<T>, attempts = 5): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    try {
      return await start(port);
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      if (attempt >= attempts || !message.includes('EADDRINUSE')) throw error;
    }
  }
}

/** A free TCP port on loopback for the driver's metrics endpoint. */
export async function freePort(): Promise<number> {
  const { createServer } = await import('node:net');
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolvePort(port));
    });
  });
}

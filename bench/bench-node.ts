import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KubeletSimulator, type SimulatorEvent } from '../src/cli/kubelet-sim/kubelet-simulator.js';
import type { SimulatedPod } from '../src/cli/kubelet-sim/simulated-pod.js';
import { writeSampleStore, type SampleStore } from '../src/providers/embedded/sample-store.js';
import { unmountAllBelow, withFreePort } from '../test/support/e2e-world.js';
import { DriverChild } from './driver-child.js';
import { LeanCsiCaller } from './lean-csi-caller.js';
import { sampleProcess, type ProcessSample } from './proc-stats.js';
import { BACKEND_FETCHES, scrapeCounterTotal, scrapeHistogram } from './prometheus.js';

export interface BenchNodeOptions {
  /** Extra driver flags (e.g. scaled refresh intervals). */
  readonly driverArgs?: readonly string[];
  /**
   * Flags that choose the providers; default: the embedded provider on this node's store, with
   * the simulator's JWKS. `(node) => [...]` sees the simulator (e.g. for a Vault server's JWKS).
   */
  readonly providerArgs?: (context: { store: SampleStore; jwksUrl: string }) => readonly string[] | Promise<readonly string[]>;
}

/** A third small secret beside the sample store's two, so a volume holds 3 secrets + 1 certificate. */
const EXTRA_SECRET = 'session-key';

/**
 * One node for a measurement: an embedded-provider store, the kubelet simulator (whose JWKS the
 * backends trust) and the real driver in a child process with /metrics on loopback. Volumes are
 * real tmpfs mounts below a temporary kubelet root when run as root.
 */
export class BenchNode {
  private readonly listeners = new Set<(event: SimulatorEvent) => void>();
  private simulatorRef: KubeletSimulator | undefined;
  private driverRef: DriverChild | undefined;
  private metricsUrlValue = '';

  private constructor(
    readonly workdir: string,
    readonly store: SampleStore,
  ) {}

  static async start(options: BenchNodeOptions = {}): Promise<BenchNode> {
    const workdir = await mkdtemp(join(tmpdir(), 'credmount-bench-'));
    const store = await writeSampleStore(join(workdir, 'store'));
    await writeFile(join(store.storeDir, 'secrets', store.namespace, EXTRA_SECRET), `${randomBytes(18).toString('base64url')}\n`, { mode: 0o600 });
    const node = new BenchNode(workdir, store);
    try {
      const driverDir = join(workdir, 'driver');
      node.simulatorRef = await KubeletSimulator.start({
        endpoint: `unix://${join(driverDir, 'csi.sock')}`,
        kubeletRoot: join(workdir, 'kubelet'),
        // Timed through a client that does as little as kubelet's (bench/lean-csi-caller.ts).
        connect: (endpoint) => LeanCsiCaller.connect(endpoint),
        onEvent: (event) => {
          for (const listener of node.listeners) listener(event);
        },
      });
      const jwksUrl = node.simulatorRef.jwks.jwksUri;
      const providerArgs = options.providerArgs === undefined ? embeddedArgs(store, jwksUrl) : await options.providerArgs({ store, jwksUrl });
      // Measurement 5 starts three nodes at once: a port can be taken between probe and bind.
      await withFreePort(async (port) => {
        node.metricsUrlValue = `http://127.0.0.1:${port}`;
        node.driverRef = new DriverChild({ dir: driverDir, args: [...providerArgs, '--metrics-address', `127.0.0.1:${port}`, ...(options.driverArgs ?? [])] });
        await node.driverRef.start();
      });
    } catch (error) {
      await node.stop();
      throw error;
    }
    return node;
  }

  get simulator(): KubeletSimulator {
    if (this.simulatorRef === undefined) throw new Error('the node is not started');
    return this.simulatorRef;
  }

  get driver(): DriverChild {
    if (this.driverRef === undefined) throw new Error('the node is not started');
    return this.driverRef;
  }

  get metricsUrl(): string {
    return this.metricsUrlValue;
  }

  /** `objects` for 3 small secrets and one certificate (`ttl` as a duration, default 10m). */
  objectsWithCertificate(ttl = '10m'): string {
    return `${this.secretObjects()}${certificateObject(ttl)}`;
  }

  /** `objects` for the 3 small secrets only (KV-like content). */
  secretObjects(): string {
    const [first, second] = this.store.secretPaths;
    return [
      '- objectName: db-password',
      `  secretPath: ${JSON.stringify(first)}`,
      '- objectName: api-key',
      `  secretPath: ${JSON.stringify(second)}`,
      '  filePermission: "0640"',
      `- objectName: ${EXTRA_SECRET}`,
      `  secretPath: ${JSON.stringify(`${this.store.namespace}/${EXTRA_SECRET}`)}`,
      '',
    ].join('\n');
  }

  /** `objects` for one certificate only. */
  certificateObjects(ttl: string): string {
    return certificateObject(ttl);
  }

  /** A new pod of the store's service account whose volume asks for `objects` from the embedded provider. */
  pod(objects: string, attributes: Record<string, string> = { provider: 'embedded' }, audiences: readonly string[] = ['credmount']): SimulatedPod {
    return {
      namespace: this.store.namespace,
      name: `bench-${randomUUID().slice(0, 8)}`,
      uid: randomUUID(),
      serviceAccountName: this.store.serviceAccount,
      volumeName: 'creds',
      attributes: { ...attributes, objects },
      audiences,
    };
  }

  /** Mint each pod's tokens now, so publish timings do not include RS256 signing in the simulator. */
  async premintTokens(pods: readonly SimulatedPod[]): Promise<void> {
    for (const pod of pods) await this.simulator.buildPublishRequest(pod);
  }

  /** Call `listener` for every CSI call the simulator makes until the returned function is called. */
  onEvent(listener: (event: SimulatorEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** `credmount_backend_fetches_total`, summed over providers and results. */
  backendFetches(): Promise<number> {
    return scrapeCounterTotal(this.metricsUrl, BACKEND_FETCHES);
  }

  /**
   * The driver's own NodePublishVolume time (its latency histogram: from the handler's start to
   * its answer, without gRPC decoding and transport), as sum and count so far.
   */
  publishHandlerTime(): Promise<{ sum: number; count: number }> {
    return scrapeHistogram(this.metricsUrl, 'credmount_operation_duration_seconds', 'operation="NodePublishVolume"');
  }

  sampleDriver(): Promise<ProcessSample> {
    return sampleProcess(this.driver.pid);
  }

  /** Unpublish everything, stop the driver, remove every mount and the work directory. */
  async stop(): Promise<void> {
    await this.simulatorRef?.stop().catch(() => undefined);
    await this.driverRef?.stop().catch(() => undefined);
    await unmountAllBelow(this.workdir);
    await rm(this.workdir, { recursive: true, force: true });
  }
}

export function embeddedArgs(store: SampleStore, jwksUrl: string): string[] {
  return ['--providers', 'embedded', '--embedded-store', store.storeDir, '--embedded-jwks-url', jwksUrl];
}

function certificateObject(ttl: string): string {
  return [
    '- objectName: tls',
    '  certificate:',
    '    commonName: "${POD_NAME}"',
    '    dnsNames: ["${POD_NAME}.${POD_NAMESPACE}.svc"]',
    `    ttl: ${ttl}`,
    '',
  ].join('\n');
}

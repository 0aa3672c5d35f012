import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import type { DriverApp } from '../../src/cli/driver-app.js';
import { KubeletSimulator } from '../../src/cli/kubelet-sim/kubelet-simulator.js';
import type { SimulatedPod } from '../../src/cli/kubelet-sim/simulated-pod.js';
import { createLogger, silentLogger, type Logger } from '../../src/observability/logger.js';
import { ManualClock } from '../../src/volumes/clock.js';
import { unmountAllBelow } from './e2e-world.js';

/**
 * What the in-process worlds (vault-world.ts, gcp-world.ts, kube-api-server/cert-world.ts) share:
 * a work directory, one manual clock for the driver, the simulator and the backend servers, the
 * kubelet simulator on the driver's socket, the driver's common flags and log, the pods' common
 * fields, and the order everything stops in. Calls still go over the CSI unix socket and volumes
 * are real tmpfs mounts; the driver runs in the test's process so that it can share the clock.
 */
export interface InProcessNode {
  readonly workdir: string;
  readonly clock: ManualClock;
  readonly endpoint: string;
  readonly simulator: KubeletSimulator;
}

export async function startInProcessNode(name: string, simulator: { tokenTtlSeconds?: number } = {}): Promise<InProcessNode> {
  const workdir = await mkdtemp(join(tmpdir(), `credmount-${name}-`));
  const clock = new ManualClock(Date.now());
  const endpoint = `unix://${join(workdir, 'csi.sock')}`;
  const started = await KubeletSimulator.start({ endpoint, kubeletRoot: join(workdir, 'kubelet'), now: () => new Date(clock.now()), ...simulator });
  return { workdir, clock, endpoint, simulator: started };
}

/** The flags every in-process driver starts with: its socket, state directory, node id and one provider. */
export function nodeDriverFlags(node: InProcessNode, nodeId: string, provider: string): string[] {
  return ['--endpoint', node.endpoint, '--state-dir', join(node.workdir, 'state'), '--node-id', nodeId, '--providers', provider, '--default-provider', provider];
}

/** Silent, or every line at debug into `logFile` (written synchronously: a failing test's log is complete). */
export function nodeDriverLogger(logFile: string | undefined): Logger {
  return logFile === undefined ? silentLogger() : createLogger({ level: 'debug', destination: pino.destination({ dest: logFile, sync: true }) });
}

/** A new pod of service account demo/app with the world's volume; `overrides` replace any field. */
export function nodePod(volume: Pick<SimulatedPod, 'volumeName' | 'attributes' | 'audiences'>, overrides: Partial<SimulatedPod> = {}): SimulatedPod {
  return { namespace: 'demo', name: `app-${randomUUID().slice(0, 8)}`, uid: randomUUID(), serviceAccountName: 'app', ...volume, ...overrides };
}

/** Unpublish through the simulator, stop the driver, then the backends; unmount and remove what is left. */
export async function stopInProcessNode(node: InProcessNode, driver: DriverApp, backends: readonly { stop(): Promise<void> }[]): Promise<void> {
  await node.simulator.stop().catch(() => undefined);
  await driver.stop().catch(() => undefined);
  for (const backend of backends) await backend.stop().catch(() => undefined);
  await unmountAllBelow(node.workdir);
  await rm(node.workdir, { recursive: true, force: true });
}

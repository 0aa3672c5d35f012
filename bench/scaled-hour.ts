import type { SimulatedPod } from '../src/cli/kubelet-sim/simulated-pod.js';
import type { BenchNode } from './bench-node.js';

export interface ScaledHourOptions {
  /** Kubelet's republish cadence, scaled. */
  readonly cadenceMs: number;
  /** First publishes are spread evenly over this long (one refresh period), so refreshes are out of phase as on a node in service. */
  readonly staggerMs: number;
  /** How long requests are counted, once every volume is published. */
  readonly windowMs: number;
  /** Reads the backend's request counters (by kind); called at the start and end of the window. */
  readonly counters: () => Promise<Readonly<Record<string, number>>>;
}

export interface ScaledHourCounts {
  /** Counter increases over the window, by kind. */
  readonly requests: Readonly<Record<string, number>>;
  readonly republishes: number;
  readonly errors: number;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Volumes in steady state on a compressed clock: publish `pods` spread over `staggerMs`, each
 * republished by the simulator's kubelet loop every `cadenceMs` ± 12.5 %, then count backend
 * requests and republishes over `windowMs`.
 */
export async function countOverScaledWindow(node: BenchNode, pods: readonly SimulatedPod[], options: ScaledHourOptions): Promise<ScaledHourCounts> {
  await node.premintTokens(pods);
  const started = performance.now();
  let errors = 0;
  await Promise.all(
    pods.map(async (pod, index) => {
      await sleep((index * options.staggerMs) / pods.length);
      const event = await node.simulator.publish(pod);
      if (!event.ok) throw new Error(`first publish failed: ${event.code ?? ''} ${event.message ?? ''}`);
      node.simulator.startRepublishing(pod, options.cadenceMs);
    }),
  );
  await sleep(Math.max(0, options.staggerMs - (performance.now() - started)));

  let republishes = 0;
  const stopListening = node.onEvent((event) => {
    if (event.kind !== 'republish') return;
    republishes += 1;
    if (!event.ok) errors += 1;
  });
  const before = await options.counters();
  await sleep(options.windowMs);
  const after = await options.counters();
  stopListening();
  for (const pod of pods) node.simulator.stopRepublishing(pod);

  const requests: Record<string, number> = {};
  for (const kind of new Set([...Object.keys(before), ...Object.keys(after)])) {
    const delta = (after[kind] ?? 0) - (before[kind] ?? 0);
    if (delta !== 0) requests[kind] = delta;
  }
  return { requests, republishes, errors };
}

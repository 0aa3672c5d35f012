import type { KubeletSimulator } from '../src/cli/kubelet-sim/kubelet-simulator.js';
import type { SimulatedPod } from '../src/cli/kubelet-sim/simulated-pod.js';
import { LeanCsiCaller } from './lean-csi-caller.js';

/**
 * Republish `pods` (already published) `rounds` times, one NodePublishVolume at a time, all on
 * one kept connection and without kubelet's NodeGetCapabilities calls: the same requests as the
 * simulator's, timed around the call alone. This is how measurement 2 and the bare server's round
 * trip were timed until session 10, before the simulator dialled a connection per call as kubelet
 * does; shown beside them for the difference a connection makes, and to compare with those runs.
 */
export async function republishOnOneConnection(simulator: KubeletSimulator, endpoint: string, pods: readonly SimulatedPod[], rounds: number): Promise<{ samples: number[]; errors: number }> {
  const caller = LeanCsiCaller.connect(endpoint);
  const samples: number[] = [];
  let errors = 0;
  try {
    await caller.waitUntilReady(10_000);
    const requests = await Promise.all(pods.map((pod) => simulator.buildPublishRequest(pod)));
    for (let round = 0; round < rounds; round++) {
      for (const request of requests) {
        const started = performance.now();
        try {
          await caller.nodeCall('NodePublishVolume', request);
          samples.push(performance.now() - started);
        } catch {
          errors += 1;
        }
      }
    }
  } finally {
    caller.close();
  }
  return { samples, errors };
}

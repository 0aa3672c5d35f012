import { CsiClient } from '../src/cli/kubelet-sim/csi-client.js';
import type { KubeletSimulator } from '../src/cli/kubelet-sim/kubelet-simulator.js';
import type { SimulatedPod } from '../src/cli/kubelet-sim/simulated-pod.js';

/**
 * Republish `pods` (already published) `rounds` times, one call at a time, through a
 * @grpc/grpc-js client (CsiClient) instead of the benchmarks' lean caller: the same requests as
 * the simulator's, timed around the call alone. Shown beside measurement 2 and the bare server's
 * round trip, for what a Node.js client's own work adds (bench/lean-csi-caller.ts says why the
 * benchmarks time through the lean caller).
 */
export async function republishThroughGrpcJs(simulator: KubeletSimulator, endpoint: string, pods: readonly SimulatedPod[], rounds: number): Promise<{ samples: number[]; errors: number }> {
  const client = CsiClient.connect(endpoint);
  const samples: number[] = [];
  let errors = 0;
  try {
    await client.waitUntilReady(10_000);
    const requests = await Promise.all(pods.map((pod) => simulator.buildPublishRequest(pod)));
    for (let round = 0; round < rounds; round++) {
      for (const request of requests) {
        const started = performance.now();
        try {
          await client.nodeCall('NodePublishVolume', request);
          samples.push(performance.now() - started);
        } catch {
          errors += 1;
        }
      }
    }
  } finally {
    client.close();
  }
  return { samples, errors };
}

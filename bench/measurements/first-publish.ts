import type { SimulatedPod } from '../../src/cli/kubelet-sim/simulated-pod.js';
import { BenchNode } from '../bench-node.js';
import type { Plan } from '../plan.js';
import type { FirstPublishResult } from '../result-types.js';
import { round, summarize } from '../stats.js';

/**
 * 1. First publish: new pods one at a time, each a volume of 3 small secrets and a certificate
 * from the embedded provider (token check, policy, secret reads, key + certificate, tmpfs mount,
 * atomic write, metadata). Tokens are minted before timing; the time is the gRPC round trip.
 * Volumes are unpublished after each batch, so at most `batchSize` are mounted at once.
 */
export async function measureFirstPublish(plan: Plan['firstPublish']): Promise<FirstPublishResult> {
  const node = await BenchNode.start();
  try {
    const objects = node.objectsWithCertificate();
    const publishMs: number[] = [];
    const unpublishMs: number[] = [];
    let errors = 0;

    // Warm-up: JIT, the JWKS fetch, the first mount: not what a node in service pays per pod.
    await publishAll(node, Array.from({ length: plan.warmup }, () => node.pod(objects)), [], []);

    const fetchesBefore = await node.backendFetches();
    const handlerBefore = await node.publishHandlerTime();
    for (let batch = 0; batch < plan.batches; batch++) {
      const pods = Array.from({ length: plan.batchSize }, () => node.pod(objects));
      errors += await publishAll(node, pods, publishMs, unpublishMs);
    }
    const fetches = (await node.backendFetches()) - fetchesBefore;
    const handler = await node.publishHandlerTime();
    return {
      latency: summarize(publishMs),
      errors,
      fetchesPerPublish: round(fetches / Math.max(1, publishMs.length)),
      driverHandlerMeanMs: round(((handler.sum - handlerBefore.sum) * 1000) / Math.max(1, handler.count - handlerBefore.count)),
      unpublish: summarize(unpublishMs),
    };
  } finally {
    await node.stop();
  }
}

/** Publish `pods` one by one, then unpublish them; returns the number of failed calls. */
async function publishAll(node: BenchNode, pods: readonly SimulatedPod[], publishMs: number[], unpublishMs: number[]): Promise<number> {
  await node.premintTokens(pods);
  let errors = 0;
  for (const pod of pods) {
    const event = await node.simulator.publish(pod);
    if (event.ok) publishMs.push(event.ms);
    else errors += 1;
  }
  for (const pod of pods) {
    const event = await node.simulator.unpublish(pod);
    if (event.ok) unpublishMs.push(event.ms);
    else errors += 1;
  }
  return errors;
}

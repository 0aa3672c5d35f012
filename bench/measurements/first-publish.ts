import type { SimulatedPod } from '../../src/cli/kubelet-sim/simulated-pod.js';
import { BenchNode } from '../bench-node.js';
import type { Plan } from '../plan.js';
import type { FirstPublishResult } from '../result-types.js';
import { round, summarize } from '../stats.js';

/**
 * 1. First publish: new pods one at a time, each a volume of 3 small secrets and a certificate
 * from the embedded provider (token check, policy, secret reads, key + certificate, tmpfs mount,
 * atomic write, metadata). Tokens are minted before timing; the time is NodePublishVolume's round
 * trip on a connection of its own, as kubelet makes it, and also kubelet's whole set-up (the two
 * NodeGetCapabilities before it, each on its own connection too).
 * Volumes are unpublished after each batch, so at most `batchSize` are mounted at once. Then again
 * once the driver has made `inServiceAfter` first publishes (plan.ts says why).
 */
export async function measureFirstPublish(plan: Plan['firstPublish']): Promise<FirstPublishResult> {
  const node = await BenchNode.start();
  try {
    const objects = node.objectsWithCertificate();
    let errors = 0;
    const batch = async (publishMs: number[], unpublishMs: number[], setUpMs: number[] = []) => {
      errors += await publishAll(node, Array.from({ length: plan.batchSize }, () => node.pod(objects)), publishMs, unpublishMs, setUpMs);
    };

    // Warm-up: JIT, the JWKS fetch, the first mount: not what a node in service pays per pod.
    await publishAll(node, Array.from({ length: plan.warmup }, () => node.pod(objects)), [], [], []);
    const fetchesBefore = await node.backendFetches();
    const setUpMs: number[] = [];
    const measured = await measuredBatches(node, plan.batches, (publishMs, unpublishMs) => batch(publishMs, unpublishMs, setUpMs));
    const fetches = (await node.backendFetches()) - fetchesBefore;

    // A driver in service: on, unmeasured, until inServiceAfter first publishes, then measured again.
    for (let done = plan.warmup + plan.batches * plan.batchSize; done < plan.inServiceAfter; done += plan.batchSize) await batch([], []);
    const inService = await measuredBatches(node, plan.inServiceBatches, (publishMs) => batch(publishMs, []));
    return {
      latency: summarize(measured.publishMs),
      errors,
      fetchesPerPublish: round(fetches / Math.max(1, measured.publishMs.length)),
      driverHandlerMeanMs: measured.handlerMeanMs,
      setUp: summarize(setUpMs),
      unpublish: summarize(measured.unpublishMs),
      inService: { afterPublishes: plan.inServiceAfter, latency: summarize(inService.publishMs), driverHandlerMeanMs: inService.handlerMeanMs },
    };
  } finally {
    await node.stop();
  }
}

/** `batches` runs of `run`, with the round trips it records and the driver's mean handler time over them. */
async function measuredBatches(node: BenchNode, batches: number, run: (publishMs: number[], unpublishMs: number[]) => Promise<void>) {
  const publishMs: number[] = [];
  const unpublishMs: number[] = [];
  const before = await node.publishHandlerTime();
  for (let i = 0; i < batches; i++) await run(publishMs, unpublishMs);
  const after = await node.publishHandlerTime();
  return { publishMs, unpublishMs, handlerMeanMs: round(((after.sum - before.sum) * 1000) / Math.max(1, after.count - before.count)) };
}

/** Publish `pods` one by one, then unpublish them; returns the number of failed calls. */
async function publishAll(node: BenchNode, pods: readonly SimulatedPod[], publishMs: number[], unpublishMs: number[], setUpMs: number[]): Promise<number> {
  await node.premintTokens(pods);
  let errors = 0;
  for (const pod of pods) {
    const event = await node.simulator.publish(pod);
    if (event.ok) {
      publishMs.push(event.ms);
      setUpMs.push(event.operationMs);
    } else {
      errors += 1;
    }
  }
  for (const pod of pods) {
    const event = await node.simulator.unpublish(pod);
    if (event.ok) unpublishMs.push(event.ms);
    else errors += 1;
  }
  return errors;
}

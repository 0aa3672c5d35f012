import { BenchNode } from '../bench-node.js';
import type { Plan } from '../plan.js';
import type { FreshRepublishResult } from '../result-types.js';
import { round, summarize } from '../stats.js';

/**
 * 2. Republish when the content is fresh: `volumes` volumes are published, then each is
 * republished `rounds` times, one call at a time, well before any refresh is due (secrets every
 * 5 min, 10-minute certificates). The backend fetch counter must not move.
 */
export async function measureFreshRepublish(plan: Plan['freshRepublish']): Promise<FreshRepublishResult> {
  const node = await BenchNode.start();
  try {
    const objects = node.objectsWithCertificate();
    const pods = Array.from({ length: plan.volumes }, () => node.pod(objects));
    await node.premintTokens(pods);
    let errors = 0;
    for (const pod of pods) if (!(await node.simulator.publish(pod)).ok) errors += 1;

    const fetchesBefore = await node.backendFetches();
    const handlerBefore = await node.publishHandlerTime();
    const samples: number[] = [];
    for (let round = 0; round < plan.rounds; round++) {
      for (const pod of pods) {
        const event = await node.simulator.publish(pod);
        if (event.ok && event.kind === 'republish') samples.push(event.ms);
        else errors += 1;
      }
    }
    const backendRequests = (await node.backendFetches()) - fetchesBefore;
    const handler = await node.publishHandlerTime();
    const driverHandlerMeanMs = round(((handler.sum - handlerBefore.sum) * 1000) / Math.max(1, handler.count - handlerBefore.count));
    return { volumes: plan.volumes, latency: summarize(samples), errors, backendRequests, driverHandlerMeanMs };
  } finally {
    await node.stop();
  }
}

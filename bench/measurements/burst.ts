import { BenchNode } from '../bench-node.js';
import type { Plan } from '../plan.js';
import type { BurstResult } from '../result-types.js';
import { median, round, summarize } from '../stats.js';

/**
 * 3. Burst: `pods` kubelet set-ups started at once (a rollout starting that many pods on the
 * node; each set-up two NodeGetCapabilities and a NodePublishVolume, every call on its own
 * connection), on a driver that has served a few publishes already. Wall time is from the first
 * call until the last answer. Between runs every volume is unpublished.
 */
export async function measureBurst(plan: Plan['burst']): Promise<BurstResult> {
  const node = await BenchNode.start();
  try {
    const objects = node.objectsWithCertificate();
    const warmup = Array.from({ length: 5 }, () => node.pod(objects));
    await node.premintTokens(warmup);
    for (const pod of warmup) await node.simulator.publish(pod);
    for (const pod of warmup) await node.simulator.unpublish(pod);

    const wallMs: number[] = [];
    const latencies: number[] = [];
    let errors = 0;
    for (let run = 0; run < plan.runs; run++) {
      const pods = Array.from({ length: plan.pods }, () => node.pod(objects));
      await node.premintTokens(pods);
      const started = performance.now();
      const events = await Promise.all(pods.map((pod) => node.simulator.publish(pod)));
      wallMs.push(performance.now() - started);
      for (const event of events) {
        if (event.ok) latencies.push(event.ms);
        else errors += 1;
      }
      for (const pod of pods) await node.simulator.unpublish(pod);
    }
    return {
      pods: plan.pods,
      runs: plan.runs,
      wallMs: wallMs.map((ms) => round(ms, 1)),
      wallMsMedian: round(median(wallMs), 1),
      wallMsMax: round(Math.max(...wallMs), 1),
      latency: summarize(latencies),
      errors,
    };
  } finally {
    await node.stop();
  }
}

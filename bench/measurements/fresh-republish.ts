import { BenchNode } from '../bench-node.js';
import { republishOnOneConnection } from '../one-connection-pass.js';
import type { Plan } from '../plan.js';
import type { FreshRepublishResult } from '../result-types.js';
import { round, summarize } from '../stats.js';

/**
 * 2. Republish when the content is fresh: `volumes` volumes are published, then each is
 * republished `warmupRounds` times and `rounds` times more, measured, one call at a time, well
 * before any refresh is due (secrets every 5 min, 10-minute certificates). The first `rounds`
 * rounds are reported too: a driver just started, before V8 has optimised the path. Each
 * republish is kubelet's set-up: two NodeGetCapabilities and the NodePublishVolume, a connection
 * each; the NodePublishVolume round trip is the figure, the whole set-up beside it. Then the
 * measured rounds again as NodePublishVolume alone on one kept connection, as sessions 1–10
 * measured (bench/one-connection-pass.ts). The backend fetch counter must not move in any of them.
 * Last, NodeGetVolumeStats over the same volumes (`rounds` rounds after 3 of warm-up), after
 * kubelet's NodeGetCapabilities: kubelet asks each volume about once a minute, as often as it
 * republishes it.
 */
const STATS_WARMUP_ROUNDS = 3;

export async function measureFreshRepublish(plan: Plan['freshRepublish']): Promise<FreshRepublishResult> {
  const node = await BenchNode.start();
  try {
    const objects = node.objectsWithCertificate();
    const pods = Array.from({ length: plan.volumes }, () => node.pod(objects));
    await node.premintTokens(pods);
    let errors = 0;
    for (const pod of pods) if (!(await node.simulator.publish(pod)).ok) errors += 1;

    const fetchesBefore = await node.backendFetches();
    // Each round's NodePublishVolume round trips and kubelet's whole set-ups (operationMs).
    const republishRounds = async (rounds: number): Promise<{ samples: number[]; setUps: number[] }> => {
      const samples: number[] = [];
      const setUps: number[] = [];
      for (let round = 0; round < rounds; round++) {
        for (const pod of pods) {
          const event = await node.simulator.publish(pod);
          if (event.ok && event.kind === 'republish') {
            samples.push(event.ms);
            setUps.push(event.operationMs);
          } else {
            errors += 1;
          }
        }
      }
      return { samples, setUps };
    };
    const warmup = (await republishRounds(plan.warmupRounds)).samples;
    const handlerBefore = await node.publishHandlerTime();
    const measured = await republishRounds(plan.rounds);
    const samples = measured.samples;
    const setUp = summarize(measured.setUps);
    const handler = await node.publishHandlerTime();
    const driverHandlerMeanMs = round(((handler.sum - handlerBefore.sum) * 1000) / Math.max(1, handler.count - handlerBefore.count));
    const oneConnection = await republishOnOneConnection(node.simulator, node.driver.endpoint, pods, plan.rounds);
    errors += oneConnection.errors;
    // Over both passes: neither may reach the backend.
    const backendRequests = (await node.backendFetches()) - fetchesBefore;
    const firstRounds = warmup.slice(0, plan.rounds * plan.volumes);
    const stats: number[] = [];
    const statsSetUps: number[] = [];
    let volumeStatsErrors = 0;
    for (let round = 0; round < STATS_WARMUP_ROUNDS + plan.rounds; round++) {
      for (const pod of pods) {
        const event = await node.simulator.volumeStats(pod);
        if (!event.ok) {
          volumeStatsErrors += 1;
        } else if (round >= STATS_WARMUP_ROUNDS) {
          stats.push(event.ms);
          statsSetUps.push(event.operationMs);
        }
      }
    }
    return {
      volumes: plan.volumes,
      warmupRounds: plan.warmupRounds,
      latency: summarize(samples),
      latencyFirstRounds: summarize(firstRounds.length > 0 ? firstRounds : samples),
      setUp,
      latencyOneConnection: summarize(oneConnection.samples),
      errors,
      backendRequests,
      driverHandlerMeanMs,
      volumeStats: summarize(stats),
      volumeStatsSetUp: summarize(statsSetUps),
      volumeStatsErrors,
    };
  } finally {
    await node.stop();
  }
}

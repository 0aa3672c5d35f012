import { BenchNode } from '../bench-node.js';
import { cpuPer1000ByPart, type CpuPoint } from '../cpu-by-part.js';
import type { Plan } from '../plan.js';
import { cpuBetween, mib, type ProcessSample } from '../proc-stats.js';
import type { SteadyStateResult } from '../result-types.js';
import { median, round, summarize } from '../stats.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * 4. Steady state: a full node's `volumes` volumes (3 secrets + 1 certificate each) republished
 * by the simulator's kubelet loop every `intervalMs` ± 12.5 % instead of every ~60 s, measured
 * for `seconds` after `warmupSeconds` of the same. Driver CPU comes from /proc/<pid>/stat (own +
 * waited-for children), memory from /proc/<pid>/status; the CPU sample is taken before /metrics
 * is scraped, which costs CPU too.
 */
export async function measureSteadyState(plan: Plan['steadyState']): Promise<SteadyStateResult> {
  const node = await BenchNode.start();
  try {
    const idle = await node.sampleDriver();
    const objects = node.objectsWithCertificate();
    const pods = Array.from({ length: plan.volumes }, () => node.pod(objects));
    await node.premintTokens(pods);
    let errors = 0;
    for (const pod of pods) if (!(await node.simulator.publish(pod)).ok) errors += 1;
    if (errors > 0) throw new Error(`${errors} of ${plan.volumes} first publishes failed:\n${await node.driver.log()}`);
    const afterPublish = await node.sampleDriver();
    const fetchesBefore = await node.backendFetches();

    const latencies: number[] = [];
    let measuring = false;
    let warmupRepublishes = 0;
    const stopListening = node.onEvent((event) => {
      if (event.kind !== 'republish') return;
      // Failures count from the start; latencies only in the measured window.
      if (!event.ok) errors += 1;
      else if (measuring) latencies.push(event.ms);
      else warmupRepublishes += 1;
    });
    const warmupBefore = await node.sampleDriver();
    for (const pod of pods) node.simulator.startRepublishing(pod, plan.intervalMs);
    // A driver in service has republished for hours: V8 has optimised the path by then.
    await sleep(plan.warmupSeconds * 1000);
    measuring = true;
    const before = await node.sampleDriver();
    const warmupCpuSecondsPer1000 = round((cpuBetween(warmupBefore, before) / Math.max(1, warmupRepublishes)) * 1000, 3);
    const samples: ProcessSample[] = [];
    const cpuPoints: CpuPoint[] = [{ cpuSeconds: before.cpuSeconds + before.childCpuSeconds, republishes: 0 }];
    const endAt = performance.now() + plan.seconds * 1000;
    while (performance.now() < endAt) {
      await sleep(Math.min(250, Math.max(0, endAt - performance.now())));
      const sample = await node.sampleDriver();
      samples.push(sample);
      cpuPoints.push({ cpuSeconds: sample.cpuSeconds + sample.childCpuSeconds, republishes: latencies.length });
    }
    for (const pod of pods) node.simulator.stopRepublishing(pod);
    // Let the calls already sent finish before the final CPU sample.
    await sleep(Math.min(200, plan.intervalMs));
    const after = await node.sampleDriver();
    stopListening();
    const republishes = latencies.length + errors;
    const backendRequests = (await node.backendFetches()) - fetchesBefore;

    await sleep(plan.settleSeconds * 1000);
    const settled = await node.sampleDriver();
    const steady = samples.slice(Math.floor(samples.length / 2)).map((s) => s.rssKiB);
    return {
      volumes: plan.volumes,
      intervalMs: plan.intervalMs,
      warmupSeconds: plan.warmupSeconds,
      seconds: plan.seconds,
      republishes,
      errors,
      backendRequests,
      latency: summarize(latencies),
      cpuSecondsPer1000: round((cpuBetween(before, after) / Math.max(1, republishes)) * 1000, 3),
      warmupCpuSecondsPer1000,
      cpuSecondsPer1000ByThird: cpuPer1000ByPart(cpuPoints, 3),
      rssIdleMiB: mib(idle.rssKiB),
      rssAfterPublishMiB: mib(afterPublish.rssKiB),
      rssPeakMiB: mib(settled.hwmKiB),
      rssSteadyMiB: mib(median(steady.length > 0 ? steady : [after.rssKiB])),
      rssSettledMiB: mib(settled.rssKiB),
      rssAnonSettledMiB: mib(settled.anonKiB),
    };
  } finally {
    await node.stop();
  }
}

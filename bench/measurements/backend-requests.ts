import { BenchNode } from '../bench-node.js';
import type { Plan } from '../plan.js';
import { BACKEND_FETCHES, scrapeSamples } from '../prometheus.js';
import type { BackendRate } from '../result-types.js';
import { countOverScaledWindow, type ScaledHourCounts } from '../scaled-hour.js';
import { round } from '../stats.js';

/**
 * 5a/5b. Backend requests per volume-hour for KV-like content (3 secrets, re-read every 5 min)
 * and 1-hour certificates, with the embedded provider. A child process has the real clock, so
 * time is scaled instead: `hourMs` stands for an hour, and the driver's refresh interval, the
 * certificate lifetime and kubelet's cadence are scaled by the same factor. Requests are the
 * driver's own `credmount_backend_fetches_total`.
 */
export async function measureEmbeddedKv(plan: Plan['backendEmbedded']): Promise<BackendRate> {
  const refreshMs = plan.hourMs / 12;
  const node = await BenchNode.start({ driverArgs: ['--embedded-refresh-interval', `${refreshMs}ms`] });
  try {
    const pods = Array.from({ length: plan.volumesPerKind }, () => node.pod(node.secretObjects()));
    const counts = await countOverScaledWindow(node, pods, {
      cadenceMs: plan.hourMs / 60,
      staggerMs: refreshMs,
      windowMs: plan.hourMs * plan.hours,
      counters: () => fetchCounters(node),
    });
    return rate('KV-like: 3 secrets, re-read every 5 min', `1 h = ${plan.hourMs / 1000} s; refresh ${refreshMs / 1000} s; cadence ${plan.hourMs / 60_000} s`, plan.volumesPerKind, plan.hours, counts);
  } finally {
    await node.stop();
  }
}

export async function measureEmbeddedCertificates(plan: Plan['backendEmbedded']): Promise<BackendRate> {
  const ttlSeconds = Math.round(plan.hourMs / 1000);
  const node = await BenchNode.start();
  try {
    const pods = Array.from({ length: plan.volumesPerKind }, () => node.pod(node.certificateObjects(`${ttlSeconds}s`)));
    const counts = await countOverScaledWindow(node, pods, {
      cadenceMs: plan.hourMs / 60,
      staggerMs: (plan.hourMs * 2) / 3,
      windowMs: plan.hourMs * plan.hours,
      counters: () => fetchCounters(node),
    });
    return rate('1-hour certificates (renewed at 2/3)', `1 h = ${ttlSeconds} s; certificate ttl ${ttlSeconds} s; cadence ${plan.hourMs / 60_000} s`, plan.volumesPerKind, plan.hours, counts);
  } finally {
    await node.stop();
  }
}

async function fetchCounters(node: BenchNode): Promise<Record<string, number>> {
  return Object.fromEntries(await scrapeSamples(node.metricsUrl, BACKEND_FETCHES));
}

/** Per volume-hour figures from a scaled window's counts. */
export function rate(content: string, scaled: string, volumes: number, hours: number, counts: ScaledHourCounts): BackendRate {
  const volumeHours = volumes * hours;
  const total = Object.values(counts.requests).reduce((a, b) => a + b, 0);
  return {
    content,
    scaled,
    volumes,
    volumeHours,
    perVolumeHour: round(total / volumeHours, 2),
    naivePerVolumeHour: round(counts.republishes / volumeHours, 1),
    breakdown: counts.requests,
    errors: counts.errors,
  };
}

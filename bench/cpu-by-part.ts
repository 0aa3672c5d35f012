/** A moment of the steady-state window: the driver's CPU seconds so far and the republishes answered so far. */
export interface CpuPoint {
  readonly cpuSeconds: number;
  readonly republishes: number;
}

/**
 * CPU seconds per 1,000 republishes over each of `parts` equal stretches of `points` (by
 * sample, and the samples are evenly spaced): how much the figure moves within one run on this
 * machine, beside the whole window's figure. A stretch without republishes gives 0.
 */
export function cpuPer1000ByPart(points: readonly CpuPoint[], parts = 3): number[] {
  if (points.length < parts + 1) return [];
  const result: number[] = [];
  for (let part = 0; part < parts; part++) {
    const from = points[Math.round((part * (points.length - 1)) / parts)] as CpuPoint;
    const to = points[Math.round(((part + 1) * (points.length - 1)) / parts)] as CpuPoint;
    const republishes = to.republishes - from.republishes;
    result.push(republishes > 0 ? Math.round(((to.cpuSeconds - from.cpuSeconds) / republishes) * 1000 * 1000) / 1000 : 0);
  }
  return result;
}

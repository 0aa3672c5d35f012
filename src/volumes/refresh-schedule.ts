/**
 * When to refresh: the provider says when content must be fetched again; we pull that moment a
 * little earlier by a random share of the remaining interval, so volumes published together (a
 * rollout) do not all refresh in the same kubelet sync. Never later than the provider asked.
 */
export const REFRESH_JITTER_FRACTION = 0.1;

export function jitteredRefreshAt(nowMs: number, providerRefreshAtMs: number, random: () => number = Math.random): number {
  const interval = Math.max(0, providerRefreshAtMs - nowMs);
  return providerRefreshAtMs - Math.floor(interval * REFRESH_JITTER_FRACTION * random());
}

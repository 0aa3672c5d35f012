/**
 * Backoff after failed fetches: exponential, jittered, honouring a backend's Retry-After.
 * Jitter matters because a backend outage fails every pod of a node (and of a fleet) at once;
 * without it they would all retry in lockstep when it comes back.
 */
export interface BackoffPolicy {
  readonly initialMs: number;
  readonly maxMs: number;
  readonly factor: number;
}

export const DEFAULT_BACKOFF: BackoffPolicy = Object.freeze({ initialMs: 1_000, maxMs: 5 * 60_000, factor: 2 });

/**
 * The delay before retry number `failures` (1 for the first failure). "Equal jitter": half the
 * exponential step is fixed so retries never bunch near zero, the other half is random.
 * A Retry-After longer than that wins; one shorter does not shorten our own backoff.
 */
export function backoffDelay(
  failures: number,
  policy: BackoffPolicy = DEFAULT_BACKOFF,
  retryAfterMs: number | undefined = undefined,
  random: () => number = Math.random,
): number {
  const step = Math.min(policy.maxMs, policy.initialMs * policy.factor ** Math.max(0, failures - 1));
  const jittered = step / 2 + random() * (step / 2);
  return Math.max(jittered, retryAfterMs ?? 0);
}

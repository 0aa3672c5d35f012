/**
 * Vault's TTL arithmetic for leases and tokens (sdk/framework/lease.go, `CalculateTTL`), in whole
 * seconds: the requested increment, else the backend's TTL, else the mount default; never past
 * `start + max_ttl`, where max_ttl is the backend's if smaller than the mount's.
 */
import { humanDuration } from './time.js';

export interface TtlInput {
  /** Server time now, ms. */
  readonly nowMs: number;
  /** When the lease or token was first issued, ms. */
  readonly startMs: number;
  /** Requested increment (seconds); 0 → none. */
  readonly increment: number;
  /** The backend's TTL (role `ttl`); 0 → none. */
  readonly backendTtl: number;
  /** The backend's max TTL (role `max_ttl`); 0 → none. */
  readonly backendMaxTtl: number;
  readonly mountDefaultTtl: number;
  readonly mountMaxTtl: number;
}

export type TtlResult = { readonly ttl: number; readonly warnings: readonly string[] } | { readonly error: string };

export function calculateTtl(input: TtlInput): TtlResult {
  const now = Math.floor(input.nowMs / 1000);
  const start = Math.floor(input.startMs / 1000);
  let maxTtl = input.mountMaxTtl;
  if (input.backendMaxTtl > 0 && input.backendMaxTtl < maxTtl) maxTtl = input.backendMaxTtl;
  let ttl = input.increment > 0 ? input.increment : input.backendTtl > 0 ? input.backendTtl : input.mountDefaultTtl;
  const maxValidTtl = start + maxTtl - now;
  if (maxValidTtl <= 0) return { error: 'past the max TTL, cannot renew' };
  const warnings: string[] = [];
  if (maxValidTtl - ttl < 0) {
    warnings.push(`TTL of ${JSON.stringify(humanDuration(ttl))} exceeded the effective max_ttl of ${JSON.stringify(humanDuration(maxValidTtl))}; TTL value is capped accordingly`);
    ttl = maxValidTtl;
  }
  return { ttl, warnings };
}

import type { VaultResponse } from './vault-http.js';

/** A dynamic secret this driver holds for one volume: its lease and the response it came with. */
export interface HeldLease {
  readonly leaseId: string;
  /** Whether Vault said it may be renewed (and has not refused a renewal since). */
  renewable: boolean;
  /** The TTL Vault granted when it was issued: the increment we ask for on renewal. */
  readonly durationSeconds: number;
  expiresAtMs: number;
  /** When it is due for renewal (2/3 of the last grant). */
  refreshAtMs: number;
  readonly response: VaultResponse;
  /** Which Vault token created it: Vault revokes the lease when that token expires. */
  readonly tokenId: string;
  /**
   * Revoke it at Vault with the token that created it (`PUT sys/leases/revoke`). Needs `update`
   * on that path in the role's policy, which Vault's default policy does not grant.
   */
  readonly revoke: () => Promise<void>;
}

/**
 * Leases by volume and request, in memory only (a lease id plus a token is enough to renew or
 * revoke, so neither goes to disk). After a driver restart the next refresh issues a new
 * credential — the safe direction.
 */
export class LeaseBook {
  private readonly leases = new Map<string, HeldLease>();

  get(key: string): HeldLease | undefined {
    return this.leases.get(key);
  }

  set(key: string, lease: HeldLease): void {
    this.leases.set(key, lease);
  }

  delete(key: string): void {
    this.leases.delete(key);
  }

  /** Drop every lease of one volume (keys start with `<volumeId>:`); returns them. */
  deleteVolume(volumeId: string): HeldLease[] {
    const dropped: HeldLease[] = [];
    for (const [key, lease] of this.leases) {
      if (!key.startsWith(`${volumeId}:`)) continue;
      this.leases.delete(key);
      dropped.push(lease);
    }
    return dropped;
  }

  /** Forget leases that have expired (their volumes are gone, or were refreshed elsewhere). */
  sweep(nowMs: number): void {
    for (const [key, lease] of this.leases) if (lease.expiresAtMs <= nowMs) this.leases.delete(key);
  }
}

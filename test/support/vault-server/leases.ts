/**
 * Leases and the database secrets engine. `GET database/creds/<role>` makes a new username and
 * password under a lease `database/creds/<role>/<24 base62>` (plus `.<namespace id>` inside a
 * namespace) whose TTL is the role's `default_ttl`, capped at its `max_ttl`. Renewal
 * (`sys/leases/renew`) applies Vault's CalculateTTL from the lease's issue time. A lease dies when
 * it expires on the server clock, is revoked, or its token expires (Vault revokes a service
 * token's leases with it); renewing a dead lease answers 400 `lease not found`, as Vault does once
 * its expiration manager has revoked the lease.
 */
import { randomInt } from 'node:crypto';
import type { DatabaseRoleOptions } from './types.js';
import type { Now } from './time.js';
import { calculateTtl } from './ttl.js';
import type { TokenEntry, TokenStore } from './tokens.js';
import { base62, failure, ok, type Reply } from './wire.js';

export interface LeaseSnapshot {
  readonly leaseId: string;
  readonly issuedAt: number;
  readonly expiresAt: number;
  /** False once expired, revoked, or its token is gone. */
  readonly live: boolean;
  readonly renewals: number;
}

interface Lease {
  readonly id: string;
  readonly issuedAt: number;
  readonly roleTtl: number;
  readonly roleMaxTtl: number;
  readonly token: string;
  readonly mountType: string;
  expiresAt: number;
  revoked: boolean;
  renewals: number;
}

export interface LeaseManagerOptions {
  readonly now: Now;
  readonly tokens: TokenStore;
  readonly defaultTtl: number;
  readonly maxTtl: number;
  readonly namespaceId: string | undefined;
}

export class LeaseManager {
  private readonly leases = new Map<string, Lease>();

  constructor(private readonly options: LeaseManagerOptions) {}

  /** A new lease under `path` for `token`; returns its id and first TTL. */
  register(path: string, token: TokenEntry, roleTtl: number, roleMaxTtl: number, mountType: string): { leaseId: string; ttl: number; warnings: readonly string[] } {
    const now = this.options.now();
    const result = calculateTtl({ nowMs: now, startMs: now, increment: 0, backendTtl: roleTtl, backendMaxTtl: roleMaxTtl, mountDefaultTtl: this.options.defaultTtl, mountMaxTtl: this.options.maxTtl });
    if ('error' in result) throw new Error(result.error);
    const suffix = this.options.namespaceId === undefined ? '' : `.${this.options.namespaceId}`;
    const id = `${path}/${base62(24)}${suffix}`;
    this.leases.set(id, { id, issuedAt: now, roleTtl, roleMaxTtl, token: token.id, mountType, expiresAt: now + result.ttl * 1000, revoked: false, renewals: 0 });
    return { leaseId: id, ttl: result.ttl, warnings: result.warnings };
  }

  /** `PUT sys/leases/renew` with `{lease_id, increment}`. */
  renew(leaseId: string, increment: number): Reply {
    const lease = this.live(leaseId);
    if (lease === undefined) return failure(400, 'lease not found');
    const now = this.options.now();
    const result = calculateTtl({
      nowMs: now,
      startMs: lease.issuedAt,
      increment,
      backendTtl: lease.roleTtl,
      backendMaxTtl: lease.roleMaxTtl,
      mountDefaultTtl: this.options.defaultTtl,
      mountMaxTtl: this.options.maxTtl,
    });
    if ('error' in result) return failure(400, result.error);
    lease.expiresAt = now + result.ttl * 1000;
    lease.renewals += 1;
    return ok({ leaseId: lease.id, renewable: true, leaseDuration: result.ttl, warnings: result.warnings, mountType: 'system' });
  }

  /** `PUT sys/leases/revoke`: 204 whether or not the lease existed. */
  revoke(leaseId: string): Reply {
    const lease = this.leases.get(leaseId);
    if (lease !== undefined) lease.revoked = true;
    return { status: 204 };
  }

  snapshot(): LeaseSnapshot[] {
    return [...this.leases.values()].map((l) => ({
      leaseId: l.id,
      issuedAt: l.issuedAt,
      expiresAt: l.expiresAt,
      live: this.live(l.id) !== undefined,
      renewals: l.renewals,
    }));
  }

  private live(leaseId: string): Lease | undefined {
    const lease = this.leases.get(leaseId);
    if (lease === undefined || lease.revoked || this.options.now() >= lease.expiresAt) return undefined;
    if (this.options.tokens.lookup(lease.token) === undefined) return undefined;
    return lease;
  }
}

export class DatabaseMount {
  private readonly roles = new Map<string, DatabaseRoleOptions>();

  constructor(
    private readonly mount: string,
    private readonly now: Now,
    private readonly leases: LeaseManager,
  ) {}

  addRole(name: string, role: DatabaseRoleOptions): void {
    this.roles.set(name, role);
  }

  /** `GET <mount>/creds/<role>` */
  creds(roleName: string, token: TokenEntry): Reply {
    const role = this.roles.get(roleName);
    if (role === undefined) return failure(400, `unknown role: ${roleName}`);
    const { leaseId, ttl, warnings } = this.leases.register(`${this.mount}/creds/${roleName}`, token, role.ttlSeconds ?? 0, role.maxTtlSeconds ?? 0, 'database');
    // The PostgreSQL plugin's default username template:
    // v-{{display_name|truncate 8}}-{{role|truncate 8}}-{{random 20}}-{{unix_time}}, at most 63.
    const username = `v-${token.displayName.slice(0, 8)}-${roleName.slice(0, 8)}-${base62(20)}-${Math.floor(this.now() / 1000)}`.slice(0, 63);
    return ok({ leaseId, renewable: true, leaseDuration: ttl, data: { username, password: password() }, warnings, mountType: 'database' });
  }
}

/** Vault's default password policy: 20 characters of [A-Za-z0-9-], at least one of each class. */
function password(): string {
  for (;;) {
    const chars = base62(19);
    const dash = randomInt(20);
    const candidate = `${chars.slice(0, dash)}-${chars.slice(dash)}`;
    if (/[a-z]/.test(candidate) && /[A-Z]/.test(candidate) && /\d/.test(candidate)) return candidate;
  }
}

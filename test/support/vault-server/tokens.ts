/**
 * Client tokens and ACL policies. Tokens are service tokens (`hvs.` prefix, renewable, orphan),
 * expire on the server clock, and carry the policies of the role that created them plus
 * `default`. A policy here is a named list of path patterns with Vault's glob rules: a trailing
 * `*` matches any suffix, `+` matches exactly one path segment. Capabilities are not modelled:
 * a path a token's policies match may be used with any method.
 */
import { createHash } from 'node:crypto';
import type { Now } from './time.js';
import { calculateTtl, type TtlResult } from './ttl.js';
import { base62, type WireAuth } from './wire.js';

/** The paths Vault's built-in `default` policy grants that the test server implements. */
const DEFAULT_POLICY_PATHS = [
  'auth/token/lookup-self',
  'auth/token/renew-self',
  'auth/token/revoke-self',
  'sys/renew',
  'sys/leases/renew',
  'sys/leases/lookup',
  'sys/capabilities-self',
  'cubbyhole/*',
];

export interface TokenEntry {
  readonly id: string;
  readonly accessor: string;
  /** Sorted, with `default`. */
  readonly policies: readonly string[];
  readonly metadata: Readonly<Record<string, string>>;
  /** The login path that created it, e.g. `auth/kubernetes/login`. */
  readonly path: string;
  readonly displayName: string;
  readonly entityId: string;
  readonly issuedAt: number;
  readonly creationTtl: number;
  /** The role's `token_ttl` (0 → mount default), used when renew-self has no increment. */
  readonly roleTtl: number;
  /** The role's `token_max_ttl` (0 → mount max). */
  readonly roleMaxTtl: number;
  expiresAt: number;
  revoked: boolean;
}

export interface NewToken {
  readonly policies: readonly string[];
  readonly metadata: Readonly<Record<string, string>>;
  readonly path: string;
  readonly displayName: string;
  /** Stable per identity: the same alias always gets the same entity id. */
  readonly entityKey: string;
  readonly roleTtl: number;
  readonly roleMaxTtl: number;
}

export interface TokenStoreOptions {
  readonly now: Now;
  readonly defaultTtl: number;
  readonly maxTtl: number;
  /** Vault appends `.<namespace id>` to token ids and accessors created in a namespace. */
  readonly namespaceId: string | undefined;
}

export class TokenStore {
  private readonly tokens = new Map<string, TokenEntry>();

  constructor(private readonly options: TokenStoreOptions) {}

  create(request: NewToken): { entry: TokenEntry; warnings: readonly string[] } {
    const now = this.options.now();
    const ttl = this.ttl(now, now, 0, request.roleTtl, request.roleMaxTtl);
    if ('error' in ttl) throw new Error(ttl.error);
    const suffix = this.options.namespaceId === undefined ? '' : `.${this.options.namespaceId}`;
    const entry: TokenEntry = {
      id: `hvs.${base62(24)}${suffix}`,
      accessor: `${base62(24)}${suffix}`,
      policies: [...new Set(['default', ...request.policies])].sort(),
      metadata: { ...request.metadata },
      path: request.path,
      displayName: request.displayName,
      entityId: uuidFrom(request.entityKey),
      issuedAt: now,
      creationTtl: ttl.ttl,
      roleTtl: request.roleTtl,
      roleMaxTtl: request.roleMaxTtl,
      expiresAt: now + ttl.ttl * 1000,
      revoked: false,
    };
    this.tokens.set(entry.id, entry);
    return { entry, warnings: ttl.warnings };
  }

  /** The live token with this id; undefined when unknown, revoked or expired on the server clock. */
  lookup(id: string | undefined): TokenEntry | undefined {
    if (id === undefined || id === '') return undefined;
    const entry = this.tokens.get(id);
    if (entry === undefined || entry.revoked || this.options.now() >= entry.expiresAt) return undefined;
    return entry;
  }

  /** Whether a token ever existed with this id (live or not). */
  known(id: string): boolean {
    return this.tokens.has(id);
  }

  revoke(id: string): void {
    const entry = this.tokens.get(id);
    if (entry !== undefined) entry.revoked = true;
  }

  /** `auth/token/renew-self`: a new TTL from now, capped at issue time + max TTL. */
  renew(entry: TokenEntry, increment: number): TtlResult {
    const now = this.options.now();
    const result = this.ttl(now, entry.issuedAt, increment, entry.roleTtl, entry.roleMaxTtl);
    if (!('error' in result)) entry.expiresAt = now + result.ttl * 1000;
    return result;
  }

  /** Seconds left, rounded down. */
  remaining(entry: TokenEntry): number {
    return Math.max(0, Math.floor((entry.expiresAt - this.options.now()) / 1000));
  }

  auth(entry: TokenEntry, leaseDuration: number): WireAuth {
    return {
      client_token: entry.id,
      accessor: entry.accessor,
      policies: entry.policies,
      token_policies: entry.policies,
      metadata: entry.metadata,
      lease_duration: leaseDuration,
      renewable: true,
      entity_id: entry.entityId,
      token_type: 'service',
      orphan: true,
      mfa_requirement: null,
      num_uses: 0,
    };
  }

  private ttl(nowMs: number, startMs: number, increment: number, roleTtl: number, roleMaxTtl: number): TtlResult {
    return calculateTtl({
      nowMs,
      startMs,
      increment,
      backendTtl: roleTtl,
      backendMaxTtl: roleMaxTtl,
      mountDefaultTtl: this.options.defaultTtl,
      mountMaxTtl: this.options.maxTtl,
    });
  }
}

/** Named ACL policies: path patterns only. */
export class PolicyStore {
  private readonly policies = new Map<string, RegExp[]>();

  set(name: string, paths: readonly string[]): void {
    if (name === 'default' || name === 'root') throw new Error(`policy ${name} is built in`);
    this.policies.set(name, paths.map(pathPattern));
  }

  /** Whether any of the policies grants `path` (relative to the namespace, no leading slash). */
  allows(policies: readonly string[], path: string): boolean {
    if (policies.includes('root')) return true;
    if (DEFAULT_PATTERNS.some((p) => p.test(path))) return true;
    return policies.some((name) => (this.policies.get(name) ?? []).some((p) => p.test(path)));
  }
}

const DEFAULT_PATTERNS = DEFAULT_POLICY_PATHS.map(pathPattern);

/** A Vault policy path → a regular expression: `+` is one segment, a trailing `*` any suffix. */
export function pathPattern(path: string): RegExp {
  const prefix = path.endsWith('*');
  const body = (prefix ? path.slice(0, -1) : path)
    .split('+')
    .map((part) => part.replace(/[.*?^${}()|[\]\\]/g, '\\$&'))
    .join('[^/]+');
  return new RegExp(`^${body}${prefix ? '.*' : ''}$`);
}

/** A UUID-shaped id derived from a key, so one identity keeps one entity id. */
export function uuidFrom(key: string): string {
  const hex = createHash('sha256').update(key).digest('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
}

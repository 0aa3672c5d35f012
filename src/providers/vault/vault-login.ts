import { createHash } from 'node:crypto';
import type { Agent } from 'undici';
import { Errors } from '../../errors/catalogue.js';
import type { BackendRequestReporter } from '../../observability/backend-requests.js';
import type { PodIdentity, ServiceAccountToken } from '../provider.js';
import { vaultRequest, VaultHttpError } from './vault-http.js';

export interface LoginTarget {
  readonly address: string;
  readonly namespace: string | undefined;
  /** Auth mount path, e.g. `kubernetes` or `jwt` (login is `auth/<mount>/login`). */
  readonly mountPath: string;
  readonly role: string;
  readonly audience: string;
  /** Identifies the TLS settings (a login over other TLS options is another login). */
  readonly tlsKey: string;
  readonly agent: Agent;
  /** Counts each request to Vault in the driver's metrics (docs/metrics.md). */
  readonly reporter?: BackendRequestReporter;
}

/** A Vault token as one fetch uses it. */
export interface VaultSession {
  readonly token: string;
  /** A hash of the token: which token owns a lease, without keeping the token next to it. */
  readonly id: string;
  /** When the session must be renewed: content that depends on it is refreshed by then. */
  readonly useUntilMs: number;
  /** When Vault expires the token, revoking every lease it created. */
  readonly expiresAtMs: number;
  /** True when this fetch obtained it: a 403 with it is a policy answer, not a stale token. */
  readonly fresh: boolean;
}

interface CachedToken {
  readonly token: string;
  readonly id: string;
  readonly useUntilMs: number;
  readonly expiresAtMs: number;
  readonly renewable: boolean;
  readonly ttlSeconds: number;
}

/** Use a Vault token for this share of its TTL, then renew it (or log in again). */
const TOKEN_USE_FRACTION = 0.8;
/** Bound on cached tokens (vault-csi-provider caps its cache at 1000 too). */
const MAX_CACHED_TOKENS = 1000;

export interface VaultLoginsOptions {
  /**
   * Auth mounts whose roles can only bind a service account and namespace (Kubernetes auth):
   * one login is shared by every pod of the identity. Other mounts (JWT auth can bind any claim,
   * such as the pod name) get one login per pod, so Vault judges every pod's own token.
   */
  readonly sharedLoginMounts: readonly string[];
}

/**
 * Vault tokens per identity. Concurrent logins for one key are made once; tokens live only in
 * memory, are renewed with renew-self (Vault revokes the leases a token created when the token
 * expires, so replacing it would orphan the pod's dynamic credentials), and are replaced by a
 * new login only when Vault will not renew them.
 */
export class VaultLogins {
  private readonly cache = new Map<string, CachedToken>();
  private readonly inFlight = new Map<string, Promise<CachedToken>>();

  constructor(private readonly options: VaultLoginsOptions) {}

  async session(target: LoginTarget, identity: PodIdentity, jwt: ServiceAccountToken, nowMs: number, signal: AbortSignal): Promise<VaultSession> {
    const key = this.key(target, identity, jwt);
    const cached = this.cache.get(key);
    if (cached !== undefined && nowMs < cached.useUntilMs) return toSession(cached, false);
    let pending = this.inFlight.get(key);
    if (pending === undefined) {
      pending = this.renewOrLogin(cached, target, identity, jwt, nowMs, signal).finally(() => this.inFlight.delete(key));
      this.inFlight.set(key, pending);
    }
    const obtained = await pending;
    this.remember(key, obtained, nowMs);
    return toSession(obtained, obtained.id !== cached?.id);
  }

  /** Whether Vault still accepts this token (`lookup-self`): tells a policy 403 from a dead token. */
  async isAlive(target: LoginTarget, session: VaultSession, signal: AbortSignal): Promise<boolean> {
    try {
      await vaultRequest({ address: target.address, method: 'GET', path: 'auth/token/lookup-self', token: session.token, agent: target.agent, reporter: target.reporter, signal, what: 'Vault token lookup', ...ns(target) });
      return true;
    } catch (error) {
      if (error instanceof VaultHttpError && (error.status === 403 || error.status === 401)) return false;
      throw error;
    }
  }

  /** The token is dead: the next session for this identity logs in again. */
  forget(target: LoginTarget, identity: PodIdentity, jwt: ServiceAccountToken, session: VaultSession): void {
    const key = this.key(target, identity, jwt);
    if (this.cache.get(key)?.id === session.id) this.cache.delete(key);
  }

  private async renewOrLogin(cached: CachedToken | undefined, target: LoginTarget, identity: PodIdentity, jwt: ServiceAccountToken, nowMs: number, signal: AbortSignal): Promise<CachedToken> {
    if (cached !== undefined && cached.renewable && nowMs < cached.expiresAtMs) {
      try {
        const response = await vaultRequest({
          address: target.address,
          method: 'POST',
          path: 'auth/token/renew-self',
          token: cached.token,
          body: { increment: `${cached.ttlSeconds}s` },
          agent: target.agent, reporter: target.reporter,
          signal,
          what: 'Vault token renewal',
          ...ns(target),
        });
        const granted = response.auth?.lease_duration ?? 0;
        // Extended by a useful amount (not just up to an imminent max TTL): keep the same token.
        if (nowMs + granted * 1000 > cached.expiresAtMs + (cached.ttlSeconds * 1000) / 3) {
          return { ...cached, useUntilMs: nowMs + granted * 1000 * TOKEN_USE_FRACTION, expiresAtMs: nowMs + granted * 1000, renewable: response.auth?.renewable !== false };
        }
      } catch (error) {
        // Only Vault's own refusal (revoked, not renewable: 400/403) means "log in again"; a
        // throttled or unreachable Vault would refuse the login too, and the token still works.
        if (!(error instanceof VaultHttpError && (error.status === 400 || error.status === 403))) {
          if (nowMs < cached.expiresAtMs) return cached;
          throw error;
        }
      }
    }
    return this.login(target, identity, jwt, nowMs, signal);
  }

  private async login(target: LoginTarget, identity: PodIdentity, jwt: ServiceAccountToken, nowMs: number, signal: AbortSignal): Promise<CachedToken> {
    const what = `login to Vault auth mount "${target.mountPath}" as role "${target.role}" for ${identity.namespace}/${identity.serviceAccountName}`;
    const response = await vaultRequest({
      address: target.address,
      method: 'POST',
      path: `auth/${target.mountPath}/login`,
      body: { role: target.role, jwt: jwt.token },
      agent: target.agent, reporter: target.reporter,
      signal,
      what,
      loginRefusalIsDenial: true,
      ...ns(target),
    });
    const auth = response.auth;
    if (auth === undefined || auth === null || typeof auth.client_token !== 'string' || auth.client_token === '') {
      throw Errors.backendUnavailable(`Vault at ${target.address}`, `${what}: the answer has no auth.client_token`);
    }
    // A token without a TTL (root-like) is still re-checked every few minutes, so a revoked
    // binding takes effect.
    const ttlMs = typeof auth.lease_duration === 'number' && auth.lease_duration > 0 ? auth.lease_duration * 1000 : 5 * 60_000;
    return {
      token: auth.client_token,
      id: createHash('sha256').update(auth.client_token).digest('hex').slice(0, 16),
      useUntilMs: nowMs + ttlMs * TOKEN_USE_FRACTION,
      expiresAtMs: nowMs + ttlMs,
      renewable: auth.renewable === true,
      ttlSeconds: Math.round(ttlMs / 1000),
    };
  }

  /** Insert, dropping expired entries and then the oldest when the cache is full. */
  private remember(key: string, token: CachedToken, nowMs: number): void {
    this.cache.delete(key);
    this.cache.set(key, token);
    if (this.cache.size <= MAX_CACHED_TOKENS) return;
    for (const [k, v] of this.cache) if (v.expiresAtMs <= nowMs) this.cache.delete(k);
    while (this.cache.size > MAX_CACHED_TOKENS) this.cache.delete(this.cache.keys().next().value as string);
  }

  /**
   * Everything Vault's decision depends on: where and how we log in, the audience, and the
   * service account (by name and UID, so a re-created account is another identity). For mounts
   * not listed as shared, also the pod.
   */
  private key(target: LoginTarget, identity: PodIdentity, jwt: ServiceAccountToken): string {
    const shared = this.options.sharedLoginMounts.includes(target.mountPath);
    return createHash('sha256')
      .update(
        JSON.stringify([
          target.address,
          target.namespace ?? '',
          target.tlsKey,
          target.mountPath,
          target.role,
          target.audience,
          identity.namespace,
          identity.serviceAccountName,
          jwt.serviceAccountUid,
          shared ? '' : identity.podUid,
        ]),
      )
      .digest('hex');
  }
}

function toSession(token: CachedToken, fresh: boolean): VaultSession {
  return { token: token.token, id: token.id, useUntilMs: token.useUntilMs, expiresAtMs: token.expiresAtMs, fresh };
}

function ns(target: LoginTarget): { namespace?: string } {
  return target.namespace === undefined ? {} : { namespace: target.namespace };
}

import { createHash } from 'node:crypto';
import type { Agent } from 'undici';
import { Errors } from '../../errors/catalogue.js';
import type { PodIdentity, ServiceAccountToken } from '../provider.js';
import { vaultRequest } from './vault-http.js';

export interface LoginTarget {
  readonly address: string;
  readonly namespace: string | undefined;
  /** Auth mount path, e.g. `kubernetes` or `jwt` (login is `auth/<mount>/login`). */
  readonly mountPath: string;
  readonly role: string;
  readonly agent: Agent;
}

interface CachedToken {
  readonly token: string;
  /** When we stop using it as is: shortly before Vault would expire it. */
  readonly useUntilMs: number;
  /** When Vault expires it. */
  readonly expiresAtMs: number;
  readonly renewable: boolean;
  readonly ttlSeconds: number;
}

/** Use a Vault token for this share of its TTL, then log in again with the pod's newest JWT. */
const TOKEN_USE_FRACTION = 0.8;

/**
 * Vault tokens, one per pod identity and role: every volume of one service account in one
 * namespace, logging in to the same role of the same Vault, shares one token, and concurrent
 * logins for it are made once. Tokens live only in this process's memory.
 *
 * The key never includes the pod's JWT or the pod: Vault's role binding authorises the service
 * account, so the token is the same whichever pod's JWT obtained it.
 */
export class VaultLogins {
  private readonly cache = new Map<string, CachedToken>();
  private readonly inFlight = new Map<string, Promise<CachedToken>>();
  /** Logins performed (for tests and metrics). */
  count = 0;
  /** Token renewals performed. */
  renewals = 0;

  async token(target: LoginTarget, identity: PodIdentity, jwt: ServiceAccountToken, nowMs: number, signal: AbortSignal): Promise<string> {
    const key = loginKey(target, identity);
    const cached = this.cache.get(key);
    if (cached !== undefined && nowMs < cached.useUntilMs) return cached.token;
    let pending = this.inFlight.get(key);
    if (pending === undefined) {
      pending = this.renewOrLogin(cached, target, identity, jwt, nowMs, signal).finally(() => this.inFlight.delete(key));
      this.inFlight.set(key, pending);
    }
    const fresh = await pending;
    this.cache.set(key, fresh);
    return fresh.token;
  }

  /** Vault said 403 with this token: forget it so the next fetch logs in again. */
  forget(target: LoginTarget, identity: PodIdentity): void {
    this.cache.delete(loginKey(target, identity));
  }

  /**
   * Keep the same token alive while Vault lets us (renew-self), because Vault revokes every lease a
   * token created when the token itself expires: re-logging in would silently orphan the pod's
   * database credentials. Log in again only when the token cannot be extended any more.
   */
  private async renewOrLogin(cached: CachedToken | undefined, target: LoginTarget, identity: PodIdentity, jwt: ServiceAccountToken, nowMs: number, signal: AbortSignal): Promise<CachedToken> {
    if (cached !== undefined && cached.renewable && nowMs < cached.expiresAtMs) {
      try {
        const response = await vaultRequest({
          address: target.address,
          method: 'POST',
          path: 'auth/token/renew-self',
          token: cached.token,
          body: { increment: `${cached.ttlSeconds}s` },
          agent: target.agent,
          signal,
          what: 'Vault token renewal',
          ...(target.namespace === undefined ? {} : { namespace: target.namespace }),
        });
        this.renewals += 1;
        const granted = response.auth?.lease_duration ?? 0;
        // Extended by a useful amount (not just up to an imminent max TTL): keep using it.
        if (nowMs + granted * 1000 > cached.expiresAtMs + (cached.ttlSeconds * 1000) / 3) {
          return { ...cached, useUntilMs: nowMs + granted * 1000 * TOKEN_USE_FRACTION, expiresAtMs: nowMs + granted * 1000, renewable: response.auth?.renewable !== false };
        }
      } catch {
        // Any failure to renew (revoked, max TTL, policy without renew-self): log in afresh.
      }
    }
    return this.login(target, identity, jwt, nowMs, signal);
  }

  private async login(target: LoginTarget, identity: PodIdentity, jwt: ServiceAccountToken, nowMs: number, signal: AbortSignal): Promise<CachedToken> {
    this.count += 1;
    const what = `login to Vault auth mount "${target.mountPath}" as role "${target.role}" for ${identity.namespace}/${identity.serviceAccountName}`;
    const response = await vaultRequest({
      address: target.address,
      method: 'POST',
      path: `auth/${target.mountPath}/login`,
      body: { role: target.role, jwt: jwt.token },
      agent: target.agent,
      signal,
      what,
      ...(target.namespace === undefined ? {} : { namespace: target.namespace }),
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
      useUntilMs: nowMs + ttlMs * TOKEN_USE_FRACTION,
      expiresAtMs: nowMs + ttlMs,
      renewable: auth.renewable === true,
      ttlSeconds: Math.round(ttlMs / 1000),
    };
  }
}

function loginKey(target: LoginTarget, identity: PodIdentity): string {
  return createHash('sha256')
    .update(JSON.stringify([target.address, target.namespace ?? '', target.mountPath, target.role, identity.namespace, identity.serviceAccountName]))
    .digest('hex');
}

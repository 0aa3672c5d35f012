import { createHash } from 'node:crypto';
import { Errors } from '../../errors/catalogue.js';
import type { PodIdentity, ServiceAccountToken } from '../provider.js';
import { googleRequest } from './google-http.js';
import type { Impersonation } from './gcp-parameters.js';

/** How the driver turns a pod token into a Google access token (chosen by driver flags). */
export interface ExchangeSettings {
  /**
   * `federation`: STS `v1/token` with a workload identity pool provider's audience.
   * `gke`: the GKE identity binding token endpoint with the `identitynamespace:` audience.
   */
  readonly form: 'federation' | 'gke';
  /** The URL the exchange is POSTed to. */
  readonly exchangeUrl: string;
  /** `audience` in the exchange request. */
  readonly stsAudience: string;
  /** The audience of the kubelet token presented (it must be in the CSIDriver's tokenRequests). */
  readonly tokenAudience: string;
  readonly iamCredentialsEndpoint: string;
  /** Lifetime asked for impersonated tokens. */
  readonly tokenLifetimeSeconds: number;
}

/** A Google access token for one identity. */
export interface GoogleAccessToken {
  readonly token: string;
  readonly expiresAtMs: number;
  /** When it is renewed: five minutes before expiry (a quarter of its life if shorter). */
  readonly renewAtMs: number;
  /** The cache key (a hash: names the identity without holding a credential). */
  readonly key: string;
}

const TOKEN_EXCHANGE_GRANT = 'urn:ietf:params:oauth:grant-type:token-exchange';
const JWT_TOKEN_TYPE = 'urn:ietf:params:oauth:token-type:jwt';
const ACCESS_TOKEN_TYPE = 'urn:ietf:params:oauth:token-type:access_token';
export const CLOUD_PLATFORM_SCOPE = 'https://www.googleapis.com/auth/cloud-platform';
/** Renew this long before expiry (google-auth-library's default eager refresh is 5 minutes too). */
const EXPIRY_MARGIN_MS = 5 * 60_000;
const MAX_CACHED = 1000;
/** A shared exchange (STS, then IAM Credentials) is given up after this long. */
const EXCHANGE_TIMEOUT_MS = 60_000;

interface StsResponse {
  readonly access_token?: unknown;
  readonly expires_in?: unknown;
}

interface GenerateAccessTokenResponse {
  readonly accessToken?: unknown;
  readonly expireTime?: unknown;
}

/**
 * Google access tokens per pod identity. A token is obtained by (1) exchanging the pod's
 * service-account token at STS (workload identity federation or GKE's identity binding) and,
 * when the volume asks for a Google service account, (2) impersonating it with IAM Credentials
 * `generateAccessToken` (with delegates). Tokens live only in memory and are reused until five
 * minutes before they expire; concurrent requests for one identity share one exchange.
 */
export class GoogleTokens {
  private readonly cache = new Map<string, GoogleAccessToken>();
  private readonly inFlight = new Map<string, Promise<GoogleAccessToken>>();
  /** Token requests actually sent (tests and docs: how much a node asks of STS). */
  exchanges = 0;

  constructor(readonly settings: ExchangeSettings) {}

  async get(identity: PodIdentity, jwt: ServiceAccountToken, impersonation: Impersonation | undefined, nowMs: number, signal: AbortSignal): Promise<GoogleAccessToken> {
    const key = this.key(identity, jwt, impersonation);
    const cached = this.cache.get(key);
    if (cached !== undefined && nowMs < cached.renewAtMs) return cached;
    let pending = this.inFlight.get(key);
    if (pending === undefined) {
      // The exchange is shared by every caller for this identity, so it must not be abandoned
      // with the first caller's signal (its volume's timeout): it runs under its own timeout, and
      // each caller stops waiting when its own signal aborts.
      pending = this.obtain(key, identity, jwt, impersonation, nowMs, AbortSignal.timeout(EXCHANGE_TIMEOUT_MS))
        .then((token) => {
          this.remember(token, nowMs);
          return token;
        })
        .finally(() => this.inFlight.delete(key));
      this.inFlight.set(key, pending);
    }
    return untilAborted(pending, signal);
  }

  /** Secret Manager refused this token (401): the next request obtains a new one. */
  forget(token: GoogleAccessToken): void {
    if (this.cache.get(token.key)?.token === token.token) this.cache.delete(token.key);
  }

  private async obtain(key: string, identity: PodIdentity, jwt: ServiceAccountToken, impersonation: Impersonation | undefined, nowMs: number, signal: AbortSignal): Promise<GoogleAccessToken> {
    const who = `${identity.namespace}/${identity.serviceAccountName}`;
    const s = this.settings;
    // 1. The pod token for a federated token (RFC 8693 fields; GKE's endpoint takes them as JSON).
    this.exchanges += 1;
    const sts = await googleRequest<StsResponse>({
      url: s.exchangeUrl,
      method: 'POST',
      body: {
        grant_type: TOKEN_EXCHANGE_GRANT,
        subject_token_type: JWT_TOKEN_TYPE,
        requested_token_type: ACCESS_TOKEN_TYPE,
        subject_token: jwt.token,
        audience: s.stsAudience,
        scope: CLOUD_PLATFORM_SCOPE,
      },
      form: s.form === 'federation',
      signal,
      service: s.form === 'federation' ? 'Google STS' : 'GKE identity binding',
      what: `token exchange for ${who} (audience ${s.stsAudience})`,
      onUnauthenticated: (reason) => Errors.tokenRejected(s.tokenAudience, `token exchange for ${who}: ${reason}`),
    });
    if (typeof sts.access_token !== 'string' || sts.access_token === '') throw Errors.backendUnavailable('Google STS', `token exchange for ${who}: the answer has no access_token`);
    const federated = accessToken(sts.access_token, nowMs + seconds(sts.expires_in, 3600) * 1000, nowMs, key);
    if (impersonation === undefined) return federated;

    // 2. Impersonate the Google service account with the federated token.
    const delegates = impersonation.delegates.map((email) => `projects/-/serviceAccounts/${email}`);
    const generated = await googleRequest<GenerateAccessTokenResponse>({
      url: `${s.iamCredentialsEndpoint.replace(/\/+$/, '')}/v1/projects/-/serviceAccounts/${impersonation.serviceAccount}:generateAccessToken`,
      method: 'POST',
      accessToken: federated.token,
      body: { ...(delegates.length === 0 ? {} : { delegates }), scope: [CLOUD_PLATFORM_SCOPE], lifetime: `${s.tokenLifetimeSeconds}s` },
      signal,
      service: 'IAM Credentials',
      what: `impersonating ${impersonation.serviceAccount}${delegates.length === 0 ? '' : ` through ${impersonation.delegates.join(' → ')}`} as ${who}`,
    });
    const expiresAtMs = typeof generated.expireTime === 'string' ? Date.parse(generated.expireTime) : Number.NaN;
    if (typeof generated.accessToken !== 'string' || generated.accessToken === '' || Number.isNaN(expiresAtMs)) {
      throw Errors.backendUnavailable('IAM Credentials', `impersonating ${impersonation.serviceAccount}: the answer has no accessToken or expireTime`);
    }
    return accessToken(generated.accessToken, expiresAtMs, nowMs, key);
  }

  private remember(token: GoogleAccessToken, nowMs: number): void {
    this.cache.delete(token.key);
    this.cache.set(token.key, token);
    if (this.cache.size <= MAX_CACHED) return;
    for (const [k, v] of this.cache) if (v.expiresAtMs <= nowMs) this.cache.delete(k);
    while (this.cache.size > MAX_CACHED) this.cache.delete(this.cache.keys().next().value as string);
  }

  /**
   * Everything Google's answer depends on: the exchange, the service account (name and UID, so a
   * re-created account is another identity) and whom it impersonates. Pods of one service
   * account share a token, as GKE's own metadata server does for them.
   */
  private key(identity: PodIdentity, jwt: ServiceAccountToken, impersonation: Impersonation | undefined): string {
    return createHash('sha256')
      .update(
        JSON.stringify([
          this.settings.exchangeUrl,
          this.settings.stsAudience,
          jwt.audience,
          identity.namespace,
          identity.serviceAccountName,
          jwt.serviceAccountUid,
          impersonation?.serviceAccount ?? '',
          impersonation?.delegates ?? [],
        ]),
      )
      .digest('hex');
  }
}

/** `promise`, or the signal's reason as soon as it aborts (the promise itself goes on). */
function untilAborted<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason as Error);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason as Error);
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}

function accessToken(token: string, expiresAtMs: number, nowMs: number, key: string): GoogleAccessToken {
  const lifetime = Math.max(0, expiresAtMs - nowMs);
  return { token, expiresAtMs, renewAtMs: expiresAtMs - Math.min(EXPIRY_MARGIN_MS, lifetime / 4), key };
}

function seconds(value: unknown, fallback: number): number {
  const n = typeof value === 'number' ? value : typeof value === 'string' && /^\d+$/.test(value) ? Number(value) : Number.NaN;
  return Number.isFinite(n) && n > 0 ? n : fallback;
}

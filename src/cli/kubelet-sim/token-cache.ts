/**
 * Kubelet's service-account token cache (pkg/kubelet/token/token_manager.go), so that republish
 * calls carry the same token most of the time, exactly as on a real node: a token is reused
 * until 80% of its TTL has passed (minus up to 10 s of jitter), or it is older than 24 h, or
 * the clock went backwards past its issue time.
 */
import type { MintedToken, MintRequest } from './token-issuer.js';
import type { SimulatedPod } from './simulated-pod.js';

export interface TokenMinter {
  mint(request: MintRequest): Promise<MintedToken>;
}

export interface TokenCacheOptions {
  /** Default: the wall clock. */
  readonly now?: () => Date;
  /** Seconds subtracted from the refresh point; kubelet uses a whole number in [0, 10). Default: the same. */
  readonly jitterSeconds?: () => number;
}

interface CachedToken {
  readonly minted: MintedToken;
  readonly expiresAt: Date;
  readonly ttlSeconds: number;
  readonly podUid: string;
}

const MAX_TTL_SECONDS = 24 * 60 * 60;
const MAX_JITTER_SECONDS = 10;

/**
 * Whether kubelet would request a new token instead of reusing this one.
 * `issuedAt` is derived as kubelet does: expiration − requested TTL.
 */
export function requiresRefresh(expiresAt: Date, ttlSeconds: number, now: Date, jitterSeconds = 0): boolean {
  const exp = expiresAt.getTime();
  const iat = exp - ttlSeconds * 1000;
  const jitter = jitterSeconds * 1000;
  if (now.getTime() > iat + MAX_TTL_SECONDS * 1000 - jitter) return true;
  // Within the last 20% of the TTL (integer arithmetic, like kubelet's).
  if (now.getTime() > exp - Math.floor((ttlSeconds * 20) / 100) * 1000 - jitter) return true;
  return now.getTime() < iat;
}

export class TokenCache {
  private readonly cache = new Map<string, CachedToken>();
  private readonly inFlight = new Map<string, Promise<MintedToken>>();
  private readonly now: () => Date;
  private readonly jitterSeconds: () => number;
  /** How many tokens were minted (tests use it to see reuse). */
  mintCount = 0;

  constructor(
    private readonly minter: TokenMinter,
    options: TokenCacheOptions = {},
  ) {
    this.now = options.now ?? (() => new Date());
    this.jitterSeconds = options.jitterSeconds ?? (() => Math.floor(Math.random() * MAX_JITTER_SECONDS));
  }

  /** A token for one audience of the pod: the cached one, or a fresh one when kubelet would refresh. */
  async get(pod: SimulatedPod, audience: string, ttlSeconds?: number): Promise<MintedToken> {
    const ttl = ttlSeconds ?? 3600;
    // Like kubelet's keyFunc: service account, namespace, audience, TTL and the bound pod.
    const key = JSON.stringify([pod.serviceAccountName, pod.namespace, audience, ttl, pod.name, pod.uid]);
    const now = this.now();
    const cached = this.cache.get(key);
    if (cached !== undefined && !requiresRefresh(cached.expiresAt, cached.ttlSeconds, now, this.jitterSeconds())) return cached.minted;

    // Concurrent republishes of one volume share a single mint.
    const pending = this.inFlight.get(key);
    if (pending !== undefined) return pending;
    const minting = this.minter
      .mint({ namespace: pod.namespace, podName: pod.name, podUid: pod.uid, serviceAccountName: pod.serviceAccountName, audience, ttlSeconds: ttl, now })
      .then(
        (minted) => {
          this.mintCount += 1;
          this.cache.set(key, { minted, expiresAt: new Date(minted.expirationTimestamp), ttlSeconds: ttl, podUid: pod.uid });
          return minted;
        },
        (error: unknown) => {
          // Like kubelet: a failed refresh keeps serving the old token while it is still valid.
          if (cached !== undefined && now.getTime() <= cached.expiresAt.getTime()) return cached.minted;
          throw error;
        },
      )
      .finally(() => this.inFlight.delete(key));
    this.inFlight.set(key, minting);
    return minting;
  }

  /** Tokens for every audience of the pod's CSIDriver, as kubelet gathers them before a publish. */
  async tokensFor(pod: SimulatedPod, ttlSeconds?: number): Promise<Map<string, MintedToken>> {
    const entries = await Promise.all(pod.audiences.map(async (audience) => [audience, await this.get(pod, audience, ttlSeconds)] as const));
    return new Map(entries);
  }

  /** Forget a deleted pod's tokens (kubelet's DeleteServiceAccountToken). */
  deletePod(podUid: string): void {
    for (const [key, cached] of this.cache) if (cached.podUid === podUid) this.cache.delete(key);
  }

  get size(): number {
    return this.cache.size;
  }
}

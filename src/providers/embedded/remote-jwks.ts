import { get as httpGet, type IncomingMessage } from 'node:http';
import { get as httpsGet } from 'node:https';
import { createLocalJWKSet, errors as joseErrors, type JSONWebKeySet, type JWTVerifyGetKey } from 'jose';

/**
 * The issuer's JWKS fetched over HTTP(S) with node:http/node:https, kept for `cacheMaxAgeMs`, and
 * fetched again early — at most once per `cooldownMs` — when a token names a key it lacks (the
 * issuer rotated its keys). The same policy as jose's createRemoteJWKSet (10 min, 30 s).
 *
 * Why not createRemoteJWKSet: it builds on Node.js's fetch, and loading that (undici, with its
 * WebAssembly HTTP parser) grew the driver's resident memory by 15–20 MiB at the first token, on
 * every node, for one small GET every ten minutes (bench/README.md, optimisation log).
 */

export interface RemoteJwksOptions {
  /** Give up on a fetch after this long. */
  readonly timeoutMs: number;
  /** A fetched set is used this long before it is fetched again. */
  readonly cacheMaxAgeMs: number;
  /** An unknown key id fetches again only if the last fetch is at least this old. */
  readonly cooldownMs: number;
  /** Milliseconds since the epoch; injectable for tests. */
  readonly now: () => number;
}

export const REMOTE_JWKS_DEFAULTS = { timeoutMs: 5_000, cacheMaxAgeMs: 10 * 60_000, cooldownMs: 30_000 } as const;

/** A JWKS document is a few kilobytes; anything near this is not one. */
const MAX_BODY_BYTES = 1024 * 1024;

/**
 * A JWKS document's text as a key set, or the reason it is not one ("is not valid JSON", ...),
 * which names the problem and never the content. Shared by the URL and the file source.
 */
export function parseJwksDocument(text: string): JSONWebKeySet | { readonly problem: string } {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return { problem: 'is not valid JSON' };
  }
  if (typeof value !== 'object' || value === null || !Array.isArray((value as { keys?: unknown }).keys)) return { problem: 'is not a JSON Web Key Set (no "keys" list)' };
  return value as JSONWebKeySet;
}

/** Why the set could not be fetched; the message names the problem, never a response body. */
export class JwksFetchError extends Error {
  override readonly name = 'JwksFetchError';
}

export class RemoteJwks {
  #keys: JWTVerifyGetKey | undefined;
  #fetchedAt = Number.NEGATIVE_INFINITY;
  #pending: Promise<JWTVerifyGetKey> | undefined;

  constructor(
    private readonly url: URL,
    private readonly options: RemoteJwksOptions,
  ) {}

  /** jose's key lookup: the cached set, fetched when stale, and once more for an unknown key id. */
  readonly getKey: JWTVerifyGetKey = async (header, token) => {
    const keys = this.#keys !== undefined && this.options.now() - this.#fetchedAt < this.options.cacheMaxAgeMs ? this.#keys : await this.#reload();
    try {
      return await keys(header, token);
    } catch (error: unknown) {
      if (!(error instanceof joseErrors.JWKSNoMatchingKey) || this.options.now() - this.#fetchedAt < this.options.cooldownMs) throw error;
      return (await this.#reload())(header, token);
    }
  };

  /** Concurrent callers share one fetch; a failed fetch keeps nothing, so the next call tries again. */
  #reload(): Promise<JWTVerifyGetKey> {
    this.#pending ??= fetchJwks(this.url, this.options.timeoutMs)
      .then((jwks) => {
        this.#keys = createLocalJWKSet(jwks);
        this.#fetchedAt = this.options.now();
        return this.#keys;
      })
      .finally(() => {
        this.#pending = undefined;
      });
    return this.#pending;
  }
}

/** GET the set: 200 with a JSON body holding a `keys` list, or an error saying what was wrong. Redirects are not followed. */
function fetchJwks(url: URL, timeoutMs: number): Promise<JSONWebKeySet> {
  const get = url.protocol === 'https:' ? httpsGet : httpGet;
  return new Promise((resolve, reject) => {
    const request = get(url, { headers: { accept: 'application/json, application/jwk-set+json', 'user-agent': 'credmount' }, timeout: timeoutMs }, (response: IncomingMessage) => {
      if (response.statusCode !== 200) {
        response.resume();
        reject(new JwksFetchError(`the JWKS answered HTTP ${response.statusCode ?? '?'}, not 200`));
        return;
      }
      const chunks: Buffer[] = [];
      let size = 0;
      response.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size > MAX_BODY_BYTES) {
          request.destroy(new JwksFetchError(`the JWKS answer is larger than ${MAX_BODY_BYTES} bytes`));
          return;
        }
        chunks.push(chunk);
      });
      response.on('error', reject);
      response.on('end', () => {
        const parsed = parseJwksDocument(Buffer.concat(chunks).toString('utf8'));
        if ('problem' in parsed) reject(new JwksFetchError(`the JWKS answer ${parsed.problem}`));
        else resolve(parsed);
      });
    });
    request.on('timeout', () => request.destroy(new JwksFetchError(`timed out fetching the JWKS after ${timeoutMs} ms`)));
    request.on('error', (error: Error) => reject(error instanceof JwksFetchError ? error : new JwksFetchError(`fetching the JWKS failed: ${'code' in error && typeof error.code === 'string' ? error.code : error.message}`)));
  });
}

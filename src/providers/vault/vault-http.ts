import { fetch, type Agent } from 'undici';
import { Errors, withRetryAfter } from '../../errors/catalogue.js';
import type { CredmountError } from '../../errors/credmount-error.js';
import { httpResult, reportRequest, type BackendRequestReporter } from '../../observability/backend-requests.js';
import { BackendHttpError } from '../backend-http-error.js';
import { describeNetworkError } from '../network-error.js';

/** One call to Vault's HTTP API. */
export interface VaultRequest {
  readonly address: string;
  readonly method: 'GET' | 'PUT' | 'POST' | 'LIST';
  /** Path below `/v1/`, without a leading slash, e.g. `auth/kubernetes/login`. */
  readonly path: string;
  /** Raw query string without `?` (kept exactly as the pod wrote it, e.g. `version=3`). */
  readonly query?: string;
  readonly token?: string;
  readonly namespace?: string;
  readonly body?: unknown;
  readonly agent: Agent;
  readonly signal: AbortSignal;
  /** What the call is about, for error messages: `login as role "billing"`, `secret/data/db`. */
  readonly what: string;
  /** A login refused with 400 (JWT auth's way of saying no) is a denial, not a bad request. */
  readonly loginRefusalIsDenial?: boolean;
  /** Whether a redirect target may receive the token (a standby pointing at the active node). */
  readonly mayFollow?: (origin: string) => boolean;
  /** Counts the request in the driver's metrics (one report per call, after its retries). */
  readonly reporter?: BackendRequestReporter | undefined;
}

/** The parts of a Vault response body credmount reads (the shape every endpoint shares). */
export interface VaultResponse {
  readonly request_id?: string;
  readonly lease_id?: string;
  readonly lease_duration?: number;
  readonly renewable?: boolean;
  readonly data?: unknown;
  readonly warnings?: unknown;
  readonly auth?: VaultAuth | null;
  readonly [key: string]: unknown;
}

export interface VaultAuth {
  readonly client_token: string;
  readonly lease_duration: number;
  readonly renewable: boolean;
  readonly policies?: readonly string[];
}

/** Vault answered with a status that is not 2xx; `status` lets callers react (403 → log in again). */
export class VaultHttpError extends BackendHttpError {
  override readonly name = 'VaultHttpError';
}

/** Longest part of a Vault error message we repeat (they name paths and roles, never values). */
const MAX_MESSAGE = 300;

/**
 * Send one request. Vault's errors come back as `{"errors": [...]}` with a status; they become
 * coded errors with a clear message: 403 → PERMISSION_DENIED, 404 → NOT_FOUND, 400 → the request
 * was refused (INVALID_ARGUMENT), 429/5xx/sealed/standby/network → UNAVAILABLE (with Retry-After).
 * The token travels only in the `X-Vault-Token` header and is never part of a message.
 */
export async function vaultRequest(request: VaultRequest): Promise<VaultResponse> {
  return reportRequest(request.reporter, operationOf(request), () => sendVaultRequest(request), (error) => {
    if (request.signal.aborted) return 'timeout';
    return error instanceof VaultHttpError ? httpResult(error.status) : 'network';
  });
}

/** The metric label for a request: a fixed word, never the path (paths are the pod's). */
function operationOf(request: VaultRequest): string {
  if (request.path.endsWith('/login')) return 'login';
  if (request.path === 'auth/token/lookup-self') return 'lookup';
  if (request.path === 'auth/token/renew-self') return 'renew-token';
  if (request.path === 'sys/leases/renew') return 'renew';
  if (request.path === 'sys/leases/revoke') return 'revoke';
  return request.method === 'GET' || request.method === 'LIST' ? 'read' : 'write';
}

async function sendVaultRequest(request: VaultRequest): Promise<VaultResponse> {
  let url = apiUrl(request.address, request.path, request.query);
  const headers: Record<string, string> = { accept: 'application/json', 'x-vault-request': 'true' };
  if (request.token !== undefined) headers['x-vault-token'] = request.token;
  if (request.namespace !== undefined && request.namespace !== '') headers['x-vault-namespace'] = request.namespace;
  let body: string | undefined;
  // Vault ignores a GET body, and fetch refuses to send one: upstream's GET+secretArgs still works.
  if (request.body !== undefined && request.method !== 'GET') {
    headers['content-type'] = 'application/json';
    body = JSON.stringify(request.body);
  }
  // 1. one redirect (a standby naming the active node), 2. two retries of 412 (Enterprise's
  //    eventual consistency right after a write on another node), as Vault's own client does.
  let redirected = false;
  for (let attempt = 0; ; attempt++) {
    let response;
    try {
      response = await fetch(url, { method: request.method, headers, body, dispatcher: request.agent, signal: request.signal, redirect: 'manual' });
    } catch (error) {
      throw new VaultHttpError(0, Errors.backendUnavailable(`Vault at ${origin(request.address)}`, `${request.what}: ${describeNetworkError(error)}`));
    }
    const text = await response.text();
    if (response.status >= 200 && response.status < 300) {
      if (text === '') return {};
      try {
        return JSON.parse(text) as VaultResponse;
      } catch {
        throw new VaultHttpError(response.status, Errors.backendUnavailable(`Vault at ${origin(request.address)}`, `${request.what}: the answer is not JSON`));
      }
    }
    const location = response.headers.get('location');
    if ((response.status === 307 || response.status === 308) && !redirected && location !== null) {
      const next = new URL(location, url);
      const allowed = (next.protocol === 'https:' || new URL(url).protocol === 'http:') && (request.mayFollow?.(next.origin) ?? next.origin === new URL(url).origin);
      if (allowed) {
        redirected = true;
        url = next.toString();
        continue;
      }
    }
    if (response.status === 412 && attempt < 2) {
      await delay(1000 + Math.random() * 500, request.signal);
      continue;
    }
    throw new VaultHttpError(response.status, errorFor(response.status, text, response.headers.get('retry-after'), request));
  }
}

/**
 * `<address>/v1/<path>?<query>`, and a guard that it really is below `/v1/` of that address:
 * percent-encoded dots or a query in a mount path must not steer the token elsewhere.
 */
export function apiUrl(address: string, path: string, query: string | undefined): string {
  const base = new URL(address);
  const prefix = `${base.pathname.replace(/\/+$/, '')}/v1/`;
  const url = new URL(`${base.origin}${prefix}${path}${query ? `?${query}` : ''}`);
  if (!url.pathname.startsWith(prefix) || url.hash !== '' || url.origin !== base.origin) {
    throw new VaultHttpError(0, Errors.backendRejected(`Vault path ${JSON.stringify(path)}`, 'it does not stay below the Vault API'));
  }
  return url.toString();
}

function origin(address: string): string {
  return URL.canParse(address) ? new URL(address).origin : address;
}

function delay(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener('abort', () => {
      clearTimeout(timer);
      reject(signal.reason);
    }, { once: true });
  });
}

function errorFor(status: number, text: string, retryAfter: string | null, request: VaultRequest): CredmountError {
  const messages = vaultErrors(text);
  const answered = `Vault answered ${status}${messages === '' ? '' : ` (${messages})`}`;
  if (status === 403 || status === 401 || (status === 400 && request.loginRefusalIsDenial === true)) return Errors.accessDenied(request.what, answered);
  if (status === 404) return Errors.notFound(`${request.what} (${answered}${warnings(text)})`);
  if (status === 400 || status === 405) return Errors.backendRejected(request.what, `${answered}${warnings(text)}`);
  return withRetryAfter(Errors.backendUnavailable(`Vault at ${origin(request.address)}`, `${request.what}: ${answered}`), parseRetryAfter(retryAfter));
}

/** Vault explains some 404s only in `warnings` (a KV v2 path read without `data/`). */
function warnings(text: string): string {
  try {
    const parsed = JSON.parse(text) as { warnings?: unknown };
    if (Array.isArray(parsed.warnings) && parsed.warnings.length > 0) {
      const joined = parsed.warnings.filter((w): w is string => typeof w === 'string').join('; ');
      return `; warnings: ${joined.length > MAX_MESSAGE ? `${joined.slice(0, MAX_MESSAGE)}…` : joined}`;
    }
  } catch {
    // not JSON
  }
  return '';
}

/** `{"errors": ["a", "b"]}` → `a; b`, shortened. Anything else → ''. */
function vaultErrors(text: string): string {
  try {
    const parsed = JSON.parse(text) as { errors?: unknown };
    if (Array.isArray(parsed.errors)) {
      const joined = parsed.errors.filter((e): e is string => typeof e === 'string').join('; ');
      return joined.length > MAX_MESSAGE ? `${joined.slice(0, MAX_MESSAGE)}…` : joined;
    }
  } catch {
    // not JSON: say nothing rather than repeat an arbitrary body
  }
  return '';
}

/** `Retry-After: 30` or an HTTP date → milliseconds. */
export function parseRetryAfter(value: string | null, now: number = Date.now()): number | undefined {
  if (value === null || value.trim() === '') return undefined;
  if (/^\d+$/.test(value.trim())) return Number(value.trim()) * 1000;
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

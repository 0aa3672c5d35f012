import { fetch, type Agent } from 'undici';
import { Errors, withRetryAfter } from '../../errors/catalogue.js';
import type { CredmountError } from '../../errors/credmount-error.js';

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
export class VaultHttpError extends Error {
  override readonly name = 'VaultHttpError';
  constructor(
    readonly status: number,
    readonly credmountError: CredmountError,
  ) {
    super(credmountError.message);
  }
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
  const url = `${request.address.replace(/\/+$/, '')}/v1/${request.path}${request.query ? `?${request.query}` : ''}`;
  const headers: Record<string, string> = { accept: 'application/json' };
  if (request.token !== undefined) headers['x-vault-token'] = request.token;
  if (request.namespace !== undefined && request.namespace !== '') headers['x-vault-namespace'] = request.namespace;
  // Vault's "request forwarding" header would be set here for performance standbys; reads are
  // fine on any node, so none is sent.
  let body: string | undefined;
  if (request.body !== undefined) {
    headers['content-type'] = 'application/json';
    body = JSON.stringify(request.body);
  }
  let response;
  try {
    response = await fetch(url, { method: request.method, headers, body, dispatcher: request.agent, signal: request.signal, redirect: 'manual' });
  } catch (error) {
    const reason = describeNetworkError(error);
    throw new VaultHttpError(0, Errors.backendUnavailable(`Vault at ${request.address}`, `${request.what}: ${reason}`));
  }
  const text = await response.text();
  if (response.status >= 200 && response.status < 300) {
    if (text === '') return {};
    try {
      return JSON.parse(text) as VaultResponse;
    } catch {
      throw new VaultHttpError(response.status, Errors.backendUnavailable(`Vault at ${request.address}`, `${request.what}: the answer is not JSON`));
    }
  }
  throw new VaultHttpError(response.status, errorFor(response.status, vaultErrors(text), response.headers.get('retry-after'), request));
}

function errorFor(status: number, messages: string, retryAfter: string | null, request: VaultRequest): CredmountError {
  const vault = `Vault at ${request.address}`;
  const detail = `${request.what}: Vault answered ${status}${messages === '' ? '' : ` (${messages})`}`;
  if (status === 403 || status === 401) return Errors.accessDenied(request.what, `Vault answered ${status}${messages === '' ? '' : ` (${messages})`}`);
  if (status === 404) return Errors.notFound(`${request.what} (Vault answered 404${messages === '' ? '' : `: ${messages}`})`);
  if (status === 400) return Errors.backendRejected(request.what, `Vault answered 400${messages === '' ? '' : ` (${messages})`}`);
  return withRetryAfter(Errors.backendUnavailable(vault, detail), parseRetryAfter(retryAfter));
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

function describeNetworkError(error: unknown): string {
  if (error instanceof Error) {
    if (error.name === 'AbortError' || error.name === 'TimeoutError') return 'the request was abandoned (timeout)';
    const cause = (error as { cause?: unknown }).cause;
    if (cause instanceof Error) return `${error.message}: ${(cause as { code?: string }).code ?? cause.message}`;
    return error.message;
  }
  return String(error);
}

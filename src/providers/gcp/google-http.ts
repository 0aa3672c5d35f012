import { fetch } from 'undici';
import { Errors, withRetryAfter } from '../../errors/catalogue.js';
import type { CredmountError } from '../../errors/credmount-error.js';
import { BackendHttpError } from '../backend-http-error.js';
import { describeNetworkError } from '../network-error.js';

/** One call to a Google REST API (STS, IAM Credentials, Secret Manager). */
export interface GoogleRequest {
  readonly url: string;
  readonly method: 'GET' | 'POST';
  /** An OAuth access token for `Authorization: Bearer` (never part of a message). */
  readonly accessToken?: string;
  /** Sent as JSON, or as a form when `form` is set (STS accepts both; the RFC 8693 form is a form). */
  readonly body?: Readonly<Record<string, unknown>>;
  readonly form?: boolean;
  readonly signal: AbortSignal;
  /** What the call is about, for messages: `Secret Manager: projects/p/secrets/s/versions/1`. */
  readonly what: string;
  /** The service, for UNAVAILABLE messages: `Secret Manager`, `Google STS`. */
  readonly service: string;
  /** How a refusal of the presented credential is reported (STS: the pod token was rejected). */
  readonly onUnauthenticated?: (reason: string) => CredmountError;
}

/** A non-2xx answer; `status` lets callers react (401 → drop the cached access token). */
export class GoogleHttpError extends BackendHttpError {
  override readonly name = 'GoogleHttpError';
}

const MAX_MESSAGE = 300;

/**
 * Send one request and return the parsed JSON answer. Google's two error shapes become coded
 * errors: `{"error": {"code", "message", "status", "details"}}` (google.rpc.Status, every API)
 * and `{"error": "invalid_grant", "error_description"}` (OAuth, STS). PERMISSION_DENIED → 403,
 * NOT_FOUND → 404, UNAUTHENTICATED/invalid_grant → the credential was refused, 429 and 5xx →
 * UNAVAILABLE carrying RetryInfo's `retryDelay` or `Retry-After` as retryAfterMs.
 */
export async function googleRequest<T>(request: GoogleRequest): Promise<T> {
  const headers: Record<string, string> = { accept: 'application/json', 'user-agent': 'credmount' };
  if (request.accessToken !== undefined) headers['authorization'] = `Bearer ${request.accessToken}`;
  let body: string | undefined;
  if (request.body !== undefined) {
    if (request.form === true) {
      headers['content-type'] = 'application/x-www-form-urlencoded';
      body = new URLSearchParams(Object.entries(request.body).map(([k, v]): [string, string] => [k, String(v)])).toString();
    } else {
      headers['content-type'] = 'application/json';
      body = JSON.stringify(request.body);
    }
  }
  let response;
  try {
    response = await fetch(request.url, { method: request.method, headers, body, signal: request.signal, redirect: 'error' });
  } catch (error) {
    throw new GoogleHttpError(0, Errors.backendUnavailable(`${request.service} at ${origin(request.url)}`, `${request.what}: ${describeNetworkError(error)}`));
  }
  const text = await response.text();
  if (response.status >= 200 && response.status < 300) {
    try {
      return JSON.parse(text) as T;
    } catch {
      throw new GoogleHttpError(response.status, Errors.backendUnavailable(`${request.service} at ${origin(request.url)}`, `${request.what}: the answer is not JSON`));
    }
  }
  throw new GoogleHttpError(response.status, errorFor(response.status, text, response.headers.get('retry-after'), request));
}

interface GoogleErrorBody {
  readonly status: string;
  readonly message: string;
  readonly retryAfterMs: number | undefined;
}

/** The parts of an error body we repeat: the status name, a shortened message, RetryInfo. */
export function parseGoogleError(text: string): GoogleErrorBody {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return { status: '', message: '', retryAfterMs: undefined };
  }
  const error = isObject(parsed) ? parsed['error'] : undefined;
  // OAuth (STS): {"error": "invalid_grant", "error_description": "..."}
  if (typeof error === 'string' && isObject(parsed)) {
    const description = typeof parsed['error_description'] === 'string' ? parsed['error_description'] : '';
    return { status: error, message: scrub(description), retryAfterMs: undefined };
  }
  if (!isObject(error)) return { status: '', message: '', retryAfterMs: undefined };
  let retryAfterMs: number | undefined;
  for (const detail of Array.isArray(error['details']) ? error['details'] : []) {
    if (isObject(detail) && detail['@type'] === 'type.googleapis.com/google.rpc.RetryInfo' && typeof detail['retryDelay'] === 'string') {
      retryAfterMs = parseProtoDuration(detail['retryDelay']);
    }
  }
  return { status: typeof error['status'] === 'string' ? error['status'] : '', message: scrub(typeof error['message'] === 'string' ? error['message'] : ''), retryAfterMs };
}

function errorFor(status: number, text: string, retryAfter: string | null, request: GoogleRequest): CredmountError {
  const body = parseGoogleError(text);
  const answered = `${request.service} answered ${status}${body.status === '' ? '' : ` ${body.status}`}${body.message === '' ? '' : `: ${body.message}`}`;
  if (status === 401 || body.status === 'UNAUTHENTICATED' || body.status === 'invalid_grant' || body.status === 'unauthorized_client') {
    return request.onUnauthenticated?.(answered) ?? Errors.accessDenied(request.what, answered);
  }
  if (status === 403 || body.status === 'PERMISSION_DENIED' || body.status === 'access_denied') return Errors.accessDenied(request.what, answered);
  if (status === 404 || body.status === 'NOT_FOUND') return Errors.notFound(`${request.what} (${answered})`);
  if (status === 429 || status >= 500) {
    const retryAfterMs = body.retryAfterMs ?? parseRetryAfter(retryAfter);
    return withRetryAfter(Errors.backendUnavailable(`${request.service} at ${origin(request.url)}`, `${request.what}: ${answered}`), retryAfterMs);
  }
  return Errors.backendRejected(request.what, answered);
}

/** Google's protobuf Duration in JSON: `"30s"`, `"1.5s"`. */
export function parseProtoDuration(value: string): number | undefined {
  const match = /^(\d+(?:\.\d+)?)s$/.exec(value.trim());
  return match === null ? undefined : Math.round(Number(match[1]) * 1000);
}

/** `Retry-After: 30` or an HTTP date → milliseconds. */
export function parseRetryAfter(value: string | null, now: number = Date.now()): number | undefined {
  if (value === null || value.trim() === '') return undefined;
  if (/^\d+$/.test(value.trim())) return Number(value.trim()) * 1000;
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

/**
 * Google's messages name resources and principals, not credentials; still, anything shaped like
 * a JWT or an OAuth access token is cut out before a message is repeated, and it is shortened.
 */
export function scrub(message: string): string {
  const cleaned = message
    .replace(/eyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*/g, '[token]')
    .replace(/ya29\.[A-Za-z0-9._-]+/g, '[token]')
    .replace(/[A-Za-z0-9_-]{100,}/g, '[redacted]');
  return cleaned.length > MAX_MESSAGE ? `${cleaned.slice(0, MAX_MESSAGE)}…` : cleaned;
}

function origin(url: string): string {
  return URL.canParse(url) ? new URL(url).origin : url;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

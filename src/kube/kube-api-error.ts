import { Errors } from '../errors/catalogue.js';
import type { CredmountError } from '../errors/credmount-error.js';
import { isTimeoutOrAbort } from '../errors/time-limit.js';

/** Longest part of an API server message we repeat (they name resources and users, never secrets). */
const MAX_MESSAGE = 300;

/** What went wrong with one Kubernetes API call, read from whatever @kubernetes/client-node threw. */
export interface KubeFailure {
  /** HTTP status; 0 when no answer arrived (connection refused, timeout, TLS). */
  readonly status: number;
  /** `message` of the API's Status body, or a short description of the network error. */
  readonly message: string;
}

/**
 * client-node throws an ApiException `{code, body}` for a non-2xx answer (body: the Status object,
 * sometimes still a JSON string) and a fetch error otherwise. Its own message quotes response
 * headers; only the Status message and the status code are kept.
 */
export function kubeFailureOf(error: unknown): KubeFailure {
  if (typeof error === 'object' && error !== null && typeof (error as { code?: unknown }).code === 'number') {
    const { code, body } = error as { code: number; body?: unknown };
    return { status: code, message: statusMessage(body) ?? `HTTP ${code}` };
  }
  if (isTimeoutOrAbort(error)) return { status: 0, message: 'no answer in time' };
  const code = typeof error === 'object' && error !== null ? (error as { code?: unknown }).code : undefined;
  return { status: 0, message: typeof code === 'string' ? `network error ${code}` : `network error (${error instanceof Error ? error.name : typeof error})` };
}

function statusMessage(body: unknown): string | undefined {
  let parsed = body;
  if (typeof body === 'string') {
    try {
      parsed = JSON.parse(body) as unknown;
    } catch {
      return undefined;
    }
  }
  if (typeof parsed !== 'object' || parsed === null) return undefined;
  const message = (parsed as { message?: unknown }).message;
  return typeof message === 'string' && message !== '' ? message.slice(0, MAX_MESSAGE) : undefined;
}

/** A failed SecretProviderClass read as the coded error the pod sees (docs/secret-provider-class.md). */
export function classReadError(namespace: string, name: string, failure: KubeFailure): CredmountError {
  const what = `reading SecretProviderClass ${namespace}/${name}`;
  if (failure.status === 404) return Errors.classNotFound(namespace, name);
  if (failure.status === 403) return Errors.classForbidden(namespace, name, failure.message);
  if (failure.status === 401) return Errors.kubeApiUnauthenticated(what);
  return Errors.kubeApiUnavailable(what, failure.status === 0 ? failure.message : `HTTP ${failure.status}: ${failure.message}`);
}

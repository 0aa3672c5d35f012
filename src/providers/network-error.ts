import { isTimeoutOrAbort } from '../errors/time-limit.js';

/**
 * What a provider's HTTP client says about a request that got no HTTP answer: the error's own
 * message and its cause's code (`fetch failed: ECONNREFUSED`), or that it was abandoned. Never the
 * request itself, which may carry a token.
 */
export function describeNetworkError(error: unknown): string {
  if (error instanceof Error) {
    if (isTimeoutOrAbort(error)) return 'the request was abandoned (timeout)';
    const cause = (error as { cause?: unknown }).cause;
    if (cause instanceof Error) return `${error.message}: ${(cause as { code?: string }).code ?? cause.message}`;
    return error.message;
  }
  return String(error);
}

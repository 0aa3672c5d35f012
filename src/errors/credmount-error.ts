/**
 * Every error credmount raises on purpose carries a stable code (for tests, docs and metrics) and
 * the gRPC status it maps to. The status is a name, not a number, so that nothing below `csi/`
 * needs to import gRPC; `csi/status-mapping.ts` turns it into a wire status.
 *
 * Messages name the offending field and never include token, secret or key material: callers
 * pass only names, lengths and reasons into them.
 */
export type StatusName =
  | 'INVALID_ARGUMENT'
  | 'NOT_FOUND'
  | 'ALREADY_EXISTS'
  | 'ABORTED'
  | 'PERMISSION_DENIED'
  | 'UNAUTHENTICATED'
  | 'FAILED_PRECONDITION'
  | 'RESOURCE_EXHAUSTED'
  | 'UNAVAILABLE'
  | 'DEADLINE_EXCEEDED'
  | 'INTERNAL';

export interface CredmountErrorOptions {
  /** The request field, attribute or parameter the error is about, e.g. `volume_context.objects`. */
  field?: string;
  /** A backend's Retry-After, in milliseconds, when it gave one. */
  retryAfterMs?: number;
  cause?: unknown;
}

export class CredmountError extends Error {
  override readonly name = 'CredmountError';
  readonly field: string | undefined;
  readonly retryAfterMs: number | undefined;

  constructor(
    readonly code: string,
    readonly status: StatusName,
    message: string,
    options: CredmountErrorOptions = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.field = options.field;
    this.retryAfterMs = options.retryAfterMs;
  }
}

export function isCredmountError(value: unknown): value is CredmountError {
  return value instanceof CredmountError;
}

/** Narrow an unknown thrown value to a message that is safe to log (no stack, no cause chain). */
export function describeError(value: unknown): string {
  if (value instanceof Error) return value.message;
  return String(value);
}

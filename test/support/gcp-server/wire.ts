/**
 * Google's error bodies (https://cloud.google.com/apis/design/errors#http_mapping): the JSON
 * form of google.rpc.Status, `{"error": {"code", "message", "status", "details"}}`; and the OAuth
 * 2.0 form STS uses (RFC 6749 §5.2), `{"error": "invalid_grant", "error_description": "..."}`.
 */
export interface Reply {
  readonly status: number;
  readonly body: unknown;
  /** Extra response headers (`Retry-After`). */
  readonly headers?: Readonly<Record<string, string>>;
}

export function ok(body: unknown): Reply {
  return { status: 200, body };
}

const HTTP_STATUS: Readonly<Record<string, number>> = {
  INVALID_ARGUMENT: 400,
  FAILED_PRECONDITION: 400,
  UNAUTHENTICATED: 401,
  PERMISSION_DENIED: 403,
  NOT_FOUND: 404,
  RESOURCE_EXHAUSTED: 429,
  UNAVAILABLE: 503,
};

export function rpcError(status: keyof typeof HTTP_STATUS & string, message: string, details: readonly unknown[] = []): Reply {
  const code = HTTP_STATUS[status] ?? 500;
  return { status: code, body: { error: { code, message, status, ...(details.length === 0 ? {} : { details }) } } };
}

export function oauthError(error: string, description: string, status = 400): Reply {
  return { status, body: { error, error_description: description } };
}

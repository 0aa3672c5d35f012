/**
 * How a provider reports each request it makes to its backend (an HTTP call to Vault, an STS
 * exchange...). The driver passes every provider a reporter bound to the provider's name at
 * construction; the provider calls `report` once per request, when its answer (or failure) is in.
 * It feeds `credmount_backend_requests_total`, `credmount_backend_request_errors_total` and
 * `credmount_backend_request_duration_seconds` (docs/metrics.md). Optional: a provider that
 * reports nothing still has `credmount_backend_fetches_total`, counted by volumes/ per fetch.
 */
export interface BackendRequest {
  /**
   * A fixed name for what the request does, chosen by the provider from a small set
   * (`login`, `read`, `renew`, `lookup`...). Never a path, object name or anything a pod wrote:
   * it becomes a metric label.
   */
  readonly operation: string;
  /** `ok`, or a bounded failure class: the HTTP status (`403`, `503`), `network` or `timeout`. */
  readonly result: string;
  readonly seconds: number;
}

export interface BackendRequestReporter {
  report(request: BackendRequest): void;
}

/** For providers built without a reporter (unit tests, tools). */
export const NO_BACKEND_REPORTING: BackendRequestReporter = Object.freeze({ report: () => undefined });

/** The result label for an HTTP exchange: `ok` for 2xx (and redirects), the status code otherwise, `network` without an answer. */
export function httpResult(status: number): string {
  if (status === 0) return 'network';
  if (status >= 200 && status < 400) return 'ok';
  return String(status);
}

/** Time a request and report it, whatever happens; `classify` turns a thrown error into a result label. */
export async function reportRequest<T>(
  reporter: BackendRequestReporter | undefined,
  operation: string,
  work: () => Promise<T>,
  classify: (error: unknown) => string,
): Promise<T> {
  if (reporter === undefined) return work();
  const started = process.hrtime.bigint();
  const seconds = () => Number(process.hrtime.bigint() - started) / 1e9;
  try {
    const value = await work();
    reporter.report({ operation, result: 'ok', seconds: seconds() });
    return value;
  } catch (error) {
    reporter.report({ operation, result: classify(error), seconds: seconds() });
    throw error;
  }
}

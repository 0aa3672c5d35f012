/**
 * How the driver bounds a wait on something outside it (a provider's fetch, a Kubernetes API
 * call), and how it recognises a wait that was cut short — by `withTimeout`, by
 * `AbortSignal.timeout`, or by an abort — wherever the error surfaces.
 */

/**
 * Runs `work` with a signal that aborts after `ms`, and rejects at that moment even if `work`
 * ignores the signal: nothing the driver waits for may hold a call past its time. The error is
 * an Error named `TimeoutError` ("no answer within <ms> ms"). The timer is a normal (ref'd) one,
 * cleared when the work settles.
 */
export function withTimeout<T>(ms: number, work: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const controller = new AbortController();
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => {
      const reason = new Error(`no answer within ${ms} ms`);
      reason.name = 'TimeoutError';
      controller.abort(reason);
      reject(reason);
    }, ms);
    work(controller.signal).then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (error: unknown) => {
        clearTimeout(timer);
        reject(error);
      },
    );
  });
}

/** True for an error that says a wait was cut short (a TimeoutError or an AbortError, ours or the platform's). */
export function isTimeoutOrAbort(error: unknown): boolean {
  return error instanceof Error && (error.name === 'TimeoutError' || error.name === 'AbortError');
}

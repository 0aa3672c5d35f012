/**
 * Promise.all for work that owns resources: waits until every promise has settled — so each
 * measurement's own `finally` has stopped its driver and unmounted its volumes — and only then
 * rejects with the first failure. With Promise.all, one failing node ended the runner while the
 * others' drivers kept running and their tmpfs mounts stayed behind.
 */
export async function settleAll<T extends readonly unknown[]>(work: { readonly [K in keyof T]: Promise<T[K]> }): Promise<T> {
  const outcomes = await Promise.allSettled(work);
  const failed = outcomes.find((outcome): outcome is PromiseRejectedResult => outcome.status === 'rejected');
  if (failed !== undefined) throw failed.reason;
  return outcomes.map((outcome) => (outcome as PromiseFulfilledResult<unknown>).value) as unknown as T;
}

/**
 * Makes concurrent identical fetches once: callers asking for the same key while a fetch is in
 * flight share its promise. Nothing is cached after it settles — freshness is volumes/' job.
 */
export class SingleFlight<T> {
  private readonly inFlight = new Map<string, Promise<T>>();

  /** `shared` tells the caller whether it joined someone else's fetch. */
  async do(key: string, work: () => Promise<T>): Promise<{ value: T; shared: boolean }> {
    const existing = this.inFlight.get(key);
    if (existing !== undefined) return { value: await existing, shared: true };
    const promise = work();
    this.inFlight.set(key, promise);
    try {
      return { value: await promise, shared: false };
    } finally {
      this.inFlight.delete(key);
    }
  }
}

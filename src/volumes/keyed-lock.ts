/**
 * Serialises work per key (a volume id) while different keys run concurrently. kubelet does not
 * normally overlap calls for one volume, but a slow refresh and a retry can: queueing them keeps
 * each call's view of the volume consistent, and the second call usually finds the content fresh.
 */
export class KeyedLock {
  private readonly tails = new Map<string, Promise<unknown>>();

  async run<T>(key: string, work: () => Promise<T>): Promise<T> {
    const previous = this.tails.get(key) ?? Promise.resolve();
    // The next caller waits for this one whether it succeeds or fails.
    const current = previous.then(work, work);
    const tail = current.catch(() => undefined);
    this.tails.set(key, tail);
    try {
      return await current;
    } finally {
      // Only the last queued caller removes the entry, so the map does not grow with old volumes.
      if (this.tails.get(key) === tail) this.tails.delete(key);
    }
  }
}

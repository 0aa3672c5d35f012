/**
 * The results of the last `limit` distinct inputs of a pure function. Kubelet caches a pod's
 * tokens and sends the same JSON and JWTs on every republish until 80 % of their lifetime has
 * passed, so decoding them once per token instead of once per call takes work off the path
 * every republish pays. Only successes are kept: a failure is thrown again each time. Oldest
 * entries go first, so the memory is bounded whatever kubelet sends.
 */
export class RecentResults<V> {
  readonly #results = new Map<string, V>();

  constructor(private readonly limit: number) {}

  get(input: string, compute: (input: string) => V): V {
    const known = this.#results.get(input);
    if (known !== undefined) return known;
    const result = compute(input);
    if (this.#results.size >= this.limit) this.#results.delete(this.#results.keys().next().value as string);
    this.#results.set(input, result);
    return result;
  }
}

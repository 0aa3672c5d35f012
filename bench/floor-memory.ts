import { bindMallocTrim } from '../src/cli/malloc-trim.js';

/**
 * The reference servers hand freed C heap back to the kernel as the driver does (malloc_trim(0)
 * every 10 s, src/cli/malloc-trim.ts): on Node.js 24 glibc otherwise keeps ~10–15 MiB that the
 * driver's figure would not include, and the floor would sit above what it floors.
 */
export function trimLikeTheDriver(intervalMs = 10_000): void {
  const binding = bindMallocTrim();
  if ('unavailable' in binding) return;
  setInterval(() => binding.trim(0), intervalMs).unref();
}

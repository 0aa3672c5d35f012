import { createRequire } from 'node:module';
import type * as Koffi from 'koffi';
import { describeError } from '../errors/credmount-error.js';
import type { Logger } from '../observability/logger.js';

/**
 * Hands the memory glibc's allocator holds free back to the kernel, every `intervalMs`.
 *
 * Why: on Node.js 24 (the image's runtime) V8's optimising compilers allocate their working
 * memory through malloc while the driver warms up, and free it when a function is compiled. glibc
 * keeps those pages: they lie inside its heaps, and its own trimming returns only the top of a
 * heap. The resident set stayed ~15 MiB above what was in use — a driver republishing 110 volumes
 * went from 105.5 to 89.5 MiB on one malloc_trim(0), and stayed ~89–91 with one every few
 * seconds, where it otherwise stays at ~105 (bench/README.md, session 9). On Node.js 20 it returns
 * ~0.1 MiB: nothing to gain there, and little to pay — a call that finds nothing takes ~0.2 ms.
 *
 * The call is synchronous: koffi's asynchronous calls keep a stack of their own (+1 MiB resident,
 * more than an idle trim costs in time). One that does return memory took 1–2 ms here; that happens
 * after a burst of compilation, not on every tick.
 *
 * glibc only (the image is Debian-based): musl has no malloc_trim, and the trimmer then says so
 * once and does nothing. Nothing in it can fail a publish.
 */

/** `malloc_trim(pad)`: 1 if memory was returned, 0 if not. */
export type MallocTrim = (pad: number) => number;

/** The bound function, or why there is none. */
export type MallocTrimBinding = { readonly trim: MallocTrim } | { readonly unavailable: string };

const requireCjs = createRequire(import.meta.url);

/** Bind glibc's malloc_trim through koffi (loaded by the mounter already on Linux). Never throws. */
export function bindMallocTrim(platform: NodeJS.Platform = process.platform): MallocTrimBinding {
  if (platform !== 'linux') return { unavailable: `malloc_trim is glibc's, and this platform is ${platform}` };
  try {
    const koffi = requireCjs('koffi') as typeof Koffi;
    const trim = koffi.load('libc.so.6').func('int malloc_trim(size_t pad)') as MallocTrim;
    return { trim };
  } catch (error) {
    return { unavailable: `glibc's malloc_trim could not be bound (${describeError(error)})` };
  }
}

export interface MallocTrimOptions {
  readonly intervalMs: number;
  readonly logger: Logger;
  /** How malloc_trim is reached; tests pass their own. */
  readonly bind?: () => MallocTrimBinding;
}

/**
 * Start trimming every `intervalMs` (0: never). koffi and libc are bound on the first tick, not at
 * start-up (loading them is ~15 ms of a cold start the mounter may not need yet). The timer does
 * not keep the process alive. Returns stop.
 */
export function startMallocTrim(options: MallocTrimOptions): () => void {
  if (options.intervalMs <= 0) return () => undefined;
  let trim: MallocTrim | undefined;
  const timer = setInterval(() => {
    if (trim === undefined) {
      const binding = (options.bind ?? bindMallocTrim)();
      if ('unavailable' in binding) {
        clearInterval(timer);
        options.logger.info({ reason: binding.unavailable }, 'not returning freed memory to the kernel periodically');
        return;
      }
      trim = binding.trim;
    }
    const before = process.memoryUsage.rss();
    const started = process.hrtime.bigint();
    try {
      trim(0);
    } catch (error) {
      // Not expected from libc; if it happens, say so once and stop trying.
      clearInterval(timer);
      options.logger.warn({ err: describeError(error) }, 'malloc_trim failed: no longer returning freed memory to the kernel');
      return;
    }
    const returned = before - process.memoryUsage.rss();
    if (returned >= 1024 * 1024) {
      options.logger.debug({ returnedMiB: Math.round(returned / 104857.6) / 10, ms: Number(process.hrtime.bigint() - started) / 1e6 }, 'returned freed memory to the kernel');
    }
  }, options.intervalMs);
  timer.unref();
  return () => clearInterval(timer);
}

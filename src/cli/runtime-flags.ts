/**
 * Node.js flags the driver runs with in its container image (the Dockerfile's ENTRYPOINT lists
 * them; a deploy test checks that it does) and in the benchmarks, which measure the driver as it
 * is shipped.
 *
 * `--max-semi-space-size=1` (MiB): V8's young generation grows to 3 × 16 MiB semi-spaces by
 * default and keeps them. The driver's allocations are short-lived request objects, so a small
 * young generation costs a few more, cheaper scavenges and keeps ~10–30 MiB off the resident set
 * of every node (bench/README.md, optimisation log: 2 MiB first, 1 MiB once the old generation
 * was bounded too, −3 MiB more at no measurable CPU).
 *
 * `--initial-old-space-size=16 --heap-growing-percent=30` (MiB, %): V8 lets the old generation
 * reach a large first limit before its first full collection and then grows it up to 4× the live
 * size. Republishing promotes a little garbage on every call, so the driver's resident set grew
 * by ~0.4 MiB/s until then; with a first limit of 16 MiB and 1.3× growth it levels off (the live
 * heap is ~16 MiB). Neither is a cap: the heap still grows with the live data.
 *
 * `--v8-pool-size=1`: one V8 worker thread (background GC and compilation) instead of one per
 * core; each idle worker keeps its stack and malloc arena resident, and a heap this small does
 * not need parallel marking.
 */
const EVERY_RUNTIME: readonly string[] = ['--max-semi-space-size=1', '--initial-old-space-size=16', '--heap-growing-percent=30', '--v8-pool-size=1'];

/**
 * `--no-maglev-destroy-on-background`, for V8 12 and later (Node.js 22 and 24; Node.js 20's V8 11.3
 * refuses the flag): Maglev, V8's mid-tier compiler, hands a finished compilation job to a
 * background task to be destroyed, and with one V8 worker thread those tasks wait behind the
 * compilations. When republishing starts, ~100 jobs' memory was held at once — V8's malloced
 * memory peaked at 12–15 MiB — and the resident set jumped by as much (`--trace-zone-stats`:
 * `maglev-compilation-job-zone` × 102). Destroyed on the main thread when they finish, the peak
 * is 3.5–4 MiB, the driver's peak RSS on Node.js 24 ~7 MiB lower, at no CPU measurable here
 * (bench/README.md, session 9).
 */
const V8_12_AND_LATER: readonly string[] = ['--no-maglev-destroy-on-background'];

/** The flags for a runtime whose V8 is `v8Version` (`process.versions.v8`, e.g. `13.6.233.17-node.33`). */
export function nodeFlagsFor(v8Version: string): readonly string[] {
  const major = Number.parseInt(v8Version, 10);
  return Object.freeze(major >= 12 ? [...EVERY_RUNTIME, ...V8_12_AND_LATER] : [...EVERY_RUNTIME]);
}

/** The flags for the runtime this process runs on (the benchmarks start drivers on it). */
export const DRIVER_NODE_FLAGS: readonly string[] = nodeFlagsFor(process.versions.v8);

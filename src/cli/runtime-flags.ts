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
export const DRIVER_NODE_FLAGS: readonly string[] = Object.freeze(['--max-semi-space-size=1', '--initial-old-space-size=16', '--heap-growing-percent=30', '--v8-pool-size=1']);

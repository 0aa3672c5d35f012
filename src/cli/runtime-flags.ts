/**
 * Node.js flags the driver runs with in its container image (the Dockerfile's ENTRYPOINT lists
 * them; a deploy test checks that it does) and in the benchmarks, which measure the driver as it
 * is shipped.
 *
 * `--max-semi-space-size=2` (MiB): V8's young generation grows to 3 × 16 MiB semi-spaces by
 * default and keeps them. The driver's allocations are short-lived request objects, so a small
 * young generation costs a few more, cheaper scavenges and keeps ~10–30 MiB off the resident set
 * of every node (bench/README.md, optimisation log).
 */
export const DRIVER_NODE_FLAGS: readonly string[] = Object.freeze(['--max-semi-space-size=2']);

#!/usr/bin/env bash
# Remove what the image never loads from a production node_modules: koffi ships prebuilt
# binaries for 18 platforms (about 25 MiB), keep only the one for this machine's Linux (glibc)
# and architecture; and type declarations and source maps. Used by the Dockerfile and by test/deploy/image.test.ts, which
# starts the driver from the pruned tree.
#
#   scripts/prune-production-deps.sh <node_modules> [arch]    (arch: node's process.arch)
set -euo pipefail
modules="${1:?usage: prune-production-deps.sh <node_modules> [arch]}"
arch="${2:-$(node -p process.arch)}"
builds="${modules}/koffi/build/koffi"
if [[ -d "${builds}" ]]; then
  [[ -d "${builds}/linux_${arch}" ]] || { echo "prune-production-deps: koffi has no build for linux_${arch}" >&2; exit 1; }
  find "${builds}" -mindepth 1 -maxdepth 1 -type d ! -name "linux_${arch}" -exec rm -rf {} +
fi
# Documentation, type declarations and source maps are not loaded at run time (the driver does
# not run with --enable-source-maps); @kubernetes/client-node alone ships about 40 MB of them.
rm -rf "${modules}/koffi/doc"
find "${modules}" -type f \( -name '*.d.ts' -o -name '*.d.mts' -o -name '*.d.cts' -o -name '*.map' \) -delete

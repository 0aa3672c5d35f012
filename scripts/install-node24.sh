#!/usr/bin/env bash
# Install Node.js 24 LTS into <repo>/.tools/node24 from the npm registry's `node` package (its
# install step brings the official binary from the matching node-linux-<arch> package).
# Idempotent and cached. Prints the absolute path of the node binary on stdout.
#
# Env overrides: NODE24_VERSION (default: pinned below), NODE24_FORCE=1 to reinstall.
set -euo pipefail

# Pinned: the newest 24.x of the registry's `node` package when this was written.
NODE24_VERSION="${NODE24_VERSION:-24.21.0}"
repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
prefix="${repo_root}/.tools/node24"
bin="${prefix}/node_modules/node/bin/node"
log() { echo "install-node24: $*" >&2; }

if [[ "${NODE24_FORCE:-0}" != "1" && -x "${bin}" && "$("${bin}" --version 2>/dev/null)" == "v${NODE24_VERSION}" ]]; then
  log "node v${NODE24_VERSION} already installed"
  echo "${bin}"
  exit 0
fi

rm -rf "${prefix}"
mkdir -p "${prefix}"
log "installing node@${NODE24_VERSION} into ${prefix}"
npm install --prefix "${prefix}" --no-save --no-audit --no-fund --no-package-lock "node@${NODE24_VERSION}" >&2
if [[ "$("${bin}" --version 2>/dev/null)" != "v${NODE24_VERSION}" ]]; then
  log "error: ${bin} does not report v${NODE24_VERSION}"
  exit 1
fi
echo "${bin}"

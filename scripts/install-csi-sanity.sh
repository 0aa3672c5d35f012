#!/usr/bin/env bash
# Install csi-sanity (the CSI conformance test binary from kubernetes-csi/csi-test)
# into <repo>/.tools/bin. Idempotent: does nothing if the pinned version is
# already installed there. Prints the absolute path of the binary on stdout
# (progress messages go to stderr).
#
# Requires: go (>= the go directive of the csi-test module, currently 1.25).
# Env overrides:
#   CSI_SANITY_VERSION   module version to install (default: pinned below)
#   CSI_SANITY_FORCE=1   reinstall even if the version is already present
set -euo pipefail

# Pinned: latest v5.x on the Go module proxy when this was written.
CSI_SANITY_VERSION="${CSI_SANITY_VERSION:-v5.6.0}"
MODULE="github.com/kubernetes-csi/csi-test/v5"

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bin_dir="${repo_root}/.tools/bin"
bin="${bin_dir}/csi-sanity"
stamp="${bin}.version"

log() { echo "install-csi-sanity: $*" >&2; }

if ! command -v go >/dev/null 2>&1; then
  log "error: 'go' not found in PATH (needed to build csi-sanity; .ci/run installs Debian's golang-go)"
  exit 1
fi

# csi-test v5.6.0 needs Go >= 1.25 (scripts/go-toolchain.sh fetches one when the local Go is older).
# shellcheck source=scripts/go-toolchain.sh
source "${repo_root}/scripts/go-toolchain.sh"
select_go "${CSI_SANITY_MIN_GO_MINOR:-25}" "${GO_TOOLCHAIN_VERSION:-1.25.7}" csi-test

# Which version is installed? Prefer the build info embedded in the binary
# (go version -m), fall back to the stamp file written after an install.
installed_version() {
  [[ -x "${bin}" ]] || return 0
  local v
  v="$("${GO:-go}" version -m "${bin}" 2>/dev/null \
        | awk -v m="${MODULE}" '$1 == "mod" && $2 == m { print $3; exit }')"
  if [[ -z "${v}" && -f "${stamp}" ]]; then
    v="$(cat "${stamp}")"
  fi
  echo "${v}"
}

if [[ "${CSI_SANITY_FORCE:-0}" != "1" && "$(installed_version)" == "${CSI_SANITY_VERSION}" ]]; then
  log "csi-sanity ${CSI_SANITY_VERSION} already installed"
  echo "${bin}"
  exit 0
fi

mkdir -p "${bin_dir}"
log "installing ${MODULE}/cmd/csi-sanity@${CSI_SANITY_VERSION} into ${bin_dir}"
start=$(date +%s)
# 'go install pkg@version' builds in module mode and ignores any go.mod in cwd.
GOBIN="${bin_dir}" GOTOOLCHAIN=local "${GO}" install "${MODULE}/cmd/csi-sanity@${CSI_SANITY_VERSION}"
echo "${CSI_SANITY_VERSION}" > "${stamp}"
log "done in $(( $(date +%s) - start ))s"

if [[ "$(installed_version)" != "${CSI_SANITY_VERSION}" ]]; then
  log "error: installed binary does not report ${CSI_SANITY_VERSION}"
  exit 1
fi
echo "${bin}"

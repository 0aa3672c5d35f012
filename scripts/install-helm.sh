#!/usr/bin/env bash
# Install helm (v3) into <repo>/.tools/bin by building it from the Go module proxy: there is no
# other way to fetch a binary here. Idempotent and cached: does nothing when the pinned version
# is already installed. Prints the absolute path of the binary on stdout (progress on stderr).
#
# Like a release build, the binary carries its version and the Kubernetes version of its
# client-go (helm's default for `helm template`; our tests pass --kube-version anyway).
#
# Requires: go (helm v3.22 needs Go >= 1.26; an older Go fetches that toolchain from the proxy).
# Env overrides:
#   HELM_VERSION     module version to install (default: pinned below)
#   HELM_FORCE=1     reinstall even if the version is already present
set -euo pipefail

# Pinned: latest v3.x on the Go module proxy when this was written.
HELM_VERSION="${HELM_VERSION:-v3.22.0}"
# client-go v0.37 in helm v3.22's go.mod: Kubernetes 1.37.
HELM_K8S_MAJOR="${HELM_K8S_MAJOR:-1}"
HELM_K8S_MINOR="${HELM_K8S_MINOR:-37}"
MODULE="helm.sh/helm/v3"

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bin_dir="${repo_root}/.tools/bin"
bin="${bin_dir}/helm"

log() { echo "install-helm: $*" >&2; }

installed_version() {
  [[ -x "${bin}" ]] || return 0
  # The version is stamped into the binary by -ldflags below: `helm version --template`.
  "${bin}" version --template '{{.Version}}' 2>/dev/null || true
}

if [[ "${HELM_FORCE:-0}" != "1" && "$(installed_version)" == "${HELM_VERSION}" ]]; then
  log "helm ${HELM_VERSION} already installed"
  echo "${bin}"
  exit 0
fi

if ! command -v go >/dev/null 2>&1; then
  log "error: 'go' not found in PATH (needed to build helm; .ci/run installs Debian's golang-go)"
  exit 1
fi

# helm v3.22 needs Go >= 1.26 (scripts/go-toolchain.sh fetches one when the local Go is older).
# shellcheck source=scripts/go-toolchain.sh
source "${repo_root}/scripts/go-toolchain.sh"
select_go "${HELM_MIN_GO_MINOR:-26}" "${HELM_GO_TOOLCHAIN_VERSION:-1.26.8}" helm

mkdir -p "${bin_dir}"
log "building ${MODULE}/cmd/helm@${HELM_VERSION} into ${bin_dir} (a few minutes on 2 cores)"
start=$(date +%s)
ldflags="-w -s"
ldflags+=" -X ${MODULE}/internal/version.version=${HELM_VERSION}"
ldflags+=" -X ${MODULE}/internal/version.gitTreeState=clean"
for pkg in pkg/lint/rules pkg/chartutil; do
  ldflags+=" -X ${MODULE}/${pkg}.k8sVersionMajor=${HELM_K8S_MAJOR} -X ${MODULE}/${pkg}.k8sVersionMinor=${HELM_K8S_MINOR}"
done
# 'go install pkg@version' builds in module mode and ignores any go.mod in cwd.
(cd "$(mktemp -d)" && GOBIN="${bin_dir}" GOTOOLCHAIN=local CGO_ENABLED=0 "${GO}" install -ldflags "${ldflags}" "${MODULE}/cmd/helm@${HELM_VERSION}")
log "done in $(( $(date +%s) - start ))s"

if [[ "$(installed_version)" != "${HELM_VERSION}" ]]; then
  log "error: installed binary reports '$(installed_version)', not ${HELM_VERSION}"
  exit 1
fi
echo "${bin}"

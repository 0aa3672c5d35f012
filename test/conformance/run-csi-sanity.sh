#!/usr/bin/env bash
# Run the csi-sanity conformance suite against a running credmount node plugin.
#
# Usage:
#   test/conformance/run-csi-sanity.sh <socket-path> [extra csi-sanity/ginkgo flags...]
#
#   <socket-path>  the plugin's gRPC Unix socket, as a path (/run/credmount/csi.sock)
#                  or URL (unix:///run/credmount/csi.sock).
#
# Env:
#   CSI_SANITY         csi-sanity binary to use (default: installed/located via
#                      scripts/install-csi-sanity.sh into .tools/bin)
#   JUNIT_REPORT       if set, write a JUnit XML report to this file
#   SOCKET_WAIT_SECS   how long to wait for the socket to appear (default 30)
#
# credmount is node-only (no Controller service), so tests that need
# CreateVolume/ControllerGetCapabilities are skipped; see docs/csi-sanity.md
# for the reason behind every entry in SKIPS below.
#
# Exits with csi-sanity's status: 0 when all selected specs pass, non-zero otherwise.
set -euo pipefail

if [[ $# -lt 1 || "$1" == "-h" || "$1" == "--help" ]]; then
  sed -n '2,20p' "$0" | sed 's/^# \{0,1\}//'
  [[ $# -lt 1 ]] && exit 2 || exit 0
fi

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
socket="$1"
shift

# Normalise to an absolute filesystem path, then hand csi-sanity a unix:// URL.
socket_path="${socket#unix://}"
if [[ "${socket_path}" != /* ]]; then
  socket_path="$(pwd)/${socket_path}"
fi

# csi-sanity waits up to a minute per connection attempt; fail fast instead.
wait_secs="${SOCKET_WAIT_SECS:-30}"
for ((i = 0; i < wait_secs * 10; i++)); do
  [[ -S "${socket_path}" ]] && break
  sleep 0.1
done
if [[ ! -S "${socket_path}" ]]; then
  echo "run-csi-sanity: no Unix socket at ${socket_path} after ${wait_secs}s" >&2
  exit 2
fi

sanity="${CSI_SANITY:-}"
if [[ -z "${sanity}" ]]; then
  sanity="$("${repo_root}/scripts/install-csi-sanity.sh")"
fi

# Specs that cannot pass against a node-only plugin (ginkgo.skip is a regexp
# matched against the full spec text; each entry becomes its own --ginkgo.skip,
# and a spec is skipped if any of them matches).
SKIPS=(
  # Every Controller-side Describe (Controller Service, ListSnapshots,
  # GetSnapshot, CreateSnapshot, DeleteSnapshot, ExpandVolume, ModifyVolume,
  # Controller*VolumeHealth): they call ControllerGetCapabilities without
  # looking at the CONTROLLER_SERVICE plugin capability.
  '\[Controller Server\]'
  # Node specs that unconditionally create a volume with CreateVolume.
  'Node Service NodeUnpublishVolume should remove target path'
  # Node specs that create a volume with CreateVolume, but only run when the
  # matching node capability is advertised (listed so the skip list stays
  # correct if credmount's capabilities change).
  'Node Service NodeGetVolumeStats should fail when volume does not exist on the specified path'
  'Node Service NodeExpandVolume should fail when no volume path is provided'
  'Node Service NodeExpandVolume should work if node-expand is called after node-publish'
  'Node Service NodeStageVolume should fail when no volume capability is provided'
  'Node Service NodePublishVolume with single node multi writer capability'
  'Node Service NodeGetVolumeHealth should return health for a valid volume'
)

# Fresh parent dir: csi-sanity mkdirs (not mkdir -p) mountdir and stagingdir
# before every spec and fails if they already exist.
workdir="$(mktemp -d "${TMPDIR:-/tmp}/credmount-sanity.XXXXXX")"
# csi-sanity removes mountdir/stagingdir itself after each spec; only remove
# empty directories so a mount left behind by a misbehaving driver is never
# descended into.
cleanup() {
  rmdir "${workdir}/mount" "${workdir}/staging" 2>/dev/null || true
  rmdir "${workdir}" 2>/dev/null || echo "run-csi-sanity: left ${workdir} behind (not empty)" >&2
}
trap cleanup EXIT

args=(
  "--csi.endpoint=unix://${socket_path}"
  "--csi.mountdir=${workdir}/mount"
  "--csi.stagingdir=${workdir}/staging"
  "--csi.testvolumeaccesstype=mount"
  "--ginkgo.v"
  "--ginkgo.no-color"
  "--ginkgo.timeout=10m"
)
for s in "${SKIPS[@]}"; do
  args+=("--ginkgo.skip=${s}")
done
if [[ -n "${JUNIT_REPORT:-}" ]]; then
  args+=("--ginkgo.junit-report=${JUNIT_REPORT}")
fi

echo "run-csi-sanity: ${sanity} ${args[*]} $*" >&2
set +e
"${sanity}" "${args[@]}" "$@"
rc=$?
set -e
if [[ ${rc} -ne 0 ]]; then
  echo "run-csi-sanity: FAILED (exit ${rc})" >&2
fi
exit "${rc}"

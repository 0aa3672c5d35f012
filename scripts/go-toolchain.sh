# Sourced by the install-*.sh scripts that build Go tools. Sets GO to a Go command of at least
# 1.<min minor>: the local `go` when it is new enough, else a toolchain downloaded from the Go
# module proxy — Go toolchains are published there as modules (golang.org/toolchain), so an old
# Go (Debian's is 1.19) can fetch a newer one.
#   select_go <min minor> <toolchain version to fetch> <what needs it, for messages>
select_go() {
  local min_minor="$1" toolchain="$2" what="$3" minor arch module dir
  minor="$(go env GOVERSION 2>/dev/null | sed -nE 's/^go1\.([0-9]+).*/\1/p')"
  GO=go
  if [[ -z "${minor}" || "${minor}" -lt "${min_minor}" ]]; then
    arch="$(uname -m | sed -e 's/x86_64/amd64/' -e 's/aarch64/arm64/')"
    module="golang.org/toolchain@v0.0.1-go${toolchain}.linux-${arch}"
    log "local go is too old for ${what} (need 1.${min_minor}+); fetching ${module} from the module proxy"
    dir="$(cd "$(mktemp -d)" && GOFLAGS=-mod=mod GOTOOLCHAIN=local go mod download -json "${module}" | sed -nE 's/^[[:space:]]*"Dir": "(.*)",?$/\1/p')"
    [[ -n "${dir}" && -f "${dir}/bin/go" ]] || { log "error: could not download ${module}"; exit 1; }
    chmod +x "${dir}/bin/"* "${dir}/pkg/tool/"*/* 2>/dev/null || true
    GO="${dir}/bin/go"
  fi
}

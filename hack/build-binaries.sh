#!/usr/bin/env bash
# Builds the control plane and reference binaries from the Go module proxy, once, into
# ${CLUSTERDNS_CACHE:-~/.cache/clusterdns}/<component>-<version>/. A finished component is
# never rebuilt; an interrupted build leaves nothing behind (it builds into a temp dir and
# renames it into place).
#
#   hack/build-binaries.sh [kubernetes] [etcd] [kwok] [coredns] [coredns@X.Y.Z]...
#
# Without arguments: the four components, and the CoreDNS releases the tests run besides the
# reference (COREDNS_OLDEST_VERSION, KUBEADM_COREDNS_VERSION). `coredns@X.Y.Z` is any CoreDNS
# release, built as the engine coredns runs it (hack/coredns-engine/main.go: the plugins of
# the Corefile clusterdns renders) into coredns-vX.Y.Z/; the reference release is the full
# build of hack/coredns/. A release the Go module proxy does not have exits 3.
#
# Static (CGO_ENABLED=0), stripped, never downloads a Go toolchain (GOTOOLCHAIN=local).
# Progress is printed as "[component] compiled N/M packages" because the first build of
# Kubernetes takes many minutes on a small machine.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=hack/versions.env
. "$here/versions.env"
cache=${CLUSTERDNS_CACHE:-$HOME/.cache/clusterdns}
export CGO_ENABLED=0 GOTOOLCHAIN=local GOFLAGS="-mod=mod -buildvcs=false -trimpath"

components=("$@")
[ ${#components[@]} -gt 0 ] || components=(kubernetes etcd kwok coredns "coredns@${COREDNS_OLDEST_VERSION#v}" "coredns@${KUBEADM_COREDNS_VERSION#v}")

kubernetes_ldflags() {
  local v=$KUBERNETES_VERSION minor date flags="-s -w"
  minor=${v#v1.}; minor=${minor%%.*}
  date=$(go mod download -json "k8s.io/kubernetes@$v" | sed -n 's/^\s*"Time": "\(.*\)",\?$/\1/p')
  [ -n "$date" ] || date=$(go list -m -f '{{.Time.Format "2006-01-02T15:04:05Z"}}' "k8s.io/kubernetes@$v" 2>/dev/null || true)
  # The module zip keeps the release tooling's placeholders; without these the apiserver's
  # /version says v0.0.0-master. Both packages carry the version (server and client side).
  for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    flags+=" -X $pkg.gitVersion=$v -X $pkg.gitMajor=1 -X $pkg.gitMinor=$minor"
    flags+=" -X $pkg.gitTreeState=clean -X $pkg.gitCommit= -X $pkg.buildDate=${date:-1970-01-01T00:00:00Z}"
  done
  echo "$flags"
}

# KWOK v0.8 has no built-in stages: it must be given the Stage documents its module ships
# (nodes become Ready and keep a Lease; scheduled pods become Running and Ready with an IP,
# and go away when deleted). They are copied from the module next to the binary.
kwok_stages() {
  local dir stage
  dir=$(go list -m -f '{{.Dir}}' sigs.k8s.io/kwok)/kustomize/stage
  for stage in node/fast/node-initialize node/heartbeat-with-lease/node-heartbeat-with-lease \
               pod/fast/pod-ready pod/fast/pod-complete pod/fast/pod-delete; do
    echo "---"; cat "$dir/$stage.yaml"
  done
}

# The module that builds CoreDNS $1 (X.Y.Z) as the engine runs it, in directory $2, with the
# release's own go line (which decides the GODEBUG defaults the binary runs with).
coredns_engine_module() {
  local version=$1 dir=$2 info go_version out
  if ! info=$(go list -m -json "github.com/coredns/coredns@v$version" 2>&1); then
    echo "[coredns] CoreDNS $version is not a release on the Go module proxy ($(go env GOPROXY)): $info" >&2
    exit 3
  fi
  go_version=$(sed -n 's/^\s*"GoVersion": "\(.*\)",\?$/\1/p' <<<"$info")
  cp "$here/coredns-engine/main.go" "$dir/"
  printf 'module clusterdns.io/engine/coredns\n\ngo %s\n' "${go_version:-1.17}" > "$dir/go.mod"
  echo "[coredns] resolving the modules of v$version"
  if ! out=$(cd "$dir" && go get "github.com/coredns/coredns@v$version" 2>&1); then echo "$out" >&2; return 1; fi
}

# build <component> <version> <module dir under hack/, or absolute> <ldflags> <package>...
build() {
  local component=$1 version=$2 dir=$3 ldflags=$4; shift 4
  local dest="$cache/$component-$version"
  if [ -d "$dest" ]; then echo "[$component] $version cached in $dest"; return; fi
  mkdir -p "$cache"
  local tmp; tmp=$(mktemp -d "$cache/.$component-$version.XXXXXX")
  trap 'rm -rf "$tmp"' EXIT
  case "$dir" in
    /*) cd "$dir" ;;
    *) cd "$here/$dir"; echo "[$component] downloading modules for $version"; go mod download ;;
  esac
  local total; total=$(go list -deps "$@" | wc -l)
  echo "[$component] building $version ($total packages): $*"
  local start=$SECONDS n=0
  # `go build -v` names each package as it is compiled; count them to show progress.
  go build -v -ldflags "$ldflags" -o "$tmp/" "$@" 2>&1 | while IFS= read -r line; do
    case "$line" in
      *" "*|*:*) echo "[$component] $line" ;;  # a compiler message, not a package name
      *) n=$((n + 1)); if (( n % 50 == 0 )); then echo "[$component] compiled $n/$total packages ($((SECONDS - start))s)"; fi ;;
    esac
  done
  [ "${PIPESTATUS[0]}" -eq 0 ] || { echo "[$component] build failed" >&2; exit 1; }
  if [ "$component" = kwok ]; then kwok_stages > "$tmp/stages.yaml"; fi
  # Another build of the same component may have finished first: keep its result.
  mv -T "$tmp" "$dest" 2>/dev/null || rm -rf "$tmp"
  trap - EXIT
  echo "[$component] built $version in $((SECONDS - start))s: $(du -sh "$dest" | cut -f1) in $dest"
}

for component in "${components[@]}"; do
  case "$component" in
    kubernetes) build kubernetes "$KUBERNETES_VERSION" kubernetes "$(kubernetes_ldflags)" \
                  k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes/cmd/kube-controller-manager \
                  k8s.io/kubernetes/cmd/kube-scheduler k8s.io/kubernetes/cmd/kubectl ;;
    etcd)       build etcd "$ETCD_VERSION" etcd "-s -w" . ;;
    kwok)       build kwok "$KWOK_VERSION" kwok "-s -w" sigs.k8s.io/kwok/cmd/kwok ;;
    coredns)    build coredns "$COREDNS_VERSION" coredns "-s -w" github.com/coredns/coredns ;;
    coredns@*)
      release=${component#coredns@}; release=${release#v}
      if [[ ! $release =~ ^[0-9]+\.[0-9]+\.[0-9]+$ ]]; then echo "coredns@$release: a CoreDNS release is X.Y.Z" >&2; exit 2; fi
      if [ "v$release" = "$COREDNS_VERSION" ]; then build coredns "$COREDNS_VERSION" coredns "-s -w" github.com/coredns/coredns; continue; fi
      if [ -d "$cache/coredns-v$release" ]; then echo "[coredns] v$release cached in $cache/coredns-v$release"; continue; fi
      mkdir -p "$cache"
      module=$(mktemp -d "$cache/.coredns-engine-v$release.XXXXXX")
      # Old releases reach into the runtime with go:linkname (golang.org/x/net), which Go 1.23+
      # refuses unless told not to check; their dependencies stay exactly as they released them.
      ( coredns_engine_module "$release" "$module" && build coredns "v$release" "$module" "-s -w -checklinkname=0" . ) || status=$?
      rm -rf "$module"
      [ "${status:-0}" -eq 0 ] || exit "$status"
      ;;
    *) echo "unknown component: $component (kubernetes, etcd, kwok, coredns, coredns@X.Y.Z)" >&2; exit 2 ;;
  esac
done

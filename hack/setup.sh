#!/usr/bin/env bash
# Brings a checkout to the point where `npm start` and `npm test` run, installing only what
# is missing: the npm dependencies (Node.js 24 itself among them: every npm script runs on
# node_modules/.bin/node), the DNS tools the tests and benchmarks use (dig, dnsperf, dnsmasq),
# gcc (the resolver's hostile-traffic tests compile a raw-socket sender, test/resolver/raw-udp.c)
# and shellcheck (the linter of the shell scripts and of the Dockerfile's RUN lines), from
# Debian's packages. The control plane binaries are built on first use. As root on Linux (CI),
# also what the real node takes from Debian (`clusterdns local --node real` and the node tests):
# runc, the CNI plugins, iptables/nftables/conntrack, buildah (the image build) and debootstrap
# (the image's base); gcc, installed everywhere, also builds the node's pause container.
#
#   hack/setup.sh [--quiet]
set -euo pipefail
cd "$(dirname "$0")/.."
quiet=false
[ "${1:-}" = "--quiet" ] && quiet=true
say() { $quiet || echo "setup: $*"; }

if [ ! -x node_modules/.bin/node ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "setup: installing npm dependencies (including Node.js 24)"
  npm ci --no-audit --no-fund --loglevel=error
else
  say "npm dependencies up to date ($(node_modules/.bin/node --version))"
fi

# command -> Debian package
declare -A tools=([dig]=dnsutils [dnsperf]=dnsperf [dnsmasq]=dnsmasq-base [gcc]=gcc [shellcheck]=shellcheck)
# The real node's (a path that must exist -> Debian package), installed only where a real node can run.
declare -A node_tools=([/usr/sbin/runc]=runc [/usr/lib/cni/bridge]=containernetworking-plugins [/usr/sbin/iptables]=iptables
  [/usr/sbin/nft]=nftables [/usr/sbin/conntrack]=conntrack [/usr/bin/buildah]=buildah [/usr/sbin/debootstrap]=debootstrap)
missing=()
for tool in "${!tools[@]}"; do
  command -v "$tool" >/dev/null 2>&1 || [ -x "/usr/sbin/$tool" ] || missing+=("${tools[$tool]}")
done
if [ "$(id -u)" -eq 0 ] && [ "$(uname -s)" = Linux ]; then
  for path in "${!node_tools[@]}"; do [ -e "$path" ] || missing+=("${node_tools[$path]}"); done
else
  say "not root on Linux: the real node's Debian packages are left out (only clusterdns local --node real needs them)"
fi
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null; then
    echo "setup: installing ${missing[*]} with apt-get"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  else
    echo "setup: missing Debian packages: ${missing[*]} (install them, e.g. sudo apt-get install ${missing[*]})" >&2
    exit 1
  fi
else
  say "dig, dnsperf, dnsmasq, gcc and shellcheck present (and, as root, the real node's packages)"
fi

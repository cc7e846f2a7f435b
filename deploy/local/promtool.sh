#!/usr/bin/env bash
# Prometheus's promtool, built from the Go module proxy (once, cached), to check and unit-test
# the alerting rules in deploy/prometheus/rules without Docker.
#
#   deploy/local/promtool.sh path   build the binary if needed, print its path on stdout
#
# Everything but that path goes to stderr, so `P=$(deploy/local/promtool.sh path)` works. Then
# `$P check rules deploy/prometheus/rules/fraudscore-monitor.yml` and
# `$P test rules deploy/prometheus/rules/fraudscore-monitor.test.yaml` (npm run check:rules).
#
# The binary: Prometheus's Go module versions are v0.3MM.P for Prometheus 3.MM.P (v0.316.0 =
# 3.16.0, its VERSION file). The module source is copied out of the read-only module cache and
# ./cmd/promtool built there, stamped the way Prometheus's .promu.yml does. The module needs the
# Go its go.mod names (v0.316.0: go 1.26.7); with an older local Go, pick an older version.
#
# Settings (environment): PROMTOOL_MODULE_VERSION (default v0.316.0), FRAUDSCORE_CACHE (default
# ~/.cache/fraudscore: binary and build log under promtool-<version>/; outside git).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
module=github.com/prometheus/prometheus
modver=${PROMTOOL_MODULE_VERSION:-v0.316.0}
cache=${FRAUDSCORE_CACHE:-$HOME/.cache/fraudscore}
home="$cache/promtool-$modver"
bin="$home/promtool"
buildlog="$home/build.log"

log() { echo "promtool: $*" >&2; }

build() {
  [ -x "$bin" ] && [ -f "$home/.complete" ] && return 0
  command -v go >/dev/null || { log "Go is needed to build promtool (https://go.dev/dl)"; exit 1; }
  mkdir -p "$home"
  # one build at a time, even when two callers race
  exec 9>"$home/.lock"
  command -v flock >/dev/null && flock 9
  [ -x "$bin" ] && [ -f "$home/.complete" ] && return 0

  export GOWORK=off GOTOOLCHAIN=local CGO_ENABLED=0
  log "resolving $module@$modver from the Go module proxy ($(go env GOPROXY))"
  local info dir
  info=$(go mod download -json "$module@$modver") || { log "cannot download $module@$modver: $info"; exit 1; }
  dir=$(sed -n 's/^[[:space:]]*"Dir": "\(.*\)",\{0,1\}$/\1/p' <<<"$info")
  [ -f "$dir/cmd/promtool/main.go" ] || { log "$module@$modver has no cmd/promtool"; exit 1; }

  # GOTOOLCHAIN=local: say plainly when the module wants a newer Go than the one installed.
  local want have
  want=$(sed -n 's/^go \([0-9.]*\)$/\1/p' "$dir/go.mod")
  have=$(go env GOVERSION | sed 's/^go//')
  if [ -n "$want" ] && [ "$(printf '%s\n%s\n' "$want" "$have" | sort -V | tail -n1)" != "$have" ]; then
    log "$module@$modver needs Go $want, this is Go $have: install a newer Go or set PROMTOOL_MODULE_VERSION to an older version"
    exit 1
  fi

  # The module cache is read-only: build in a writable copy.
  local src="$home/src"
  rm -rf "$src" && cp -R "$dir" "$src" && chmod -R u+w "$src"

  # Version info the way Prometheus's .promu.yml stamps it; version from the VERSION file,
  # date from the proxy's .info.
  local pv date pkg=github.com/prometheus/common/version
  pv=$(tr -d '[:space:]' <"$src/VERSION" 2>/dev/null) || true
  date=$(sed -n 's/.*"Time":"\([^"]*\)".*/\1/p' "$(sed -n 's/^[[:space:]]*"Info": "\(.*\)",\{0,1\}$/\1/p' <<<"$info")" 2>/dev/null) || true
  local ldflags="-s -w -X $pkg.Version=${pv:-$modver} -X $pkg.Revision=$module@$modver -X $pkg.Branch=module-proxy -X $pkg.BuildUser=fraudscore -X $pkg.BuildDate=${date:-unknown}"

  log "building promtool ${pv:-$modver} ($module@$modver, $(go env GOVERSION)) into $bin"
  log "this compiles ~1400 packages: several minutes on 2 cores the first time; log: $buildlog"
  local start=$SECONDS
  # Unlike Jaeger's module, Prometheus's has no replace directive and a complete go.sum: the
  # default -mod=readonly builds it, so no -mod=mod here (which could re-resolve dependencies).
  ( cd "$src" && exec go build -v -trimpath -tags netgo -ldflags "$ldflags" -o "$bin.tmp" ./cmd/promtool ) >"$buildlog" 2>&1 &
  local bpid=$!
  trap 'kill -TERM '"$bpid"' 2>/dev/null || true' EXIT INT TERM
  while kill -0 "$bpid" 2>/dev/null; do
    for _ in $(seq 1 30); do kill -0 "$bpid" 2>/dev/null || break; sleep 1; done
    kill -0 "$bpid" 2>/dev/null && log "still building: $((SECONDS - start)) s, $(grep -vc "^go: downloading" "$buildlog") packages compiled (log: $buildlog)"
  done
  if ! wait "$bpid"; then
    trap - EXIT INT TERM
    log "build failed after $((SECONDS - start)) s; last log lines:"; tail -n 30 "$buildlog" >&2
    rm -f "$bin.tmp"; exit 1
  fi
  trap - EXIT INT TERM
  mv "$bin.tmp" "$bin"
  {
    echo "module=$module@$modver"
    echo "prometheus=${pv:-unknown}"
    echo "go=$(go env GOVERSION)"
    echo "build_seconds=$((SECONDS - start))"
    echo "built_at=$(date -u +%Y-%m-%dT%H:%M:%SZ)"
  } >"$home/BUILD"
  rm -rf "$src"
  touch "$home/.complete"
  log "built in $((SECONDS - start)) s: $bin ($(du -h "$bin" | cut -f1))"
}

case "${1:-}" in
  path) build; echo "$bin" ;;
  *) echo "usage: $0 path" >&2; exit 2 ;;
esac

#!/usr/bin/env bash
# A real Jaeger v2 (OTLP in, in-memory storage, query API) on loopback, without Docker.
#
#   deploy/local/jaeger.sh up      build the binary from the Go module proxy (once, cached), start, wait until ready
#   deploy/local/jaeger.sh down    stop it (SIGTERM, then SIGKILL after 30 s); --purge deletes its run dir (logs)
#   deploy/local/jaeger.sh status  print the endpoints when it runs
#
# `up` and `status` end with KEY=value lines on stdout (JAEGER_OTLP_GRPC, JAEGER_HEALTH,
# JAEGER_OTLP_HTTP, JAEGER_QUERY); everything else goes to stderr.
#
# The binary: Jaeger's v2.x tags are not Go module versions, but its v1.x module tags carry
# cmd/jaeger (the v2 binary; v1.76.0 = Jaeger v2.13.0). `go install` refuses the module (it has a
# replace directive), so the module source is copied out of the module cache and built there.
# Without the UI assets the binary serves Jaeger's placeholder page at / ; the API is unaffected.
#
# Settings (environment): JAEGER_MODULE_VERSION (default v1.76.0), FRAUDSCORE_CACHE (default
# ~/.cache/fraudscore: binary, build log, run dir; outside git), JAEGER_OTLP_GRPC_PORT (4317),
# JAEGER_OTLP_HTTP_PORT (4318), JAEGER_QUERY_PORT (16686), JAEGER_QUERY_GRPC_PORT (16685),
# JAEGER_HEALTH_PORT (13133) — a default port that is taken is replaced by a free one, an
# explicitly set port that is taken is an error — JAEGER_MAX_TRACES (100000), JAEGER_LOG_LEVEL (info).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=stop-pid.sh
. "$here/stop-pid.sh"
repo=$(cd "$here/../.." && pwd)
module=github.com/jaegertracing/jaeger
modver=${JAEGER_MODULE_VERSION:-v1.76.0}
cache=${FRAUDSCORE_CACHE:-$HOME/.cache/fraudscore}
home="$cache/jaeger-$modver"
bin="$home/jaeger"
buildlog="$home/build.log"
run="$cache/run/jaeger"
pidfile="$run/jaeger.pid"
endpoints="$run/endpoints"
config="$here/jaeger/config.yaml"

log() { echo "jaeger: $*" >&2; }

running() {
  [ -f "$pidfile" ] || return 1
  local pid; pid=$(cat "$pidfile")
  kill -0 "$pid" 2>/dev/null || return 1
  # a stale pid file whose pid now belongs to something else does not count
  [ ! -r "/proc/$pid/cmdline" ] || tr '\0' ' ' <"/proc/$pid/cmdline" | grep -q -- "--config"
}

build() {
  [ -x "$bin" ] && [ -f "$home/.complete" ] && return 0
  command -v go >/dev/null || { log "Go is needed to build Jaeger (https://go.dev/dl)"; exit 1; }
  mkdir -p "$home"
  # one build at a time, even when two `up`s race
  exec 9>"$home/.lock"
  command -v flock >/dev/null && flock 9
  [ -x "$bin" ] && [ -f "$home/.complete" ] && return 0

  export GOWORK=off GOTOOLCHAIN=local CGO_ENABLED=0
  log "resolving $module@$modver from the Go module proxy ($(go env GOPROXY))"
  local info dir
  info=$(go mod download -json "$module@$modver") || { log "cannot download $module@$modver: $info"; exit 1; }
  dir=$(sed -n 's/^[[:space:]]*"Dir": "\(.*\)",\{0,1\}$/\1/p' <<<"$info")
  [ -f "$dir/cmd/jaeger/main.go" ] || { log "$module@$modver has no cmd/jaeger (the v2 binary); pick a newer v1.x tag"; exit 1; }

  # The module cache is read-only: build in a writable copy.
  local src="$home/src"
  rm -rf "$src" && cp -R "$dir" "$src" && chmod -R u+w "$src"
  # cmd/query/app/ui embeds `actual/*`; the module ships only actual/.gitignore there, which keeps
  # the pattern satisfied and makes the binary fall back to placeholder/index.html. Should a future
  # module ship the folder empty, add such a file rather than fail the embed.
  local ui="$src/cmd/query/app/ui/actual"
  mkdir -p "$ui"
  [ -n "$(ls -A "$ui")" ] || printf '*\n!.gitignore\n' >"$ui/.gitignore"

  # Version info the way Jaeger's Makefile stamps it (BuildInfo.mk); v2 version from the CHANGELOG
  # heading "v1.76.0 / v2.13.0 (date)", date from the proxy's .info.
  local v2 date pkg="$module/internal/version"
  v2=$(grep -m1 -o "^${modver} / v2\.[0-9.]*" "$src/CHANGELOG.md" 2>/dev/null | sed 's/.* \/ //') || true
  date=$(sed -n 's/.*"Time":"\([^"]*\)".*/\1/p' "$(sed -n 's/^[[:space:]]*"Info": "\(.*\)",\{0,1\}$/\1/p' <<<"$info")" 2>/dev/null) || true
  local ldflags="-s -w -X $pkg.latestVersion=${v2:-$modver} -X $pkg.date=${date:-unknown} -X $pkg.commitSHA=$module@$modver"

  log "building Jaeger ${v2:-$modver} ($module@$modver, $(go env GOVERSION)) into $bin"
  log "this compiles ~2300 packages: about 8 minutes on 2 cores the first time; log: $buildlog"
  local start=$SECONDS
  ( cd "$src" && GOFLAGS="${GOFLAGS:-} -mod=mod" exec go build -v -trimpath -ldflags "$ldflags" -o "$bin.tmp" ./cmd/jaeger ) >"$buildlog" 2>&1 &
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
    echo "jaeger=${v2:-unknown}"
    echo "go=$(go env GOVERSION)"
    echo "build_seconds=$((SECONDS - start))"
    echo "built_at=$(date -u +%Y-%m-%dT%H:%M:%SZ)"
  } >"$home/BUILD"
  rm -rf "$src"
  touch "$home/.complete"
  log "built in $((SECONDS - start)) s: $bin ($(du -h "$bin" | cut -f1))"
}

port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

free_port() {
  node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'
}

# pick_port VAR default: the port to use for VAR, exported; "taken" lists ports already chosen
taken=" "
pick_port() {
  local var=$1 want=${!1:-$2} port
  if port_free "$want" && [[ "$taken" != *" $want "* ]]; then
    port=$want
  elif [ -n "${!var:-}" ]; then
    log "$var=$want is taken (by another process or another setting)"; exit 1
  else
    port=$(free_port)
    while [[ "$taken" == *" $port "* ]]; do port=$(free_port); done
    log "port $want is taken; using $port for $var"
  fi
  taken+="$port "
  printf -v "$var" '%s' "$port"
  export "${var?}"
}

ready() {
  curl -fsS --noproxy '*' -o /dev/null --max-time 2 "http://127.0.0.1:$JAEGER_QUERY_PORT/api/services" 2>/dev/null &&
    curl -fsS --noproxy '*' -o /dev/null --max-time 2 "http://127.0.0.1:$JAEGER_HEALTH_PORT/status" 2>/dev/null
}

up() {
  if running; then cat "$endpoints"; return; fi
  build
  command -v curl >/dev/null || { log "curl is needed for the readiness check"; exit 1; }
  mkdir -p "$run"
  pick_port JAEGER_OTLP_GRPC_PORT 4317
  pick_port JAEGER_OTLP_HTTP_PORT 4318
  pick_port JAEGER_QUERY_PORT 16686
  pick_port JAEGER_QUERY_GRPC_PORT 16685
  pick_port JAEGER_HEALTH_PORT 13133
  export JAEGER_MAX_TRACES=${JAEGER_MAX_TRACES:-100000} JAEGER_LOG_LEVEL=${JAEGER_LOG_LEVEL:-info}
  log "starting $(sed -n 's/^jaeger=//p' "$home/BUILD" 2>/dev/null || echo "$modver") on 127.0.0.1 (logs: $run/jaeger.log)"
  nohup "$bin" --config "$config" >"$run/jaeger.log" 2>&1 &
  local pid=$!
  echo "$pid" >"$pidfile"
  {
    echo "JAEGER_OTLP_GRPC=http://127.0.0.1:$JAEGER_OTLP_GRPC_PORT"
    echo "JAEGER_HEALTH=http://127.0.0.1:$JAEGER_HEALTH_PORT/status"
    echo "JAEGER_OTLP_HTTP=http://127.0.0.1:$JAEGER_OTLP_HTTP_PORT"
    echo "JAEGER_QUERY=http://127.0.0.1:$JAEGER_QUERY_PORT"
  } >"$endpoints"
  local deadline=$((SECONDS + 60))
  until ready; do
    if ! kill -0 "$pid" 2>/dev/null || [ "$SECONDS" -ge "$deadline" ]; then
      log "Jaeger did not become ready; last log lines:"; tail -n 20 "$run/jaeger.log" >&2 || true
      down; exit 1
    fi
    sleep 0.25
  done
  log "ready"
  cat "$endpoints"
}

down() {
  if running; then
    stop_pid "$pidfile" Jaeger
  fi
  rm -f "$pidfile" "$endpoints"
  if [ "${1:-}" = "--purge" ]; then rm -rf "$run"; fi
}

status() { if running; then cat "$endpoints"; else log "not running"; exit 3; fi; }

cd "$repo"
case "${1:-}" in
  up) up ;;
  down) shift; down "${1:-}" ;;
  status) status ;;
  *) echo "usage: $0 up|down [--purge]|status" >&2; exit 2 ;;
esac

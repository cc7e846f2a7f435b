# Sourced by kafka.sh and jaeger.sh: stops the process a pidfile names the way both need it,
# SIGTERM, up to 30 s for a clean shutdown, then SIGKILL. Uses the caller's log().
stop_pid() {
  local pidfile=$1 name=$2 pid
  pid=$(cat "$pidfile")
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 1 60); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
  if kill -0 "$pid" 2>/dev/null; then
    log "$name did not stop in 30 s; killing"
    kill -KILL "$pid" 2>/dev/null || true
  fi
  log "stopped"
}

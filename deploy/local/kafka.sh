#!/usr/bin/env bash
# A real single-node Apache Kafka (KRaft) on loopback, without Docker.
#
#   deploy/local/kafka.sh up      fetch the broker jars (once, cached), format, start, wait until ready
#   deploy/local/kafka.sh down    stop it (SIGTERM, then SIGKILL after 30 s); --purge deletes its data
#   deploy/local/kafka.sh status  print the bootstrap address when it runs
#   deploy/local/kafka.sh kill    SIGKILL the broker (fault tests); its data stays
#   deploy/local/kafka.sh restart start it again on the same port with the same data
#   deploy/local/kafka.sh up --secure   a second broker (instance "secure") with only a SASL_SSL
#                                 listener: SCRAM-SHA-512 users, a CA and certificate made here,
#                                 StandardAuthorizer denying whatever no ACL allows, and the
#                                 project's ACLs per principal (`fraudscore acls`); every other
#                                 command takes --secure too
#   deploy/local/kafka.sh env <principal> --secure   export lines for a client of ours as that
#                                 principal (admin, scorer, gateway, monitor, publisher, trainer)
#
# When KAFKA_BROKERS is set, that broker is used and nothing is started or stopped.
# Settings (environment): KAFKA_VERSION (default 4.4.0), KAFKA_PORT (default 9092, or a free
# port when that one is taken), FRAUDSCORE_CACHE (default ~/.cache/fraudscore: jars and data,
# outside git), KAFKA_HEAP (default 1g), KAFKA_INSTANCE (a name: a second, independent broker
# with its own data and port, e.g. for fault tests that kill it).
set -euo pipefail

# --secure anywhere in the arguments picks the secure instance (kafka-secure.sh).
secure=0
args=()
for a in "$@"; do if [ "$a" = --secure ]; then secure=1; else args+=("$a"); fi; done
set -- "${args[@]+"${args[@]}"}"
# Its own default port, so both brokers can run side by side (the tests use both).
[ "$secure" = 1 ] && KAFKA_INSTANCE=${KAFKA_INSTANCE:-secure} && KAFKA_PORT=${KAFKA_PORT:-9094}

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=stop-pid.sh
. "$here/stop-pid.sh"
repo=$(cd "$here/../.." && pwd)
version=${KAFKA_VERSION:-4.4.0}
cache=${FRAUDSCORE_CACHE:-$HOME/.cache/fraudscore}
libs="$cache/kafka-$version/libs"
run="$cache/run/kafka${KAFKA_INSTANCE:+-$KAFKA_INSTANCE}"
pidfile="$run/broker.pid"
addrfile="$run/bootstrap"

log() { echo "kafka: $*" >&2; }
# shellcheck source=kafka-secure.sh
. "$here/kafka-secure.sh"

# Waits until the broker serves clients; on the secure broker, as admin over SASL_SSL.
wait_ready() {
  if [ "$secure" = 1 ]; then
    (eval "$(secure_env admin)" && node "$here/kafka-ready.mjs" "$1" "$2")
  else
    node "$here/kafka-ready.mjs" "$1" "$2"
  fi
}

running() { [ -f "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null; }

fetch_jars() {
  [ -f "$libs/.complete" ] && return 0
  command -v mvn >/dev/null || { log "Maven (mvn) is needed to fetch the broker jars"; exit 1; }
  command -v java >/dev/null || { log "Java 17+ is needed to run the broker"; exit 1; }
  log "fetching Apache Kafka $version broker jars from Maven Central into $libs (once)"
  rm -rf "$libs" && mkdir -p "$libs"
  mvn -q -B -f "$here/kafka/pom.xml" -Dkafka.version="$version" \
    dependency:copy-dependencies -DincludeScope=runtime -DoutputDirectory="$libs" -Dstyle.color=never >"$cache/mvn-kafka.log" 2>&1 || { cat "$cache/mvn-kafka.log" >&2; exit 1; }
  touch "$libs/.complete"
}

port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

pick_port() {
  local want=${KAFKA_PORT:-9092}
  if port_free "$want"; then echo "$want"; return; fi
  [ -n "${KAFKA_PORT:-}" ] && [ "$secure" = 0 ] && { log "KAFKA_PORT=$want is taken"; exit 1; }
  node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'
}

write_config() {
  local port=$1 controller=$2
  cat > "$run/server.properties" <<PROPS
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$controller
listeners=PLAINTEXT://127.0.0.1:$port,CONTROLLER://127.0.0.1:$controller
advertised.listeners=PLAINTEXT://127.0.0.1:$port
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
log.dirs=$run/data
num.partitions=4
# single node: every internal topic has one replica
offsets.topic.replication.factor=1
offsets.topic.num.partitions=8
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
transaction.state.log.num.partitions=8
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
auto.create.topics.enable=false
# a crashed transactional producer's open transaction is aborted within a minute
transaction.max.timeout.ms=900000
log.retention.hours=168
log.segment.bytes=268435456
PROPS
}

up() {
  # KAFKA_BROKERS names a plaintext broker; the secure one is always this machine's own.
  if [ -n "${KAFKA_BROKERS:-}" ] && [ "$secure" = 0 ]; then log "using KAFKA_BROKERS=$KAFKA_BROKERS; starting nothing"; echo "$KAFKA_BROKERS"; return; fi
  if running; then cat "$addrfile"; return; fi
  fetch_jars
  mkdir -p "$run"
  local port controller
  local -a scram=()
  port=$(pick_port)
  controller=$(node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')
  if [ "$secure" = 1 ]; then
    secure_material
    write_secure_config "$port" "$controller"
    mapfile -t scram < <(secure_format_args)
  else
    write_config "$port" "$controller"
  fi
  # Fresh storage on every start: a stale quorum config from another port would refuse to start.
  rm -rf "$run/data"
  java -cp "$libs/*" kafka.tools.StorageTool format -t "$(java -cp "$libs/*" kafka.tools.StorageTool random-uuid 2>/dev/null)" \
    -c "$run/server.properties" --ignore-formatted "${scram[@]+"${scram[@]}"}" >"$run/format.log" 2>&1 || { cat "$run/format.log" >&2; exit 1; }
  log "starting broker $version on 127.0.0.1:$port$([ "$secure" = 1 ] && echo ' (SASL_SSL only)') (logs: $run/server.log)"
  start_java
  echo "127.0.0.1:$port" >"$addrfile"
  if ! wait_ready "127.0.0.1:$port" 60000; then
    log "broker did not become ready; last log lines:"; tail -n 20 "$run/server.log" >&2 || true
    down; exit 1
  fi
  [ "$secure" = 1 ] && apply_acls
  cat "$addrfile"
}

# The project's ACLs per principal, applied by the CLI as admin (services/cli/src/security/acls.ts).
apply_acls() {
  log "applying the ACLs per principal (fraudscore acls)"
  (eval "$(secure_env admin)" && PATH="$repo/node_modules/.bin:$PATH" node --import tsx "$repo/services/cli/src/main.ts" acls >"$run/acls.log" 2>&1) \
    || { cat "$run/acls.log" >&2; log "could not apply the ACLs"; down; exit 1; }
}

down() {
  if [ -n "${KAFKA_BROKERS:-}" ] && [ "$secure" = 0 ]; then log "KAFKA_BROKERS is set; stopping nothing"; return; fi
  if running; then
    stop_pid "$pidfile" broker
  fi
  rm -f "$pidfile" "$addrfile"
  if [ "${1:-}" = "--purge" ]; then rm -rf "$run"; fi
}

status() { if running; then cat "$addrfile"; else log "not running"; exit 3; fi; }

kill_broker() {
  if running; then kill -KILL "$(cat "$pidfile")"; log "killed (SIGKILL)"; fi
  rm -f "$pidfile"
}

# Same config, same data, same port: what a broker coming back after a crash looks like.
restart() {
  running && { cat "$addrfile"; return; }
  [ -f "$run/server.properties" ] || { log "nothing to restart: run 'up' first"; exit 1; }
  start_java
  local addr; addr=$(grep '^advertised.listeners=' "$run/server.properties" | tail -n 1 | sed 's|.*://||')
  echo "$addr" >"$addrfile"
  wait_ready "$addr" 90000 || { log "broker did not come back"; exit 1; }
  cat "$addrfile"
}

start_java() {
  # shellcheck disable=SC2086  # KAFKA_JVM_OPTS is a list of flags
  nohup java -Xms256m -Xmx"${KAFKA_HEAP:-1g}" -XX:+UseG1GC ${KAFKA_JVM_OPTS:-} -Djava.awt.headless=true \
    -Dkafka.logs.dir="$run" -Dlog4j2.configurationFile="$here/kafka/log4j2.properties" \
    -cp "$libs/*" kafka.Kafka "$run/server.properties" >>"$run/stdout.log" 2>&1 &
  echo $! >"$pidfile"
}

cd "$repo"
case "${1:-}" in
  up) up ;;
  down) shift; down "${1:-}" ;;
  status) status ;;
  kill) kill_broker ;;
  restart) fetch_jars; restart ;;
  env) [ "$secure" = 1 ] || { log "env is for the secure broker: env <principal> --secure"; exit 2; }; secure_env "${2:-}" ;;
  *) echo "usage: $0 up|down [--purge]|status|kill|restart|env <principal>  [--secure]" >&2; exit 2 ;;
esac

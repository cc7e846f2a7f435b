# Sourced by kafka.sh for `up --secure`: the broker's TLS material, SCRAM users and listener
# settings. Everything is generated on this machine under the broker's run folder (the cache,
# outside git) and kept across restarts; `down --purge` deletes it.
#
#   $run/tls/ca.pem              the CA clients trust (FRAUD_KAFKA_SSL_CA_LOCATION)
#   $run/tls/broker.p12          the broker's key and certificate (SAN 127.0.0.1, localhost)
#   $run/users/<name>.password   one SCRAM-SHA-512 password per principal (mode 600)
#
# Principals: admin (super user: topics, ACLs), scorer, gateway, monitor, publisher (writes
# transactions and outcomes), trainer (retrain: replays history, may deploy a candidate), and
# the broker's own two (broker: inter-broker SCRAM; controller: PLAIN on the controller
# listener, since KRaft cannot read SCRAM credentials before it has the metadata log). Client
# ACLs are not set here: `fraudscore acls` applies them as admin.

SECURE_PRINCIPALS="admin scorer gateway monitor publisher trainer"

# shellcheck source=tls.sh
. "$(dirname "${BASH_SOURCE[0]}")/tls.sh"

secure_material() {
  local tls="$run/tls" users="$run/users"
  mkdir -p "$tls" "$users" && chmod 700 "$tls" "$users"
  if [ ! -f "$tls/broker.p12" ]; then
    log "generating a local CA and the broker's certificate in $tls"
    make_broker_tls "$tls" "fraudscore local CA" localhost "IP:127.0.0.1,DNS:localhost" || exit 1
  fi
  local name
  for name in $SECURE_PRINCIPALS broker controller; do
    [ -f "$users/$name.password" ] || (umask 077 && openssl rand -hex 24 >"$users/$name.password")
  done
}

# The SCRAM credentials go into the metadata log when the storage is formatted.
secure_format_args() {
  local name
  for name in $SECURE_PRINCIPALS broker; do
    printf -- '--add-scram\nSCRAM-SHA-512=[name=%s,password=%s]\n' "$name" "$(cat "$run/users/$name.password")"
  done
}

write_secure_config() {
  local port=$1 controller=$2 tls="$run/tls" users="$run/users"
  local store_pw broker_pw controller_pw
  store_pw=$(cat "$tls/store.password"); broker_pw=$(cat "$users/broker.password"); controller_pw=$(cat "$users/controller.password")
  write_config "$port" "$controller"
  # The plaintext listener lines are replaced: this broker has no plaintext port at all.
  sed -i -e '/^listeners=/d' -e '/^advertised.listeners=/d' -e '/^inter.broker.listener.name=/d' -e '/^listener.security.protocol.map=/d' "$run/server.properties"
  cat >>"$run/server.properties" <<PROPS
listeners=SASL_SSL://127.0.0.1:$port,CONTROLLER://127.0.0.1:$controller
advertised.listeners=SASL_SSL://127.0.0.1:$port
inter.broker.listener.name=SASL_SSL
listener.security.protocol.map=SASL_SSL:SASL_SSL,CONTROLLER:SASL_SSL
ssl.keystore.type=PKCS12
ssl.keystore.location=$tls/broker.p12
ssl.keystore.password=$store_pw
ssl.key.password=$store_pw
ssl.truststore.type=PEM
ssl.truststore.location=$tls/ca.pem
ssl.endpoint.identification.algorithm=https
sasl.enabled.mechanisms=SCRAM-SHA-512
sasl.mechanism.inter.broker.protocol=SCRAM-SHA-512
listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username="broker" password="$broker_pw";
sasl.mechanism.controller.protocol=PLAIN
listener.name.controller.sasl.enabled.mechanisms=PLAIN
listener.name.controller.plain.sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required username="controller" password="$controller_pw" user_controller="$controller_pw";
authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer
allow.everyone.if.no.acl.found=false
super.users=User:admin;User:broker;User:controller
PROPS
  chmod 600 "$run/server.properties"
}

# `kafka.sh env <principal> --secure`: the settings a client of ours needs, as export lines.
secure_env() {
  local name=$1
  [ -f "$run/users/$name.password" ] || { log "no principal '$name' (one of: $SECURE_PRINCIPALS); run 'up --secure' first"; exit 1; }
  running || { log "the secure broker is not running (up --secure)"; exit 3; }
  cat <<ENV
export FRAUD_KAFKA_BROKERS=$(cat "$addrfile")
export FRAUD_KAFKA_SECURITY_PROTOCOL=SASL_SSL
export FRAUD_KAFKA_SASL_MECHANISM=SCRAM-SHA-512
export FRAUD_KAFKA_SASL_USERNAME=$name
export FRAUD_KAFKA_SASL_PASSWORD_FILE=$run/users/$name.password
export FRAUD_KAFKA_SSL_CA_LOCATION=$run/tls/ca.pem
ENV
}

#!/usr/bin/env bash
# Writes what deploy/docker/compose.secure.yml mounts as compose secrets: a local CA, the broker's
# certificate and keystore, one SCRAM password per principal, and the broker's and the clients'
# JAAS files. Everything goes under .cache/secure/ (ignored by git; FRAUDSCORE_SECURE_DIR to put
# it elsewhere) and is kept across runs: run it again and nothing changes. The TLS material is
# made as for the local secure broker (deploy/local/tls.sh), with the compose host names.
#
#   deploy/docker/secure-material.sh
#   docker compose -f docker-compose.yml -f deploy/docker/compose.secure.yml up --build -d
#
#   tls/ca.pem                     the CA every client trusts (FRAUD_KAFKA_SSL_CA_LOCATION)
#   tls/ca.key                     the CA's key (stays here, mode 600; never mounted)
#   tls/broker.p12, store.password the broker's key and certificate (SAN kafka, localhost, 127.0.0.1)
#   users/<principal>.password     admin scorer gateway monitor publisher trainer, and the
#                                  broker's own two: broker (inter-broker SCRAM), controller
#                                  (PLAIN, KRaft)
#   kafka/server-jaas.conf         the broker's logins (KAFKA_OPTS java.security.auth.login.config)
#   kafka/admin-client.properties  admin's client settings, for the broker's healthcheck
#   kafka/registry-jaas.conf       the schema registry's login to the broker (as admin)
#
# The folder is mode 700: other users of this machine cannot read it. The files the containers
# mount are mode 644, because compose secrets from files are bind mounts that keep your uid and
# the containers run as uid 1000 (fraudscore, apache/kafka's appuser, the registry's appuser).
# New passwords need a new broker: `docker compose ... down -v` (the SCRAM credentials live in
# the broker's metadata, written once when its volume is formatted).
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
dir=${FRAUDSCORE_SECURE_DIR:-$repo/.cache/secure}
PRINCIPALS="admin scorer gateway monitor publisher trainer"
# shellcheck source=../local/tls.sh
. "$repo/deploy/local/tls.sh"

command -v openssl >/dev/null || { echo "secure-material: openssl is needed" >&2; exit 1; }
umask 077
mkdir -p "$dir/tls" "$dir/users" "$dir/kafka"
chmod 700 "$dir" "$dir/tls" "$dir/users" "$dir/kafka"
tls=$dir/tls

if [ ! -f "$tls/broker.p12" ]; then
  echo "secure-material: a local CA and the broker's certificate in $tls"
  # kafka: the containers' address (advertised, and the controller quorum); localhost and
  # 127.0.0.1: the host's port 9094 and the broker's own healthcheck.
  make_broker_tls "$tls" "fraudscore compose CA" kafka "DNS:kafka,DNS:localhost,IP:127.0.0.1"
fi

for name in $PRINCIPALS broker controller; do
  [ -f "$dir/users/$name.password" ] || openssl rand -hex 24 >"$dir/users/$name.password"
done
pw() { cat "$dir/users/$1.password"; }

# The broker: SCRAM as `broker` between brokers (every SASL_SSL listener falls back to the
# KafkaServer section), PLAIN as `controller` on the controller listener (KRaft reads no SCRAM
# credential before it has read its metadata log), as deploy/local/kafka-secure.sh does.
cat >"$dir/kafka/server-jaas.conf" <<JAAS
KafkaServer {
  org.apache.kafka.common.security.scram.ScramLoginModule required
  username="broker" password="$(pw broker)";
};
controller.KafkaServer {
  org.apache.kafka.common.security.plain.PlainLoginModule required
  username="controller" password="$(pw controller)" user_controller="$(pw controller)";
};
JAAS

cat >"$dir/kafka/admin-client.properties" <<PROPS
security.protocol=SASL_SSL
sasl.mechanism=SCRAM-SHA-512
sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username="admin" password="$(pw admin)";
ssl.truststore.type=PEM
ssl.truststore.location=/etc/kafka/secrets/ca.pem
PROPS

cat >"$dir/kafka/registry-jaas.conf" <<JAAS
KafkaClient {
  org.apache.kafka.common.security.scram.ScramLoginModule required
  username="admin" password="$(pw admin)";
};
JAAS

# What the containers mount: readable by their uid 1000 (see the top); the CA's key stays 600.
chmod 644 "$tls/ca.pem" "$tls/broker.p12" "$tls/store.password" "$tls/broker.pem" "$dir"/users/*.password "$dir"/kafka/*
chmod 600 "$tls/ca.key"

echo "secure-material: ready in $dir"
echo "  docker compose -f docker-compose.yml -f deploy/docker/compose.secure.yml up --build -d"

# Sourced by kafka-secure.sh (the local secure broker) and deploy/docker/secure-material.sh
# (the Compose override's files): one way to make a broker's TLS material, with openssl.
#
# make_broker_tls <dir> <CA common name> <broker common name> <subjectAltName>
#   writes <dir>/ca.pem and ca.key (the CA clients trust), and <dir>/broker.p12, the broker's
#   key and the certificate that CA signed (server and client auth: a broker is both), in a
#   PKCS12 keystore whose password is in <dir>/store.password. Nothing else is left behind.
make_broker_tls() {
  local dir=$1 ca_cn=$2 cn=$3 san=$4
  command -v openssl >/dev/null || { echo "openssl is needed to make the broker's TLS material" >&2; return 1; }
  (
    umask 077
    openssl rand -hex 16 >"$dir/store.password"
    openssl req -x509 -newkey rsa:2048 -nodes -keyout "$dir/ca.key" -out "$dir/ca.pem" -days 825 -subj "/CN=$ca_cn" >/dev/null 2>&1
    openssl req -newkey rsa:2048 -nodes -keyout "$dir/broker.key" -out "$dir/broker.csr" -subj "/CN=$cn" >/dev/null 2>&1
    printf 'subjectAltName=%s\nextendedKeyUsage=serverAuth,clientAuth\n' "$san" >"$dir/broker.ext"
    openssl x509 -req -in "$dir/broker.csr" -CA "$dir/ca.pem" -CAkey "$dir/ca.key" -CAcreateserial \
      -out "$dir/broker.pem" -days 825 -extfile "$dir/broker.ext" >/dev/null 2>&1
    openssl pkcs12 -export -in "$dir/broker.pem" -inkey "$dir/broker.key" -certfile "$dir/ca.pem" \
      -out "$dir/broker.p12" -passout "file:$dir/store.password" >/dev/null 2>&1
  ) || { echo "openssl failed making the TLS material in $dir" >&2; return 1; }
  rm -f "$dir/broker.key" "$dir/broker.csr" "$dir/broker.ext" "$dir/ca.srl"
  chmod 644 "$dir/ca.pem"
}

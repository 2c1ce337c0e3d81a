#!/usr/bin/env bash
# A throw-away CA and two certificates it signs, for the TLS upstream of the kind e2e
# suite (tests/e2e/run.sh, step "an https toolkit with a CA bundle"):
#
#   tests/e2e/tls_certs.sh DIR HOST
#
# writes into DIR: ca.crt, ca.key (the CA); server.crt, server.key (serverAuth, SAN
# DNS:HOST); client.crt, client.key (clientAuth). EC P-256, valid for a day. Needs
# openssl.
set -euo pipefail
dir="$1" host="$2"
mkdir -p "$dir"
cd "$dir"
key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null; }

key ca.key
openssl req -x509 -new -key ca.key -sha256 -days 1 -subj "/CN=mcpgw e2e CA" \
  -addext "basicConstraints=critical,CA:TRUE" \
  -addext "keyUsage=critical,keyCertSign,cRLSign" -out ca.crt

# sign NAME SUBJECT EXTENSIONS: NAME.key and NAME.crt, signed by the CA.
sign() {
  key "$1.key"
  openssl req -new -key "$1.key" -subj "$2" -out "$1.csr"
  printf '%s\n' "$3" >"$1.ext"
  openssl x509 -req -in "$1.csr" -CA ca.crt -CAkey ca.key -CAcreateserial -sha256 -days 1 \
    -extfile "$1.ext" -out "$1.crt" 2>/dev/null
  rm -f "$1.csr" "$1.ext"
}
sign server "/CN=$host" "basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature
extendedKeyUsage=serverAuth
subjectAltName=DNS:$host"
sign client "/CN=mcpgw e2e client" "basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature
extendedKeyUsage=clientAuth"

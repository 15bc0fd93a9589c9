#!/bin/sh
# Makes a certificate authority and one certificate per agent for links
# between agents (`tls` on caf inputs and outputs), for tests and trials:
#   scripts/make-tls-certs.sh DIR CA_NAME AGENT...
# writes DIR/CA_NAME.crt (the `tls.ca` of every agent) and, per agent,
# DIR/AGENT.crt and DIR/AGENT.key (its `tls.cert` and `tls.key`). Keys are
# EC P-256 and unencrypted; certificates last 30 days and allow both TLS
# server and client use, since an agent both accepts and opens links. In
# production, use your own CA's process instead.
set -eu
if [ $# -lt 3 ]; then
  echo "usage: $0 DIR CA_NAME AGENT..." >&2
  exit 2
fi
dir=$1
ca=$2
shift 2
mkdir -p "$dir"
cd "$dir"
days=30
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
  -keyout "$ca.key" -out "$ca.crt" -days $days -subj "/CN=$ca" \
  -addext basicConstraints=critical,CA:TRUE \
  -addext keyUsage=critical,keyCertSign,cRLSign 2>/dev/null
for agent in "$@"; do
  openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
    -keyout "$agent.key" -out "$agent.csr" -subj "/CN=$agent" 2>/dev/null
  printf '%s\n' "basicConstraints=CA:FALSE" "keyUsage=critical,digitalSignature" \
    "extendedKeyUsage=serverAuth,clientAuth" "subjectAltName=DNS:$agent" > "$agent.ext"
  openssl x509 -req -in "$agent.csr" -CA "$ca.crt" -CAkey "$ca.key" -CAcreateserial \
    -out "$agent.crt" -days $days -extfile "$agent.ext" 2>/dev/null
  rm "$agent.csr" "$agent.ext"
done

#!/usr/bin/env bash
# Makes a development cluster CA and node certificates (EC P-256) for shoal.
#
#   certs/make-dev-certs.sh OUT_DIR [NODE_NAME ...] [--san DNS:name|IP:addr ...]
#
# Writes OUT_DIR/ca.pem, OUT_DIR/ca.key and, for every node name (default: "node"),
# OUT_DIR/NAME.pem and OUT_DIR/NAME.key. Every node certificate carries the SANs
# localhost, 127.0.0.1 and ::1 plus any --san given, and is valid for both server and
# client authentication (mutual TLS uses the same pair). An existing CA in OUT_DIR is
# reused, so more nodes can be added later. Development only: production keys belong
# in a proper PKI, and private keys are never committed.
set -euo pipefail

if [[ $# -lt 1 || "$1" == "-h" || "$1" == "--help" ]]; then
  sed -n '2,11p' "$0" | sed 's/^# \{0,1\}//'
  exit 2
fi
command -v openssl >/dev/null || { echo "make-dev-certs: openssl not found on PATH" >&2; exit 2; }

out="$1"; shift
names=()
sans="DNS:localhost,IP:127.0.0.1,IP:::1"
while [[ $# -gt 0 ]]; do
  case "$1" in
    --san) [[ $# -ge 2 ]] || { echo "make-dev-certs: --san needs a value" >&2; exit 2; }; sans="$sans,$2"; shift 2 ;;
    *) names+=("$1"); shift ;;
  esac
done
[[ ${#names[@]} -gt 0 ]] || names=(node)
days=825

mkdir -p "$out"
umask 077
if [[ ! -f "$out/ca.pem" || ! -f "$out/ca.key" ]]; then
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days "$days" \
    -subj "/CN=shoal development CA" -keyout "$out/ca.key" -out "$out/ca.pem" \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
fi

ext="$(mktemp)"
trap 'rm -f "$ext" "$out"/*.csr' EXIT
cat > "$ext" <<CONF
basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature
extendedKeyUsage=serverAuth,clientAuth
subjectAltName=$sans
CONF

for name in "${names[@]}"; do
  [[ "$name" =~ ^[A-Za-z0-9._-]+$ ]] || { echo "make-dev-certs: bad node name '$name'" >&2; exit 2; }
  openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
    -subj "/CN=$name" -keyout "$out/$name.key" -out "$out/$name.csr" 2>/dev/null
  openssl x509 -req -in "$out/$name.csr" -CA "$out/ca.pem" -CAkey "$out/ca.key" -CAcreateserial \
    -days "$days" -extfile "$ext" -out "$out/$name.pem" 2>/dev/null
done
rm -f "$out/ca.srl"
echo "wrote CA and ${#names[@]} node certificate(s) to $out"

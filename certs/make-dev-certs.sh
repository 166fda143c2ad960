#!/usr/bin/env bash
# Makes a development cluster (EC P-256 CA, node certificates, gossip key) for shoal.
#
#   certs/make-dev-certs.sh OUT_DIR [NODE_NAME ...] [--san DNS:name|IP:addr ...]
#
# Writes OUT_DIR/ca.pem (the CA certificate every node trusts), OUT_DIR/ca-private/ca.key
# (the CA's private key, in its own 0700 directory: never hand it to a node),
# OUT_DIR/gossip.key (a base64 AES-256-GCM gossip key) and, for every node name (default:
# "node"), OUT_DIR/NAME.pem and OUT_DIR/NAME.key. Node certificates carry the SANs
# localhost, 127.0.0.1 and ::1 plus any --san, and the extended key usages serverAuth and
# clientAuth (mutual TLS uses the same pair). Existing files are kept, so nodes can be
# added later; delete a NAME.pem/NAME.key pair to reissue it. Safe to run concurrently on
# one OUT_DIR (an exclusive lock, OUT_DIR/.lock). Development only.
set -euo pipefail

if [[ $# -lt 1 || "$1" == "-h" || "$1" == "--help" ]]; then
  sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//'
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
for name in "${names[@]}"; do
  [[ "$name" =~ ^[A-Za-z0-9._-]+$ && "$name" != "ca" && "$name" != "gossip" ]] || { echo "make-dev-certs: bad node name '$name'" >&2; exit 2; }
done
days=825
# Waits for the lock at most this many tenths of a second.
lock_wait_tenths_max=600

umask 077
mkdir -p "$out"
[[ -w "$out" ]] || { echo "make-dev-certs: $out is not writable" >&2; exit 2; }
lock="$out/.lock"
tmp=""
owned=0
release() {
  [[ -z "$tmp" ]] || rm -rf "$tmp"
  [[ $owned -eq 0 ]] || rm -rf "$lock"
}
trap release EXIT
trap 'exit 1' INT TERM HUP

# The lock is a directory (mkdir is atomic) holding its owner's pid; a lock whose owner is
# gone (killed mid-run) is broken, one whose owner never wrote its pid times out.
holder_gone() {
  [[ -n "$1" ]] && ! kill -0 "$1" 2>/dev/null && ! ps -p "$1" >/dev/null 2>&1
}
waited=0
until mkdir "$lock" 2>/dev/null; do
  holder="$(cat "$lock/pid" 2>/dev/null || true)"
  if holder_gone "$holder"; then
    mv "$lock" "$lock.stale.$$" 2>/dev/null && rm -rf "$lock.stale.$$"
    continue
  fi
  if (( waited++ >= lock_wait_tenths_max )); then
    echo "make-dev-certs: $lock is held by pid ${holder:-unknown} for over $((lock_wait_tenths_max / 10)) s; remove it if nothing is making certificates" >&2
    exit 2
  fi
  sleep 0.1
done
owned=1
echo $$ > "$lock/pid"
tmp="$(mktemp -d "$out/.tmp.XXXXXX")"

# Earlier versions kept the CA key beside the node keys: move it into ca-private/.
mkdir -p "$out/ca-private"
chmod 700 "$out/ca-private"
if [[ -f "$out/ca.key" && ! -f "$out/ca-private/ca.key" ]]; then mv "$out/ca.key" "$out/ca-private/ca.key"; fi

new_ca=0
if [[ ! -f "$out/ca.pem" ]]; then
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days "$days" \
    -subj "/CN=shoal development CA" -keyout "$tmp/ca.key" -out "$tmp/ca.pem" \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
  mv "$tmp/ca.key" "$out/ca-private/ca.key"
  mv "$tmp/ca.pem" "$out/ca.pem"
  new_ca=1
fi

new_gossip=0
if [[ ! -f "$out/gossip.key" ]]; then
  { echo "# shoal development gossip key: base64, 32 bytes (AES-256-GCM)"; openssl rand -base64 32; } > "$tmp/gossip.key"
  mv "$tmp/gossip.key" "$out/gossip.key"
  new_gossip=1
fi

cat > "$tmp/ext" <<CONF
basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature
extendedKeyUsage=serverAuth,clientAuth
subjectAltName=$sans
CONF

issued=0
for name in "${names[@]}"; do
  if [[ $new_ca -eq 0 && -f "$out/$name.pem" && -f "$out/$name.key" ]]; then continue; fi
  [[ -f "$out/ca-private/ca.key" ]] || { echo "make-dev-certs: $out/ca-private/ca.key is missing: cannot issue a certificate for '$name'" >&2; exit 2; }
  openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
    -subj "/CN=$name" -keyout "$tmp/$name.key" -out "$tmp/$name.csr" 2>/dev/null
  openssl x509 -req -in "$tmp/$name.csr" -CA "$out/ca.pem" -CAkey "$out/ca-private/ca.key" -set_serial "0x$(openssl rand -hex 16)" \
    -days "$days" -extfile "$tmp/ext" -out "$tmp/$name.pem" 2>/dev/null
  mv "$tmp/$name.key" "$out/$name.key"
  mv "$tmp/$name.pem" "$out/$name.pem"
  issued=$((issued + 1))
done
echo "make-dev-certs: $out: CA $([[ $new_ca -eq 1 ]] && echo made || echo kept), gossip key $([[ $new_gossip -eq 1 ]] && echo made || echo kept), $issued node certificate(s) issued"

#!/bin/sh
# gen_certs.sh DIR - throwaway certificates for the mock's TLS tests (openssl CLI only).
#
#   ca.crt ca.key              test CA
#   server.crt server.key      signed by ca, SAN DNS:localhost, IP:127.0.0.1, IP:::1
#   other-ca.crt other-ca.key  an unrelated CA ("wrong CA" test)
#   expired.crt expired.key    signed by ca, validity 2020-01-01..2020-02-01 (expired)
#   wronghost.crt wronghost.key signed by ca, SAN DNS:not-this-host.example only
#
# Idempotent: does nothing when every file exists and server.crt is valid for
# another day. Quiet unless something fails.
set -eu
DIR=${1:?usage: gen_certs.sh DIR}
mkdir -p "$DIR"
cd "$DIR"

all_there=1
for f in ca.crt ca.key server.crt server.key other-ca.crt other-ca.key expired.crt \
         expired.key wronghost.crt wronghost.key; do
    [ -s "$f" ] || all_there=0
done
if [ "$all_there" = 1 ] && openssl x509 -checkend 86400 -noout -in server.crt >/dev/null 2>&1; then
    exit 0
fi

TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT INT TERM
LOG="$TMP/log"

run() { "$@" >>"$LOG" 2>&1 || { cat "$LOG" >&2; echo "gen_certs.sh: failed: $*" >&2; exit 1; }; }

newkey() { run openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:prime256v1 -out "$1"; }

mkca() { # name CN
    newkey "$1.key"
    run openssl req -x509 -new -key "$1.key" -subj "/O=mangopay_fdw tests/CN=$2" -days 3650 \
        -sha256 -addext "basicConstraints=critical,CA:TRUE" \
        -addext "keyUsage=critical,keyCertSign,cRLSign" \
        -addext "subjectKeyIdentifier=hash" -out "$1.crt"
}

leaf() { # name CN SAN
    newkey "$1.key"
    run openssl req -new -key "$1.key" -subj "/O=mangopay_fdw tests/CN=$2" -out "$TMP/$1.csr"
    cat > "$TMP/$1.ext" <<EXT
basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=serverAuth
subjectAltName=$3
authorityKeyIdentifier=keyid
subjectKeyIdentifier=hash
EXT
    run openssl x509 -req -in "$TMP/$1.csr" -CA ca.crt -CAkey ca.key \
        -set_serial "0x$(openssl rand -hex 12)" -days 825 -sha256 \
        -extfile "$TMP/$1.ext" -out "$1.crt"
}

mkca ca "mangopay-mock test CA"
mkca other-ca "unrelated test CA"
leaf server localhost "DNS:localhost,IP:127.0.0.1,IP:::1"
leaf wronghost not-this-host.example "DNS:not-this-host.example"

# expired: OpenSSL 3.0's x509 cannot back-date, so use `openssl ca` with explicit dates
newkey expired.key
run openssl req -new -key expired.key -subj "/O=mangopay_fdw tests/CN=localhost" \
    -out "$TMP/expired.csr"
mkdir -p "$TMP/ca/newcerts"
: > "$TMP/ca/index.txt"
openssl rand -hex 8 > "$TMP/ca/serial"
cat > "$TMP/ca.cnf" <<CNF
[ ca ]
default_ca = mock
[ mock ]
dir = $TMP/ca
database = \$dir/index.txt
new_certs_dir = \$dir/newcerts
serial = \$dir/serial
default_md = sha256
policy = anything
copy_extensions = none
unique_subject = no
x509_extensions = leaf
[ anything ]
organizationName = optional
commonName = supplied
[ leaf ]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature,keyEncipherment
extendedKeyUsage = serverAuth
subjectAltName = DNS:localhost,IP:127.0.0.1,IP:::1
CNF
run openssl ca -batch -notext -config "$TMP/ca.cnf" -cert ca.crt -keyfile ca.key \
    -startdate 20200101000000Z -enddate 20200201000000Z -in "$TMP/expired.csr" -out expired.crt

chmod 600 ./*.key
exit 0

#!/bin/sh
# Test PKI for the stand-ins scenario, made with plain openssl commands on the control node:
# CA "main" signs every identity; CA "other" exists only to prove each hop refuses it.
# Usage: make-pki.sh DIR   (idempotent: an existing DIR/done is left alone)
set -eu
dir=$1
[ -f "$dir/done" ] && exit 0
mkdir -p "$dir"
cd "$dir"
pass=standins-p12-pass

ca() {  # name
    openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "ca-$1.key" 2>/dev/null
    openssl req -x509 -new -key "ca-$1.key" -subj "/CN=dcvkit standins test CA $1" -days 30 \
        -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
        -out "ca-$1.pem"
}

leaf() {  # name san usage
    openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1.key" 2>/dev/null
    openssl req -new -key "$1.key" -subj "/CN=$1" -out "$1.csr"
    printf 'subjectAltName=%s\nextendedKeyUsage=%s\nbasicConstraints=CA:FALSE\n' "$2" "$3" > "$1.ext"
    openssl x509 -req -in "$1.csr" -CA ca-main.pem -CAkey ca-main.key -CAcreateserial -days 30 \
        -extfile "$1.ext" -out "$1.pem" 2>/dev/null
}

ca main
ca other
leaf broker "DNS:standins-a" serverAuth
leaf gateway "DNS:standins-a,DNS:localhost" serverAuth
leaf gateway-client "DNS:standins-a" clientAuth
leaf dcv "DNS:standins-b" serverAuth
# broker connector key store (PKCS#12, as *-key-store-file expects) and gateway trust stores
openssl pkcs12 -export -in broker.pem -inkey broker.key -certfile ca-main.pem -name broker \
    -out broker.p12 -passout "pass:$pass"
openssl pkcs12 -export -nokeys -in ca-main.pem -out truststore-main.p12 -passout "pass:$pass"
openssl pkcs12 -export -nokeys -in ca-other.pem -out truststore-other.p12 -passout "pass:$pass"
# genpkey writes PKCS#8 ("BEGIN PRIVATE KEY"), which the gateway requires
grep -q "BEGIN PRIVATE KEY" gateway.key
touch ./done

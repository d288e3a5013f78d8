#!/usr/bin/env bash
# `make bench-tls` and `make bench-sealed`: the same gateway load in several ways, in one run:
# one throwaway PostgreSQL (durable unless BENCH_FSYNC=off), a throwaway certificate authority
# and server certificate (openssl, ECDSA P-256), then for each way of MODES (default "plain tls";
# `make bench-sealed`: "plain sealed") a fresh release polygated and gateway-benchmark with the
# same arguments (CONNECTIONS GROUP SECONDS; default 2000 100 10), at each rate of RATES
# (default "0 250": saturation, then an open loop of 250 messages a second).
#   plain   WebSockets over TCP (/v1/gateway)
#   tls     the same through polygated's native TLS listener (wss://)
#   sealed  sealed sessions over TCP (/v1/sealed, GATEWAY_SPEC §14), under the key /v1/info lists
set -euo pipefail
cd "$(dirname "$0")/.."
ulimit -n 200000 2>/dev/null || ulimit -n "$(ulimit -Hn)"
. scripts/bench-daemon.sh
bench_setup
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$dir/ca.key" -out "$dir/ca.pem" \
    -days 2 -subj "/CN=polygate bench CA" 2>/dev/null
openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$dir/server.key" -out "$dir/server.csr" \
    -subj "/CN=localhost" 2>/dev/null
printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n' > "$dir/server.ext"
openssl x509 -req -in "$dir/server.csr" -CA "$dir/ca.pem" -CAkey "$dir/ca.key" -CAcreateserial -days 2 \
    -extfile "$dir/server.ext" -out "$dir/server.pem" 2>/dev/null
chmod 600 "$dir/server.key"
limits=$bench_limits
connections=${1:-2000}
group=${2:-100}
seconds=${3:-10}
rates=${RATES:-"0 250"}
for rate in $rates; do
    for mode in ${MODES:-plain tls}; do
        echo "=== $mode, rate $rate ==="
        httpport=$(scripts/pg.sh free-port)
        if [ "$mode" = tls ]; then
            TLS_DIR=$dir bench_daemon "$limits"
            GATEWAY_BENCH_CA="$dir/ca.pem" "${BIN:-.build/release}"/gateway-benchmark localhost "$httpport" \
                "$connections" "$group" "$seconds" "$rate" "$daemon"
        elif [ "$mode" = sealed ]; then
            bench_daemon "$limits"
            key=$(curl -sf "http://127.0.0.1:$httpport/v1/info" \
                | python3 -c 'import json, sys; print(json.load(sys.stdin)["sealed"]["keys"][0]["key"])')
            GATEWAY_BENCH_SEALED=$key "${BIN:-.build/release}"/gateway-benchmark 127.0.0.1 "$httpport" \
                "$connections" "$group" "$seconds" "$rate" "$daemon"
        else
            bench_daemon "$limits"
            "${BIN:-.build/release}"/gateway-benchmark 127.0.0.1 "$httpport" "$connections" "$group" "$seconds" "$rate" "$daemon"
        fi
        kill "$daemon"
        wait "$daemon" 2>/dev/null || true
        daemon=
    done
done

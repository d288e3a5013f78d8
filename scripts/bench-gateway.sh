#!/usr/bin/env bash
# `make bench-gateway`: a release polygated on a throwaway PostgreSQL (loopback, fsync off, as for
# tests) with limits raised for one client address, then gateway-benchmark holding many
# WebSocket connections and loading them. Arguments go to gateway-benchmark
# (CONNECTIONS GROUP SECONDS RATE; RATE 0 = as fast as acknowledged); the daemon's pid is passed
# for its memory.
# With MODE=presence: the presence fan-out benchmark instead (arguments USERS WATCHERS SECONDS
# RATE; the benchmark writes the contacts straight into the database).
set -euo pipefail
cd "$(dirname "$0")/.."
# Two sockets per connection on this machine (client and server), plus PostgreSQL's.
ulimit -n 200000 2>/dev/null || ulimit -n "$(ulimit -Hn)"
dir=$(mktemp -d /tmp/polygate-bench.XXXXXX)
chmod 755 "$dir"
daemon=
cleanup() {
    [ -n "$daemon" ] && kill "$daemon" 2>/dev/null && wait "$daemon" 2>/dev/null || true
    scripts/pg.sh stop "$dir/pg" || true
    rm -rf "$dir"
}
trap cleanup EXIT
pgport=$(scripts/pg.sh free-port)
scripts/pg.sh start "$dir/pg" "$pgport"
httpport=$(scripts/pg.sh free-port)
cat > "$dir/polygated.conf" <<CONF
[daemon]
log_level = "warning"
audit_to_log = false
[http]
listen = "127.0.0.1:$httpport"
[database]
url = "postgresql://postgres@127.0.0.1:$pgport/postgres"
pool_size = ${POOL_SIZE:-8}
[gateway]
# Every benchmark connection comes from 127.0.0.1: the per-IP limits would refuse most of them.
connect_rate_per_ip = "1000000/1s"
connect_burst_per_ip = 1000000
send_rate_per_device = "1000000/1s"
send_burst_per_device = 1000000
[presence]
coalesce = "${COALESCE:-100ms}"
watch_rate = "1000000/1s"
watch_burst = 1000000
CONF
"${BIN:-.build/release}"/polygated serve --config "$dir/polygated.conf" &
daemon=$!
for _ in $(seq 100); do
    curl -sf "http://127.0.0.1:$httpport/readyz" >/dev/null 2>&1 && break
    sleep 0.1
done
if [ "${MODE:-delivery}" = presence ]; then
    "${BIN:-.build/release}"/gateway-benchmark presence 127.0.0.1 "$httpport" "postgresql://postgres@127.0.0.1:$pgport/postgres" \
        "${1:-10000}" "${2:-50}" "${3:-10}" "${4:-1000}" "$daemon"
    exit
fi
connections=${1:-10000}
group=${2:-10}
seconds=${3:-10}
rate=${4:-0}
"${BIN:-.build/release}"/gateway-benchmark 127.0.0.1 "$httpport" "$connections" "$group" "$seconds" "$rate" "$daemon"

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
. scripts/bench-daemon.sh
bench_setup
# [database] continues: pool_size belongs to it.
bench_daemon "pool_size = ${POOL_SIZE:-8}
[gateway]
# Every benchmark connection comes from 127.0.0.1: the per-IP limits would refuse most of them.
connect_rate_per_ip = \"1000000/1s\"
connect_burst_per_ip = 1000000
send_rate_per_device = \"1000000/1s\"
send_burst_per_device = 1000000
[presence]
coalesce = \"${COALESCE:-100ms}\"
watch_rate = \"1000000/1s\"
watch_burst = 1000000"
if [ "${MODE:-delivery}" = presence ]; then
    "${BIN:-.build/release}"/gateway-benchmark presence 127.0.0.1 "$httpport" "$database_url" \
        "${1:-10000}" "${2:-50}" "${3:-10}" "${4:-1000}" "$daemon"
    exit
fi
connections=${1:-10000}
group=${2:-10}
seconds=${3:-10}
rate=${4:-0}
"${BIN:-.build/release}"/gateway-benchmark 127.0.0.1 "$httpport" "$connections" "$group" "$seconds" "$rate" "$daemon"

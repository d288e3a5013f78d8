#!/usr/bin/env bash
# `make bench-realtime`: the realtime core's scenarios (issue 18) on a durable PostgreSQL, with
# the cluster's own speed measured in the same run: pgbench's single-row INSERT (and the same
# with pg_notify) at PGBENCH_CLIENTS (16) connections, and polygated's append function driven by
# pgbench alone (one message per statement at 16 connections; batches of 100 at 2). Then for
# each group size of GROUP_SIZES ("2 10 100": DMs, rooms of 10, rooms of 100), CONNECTIONS
# (2000) devices on a fresh release polygated, RUN_SECONDS (10) of closed-loop sends (as fast as
# acknowledged), then a fresh daemon with an open loop at half the closed-loop append rate.
set -euo pipefail
cd "$(dirname "$0")/.."
ulimit -n 200000 2>/dev/null || ulimit -n "$(ulimit -Hn)"
. scripts/bench-daemon.sh
bench_setup
bench_pgbench "${PGBENCH_CLIENTS:-16}" "${RUN_SECONDS:-10}"
bench_pgappend 16 "${RUN_SECONDS:-10}" 1
bench_pgappend 2 "${RUN_SECONDS:-10}" 100
limits=$bench_limits
connections=${CONNECTIONS:-2000}
run() {
    httpport=$(scripts/pg.sh free-port)
    bench_daemon "$limits"
    "${BIN:-.build/release}"/gateway-benchmark 127.0.0.1 "$httpport" "$connections" "$1" "${RUN_SECONDS:-10}" "$2" "$daemon" \
        | tee "$dir/run.log"
    kill "$daemon"
    wait "$daemon" 2>/dev/null || true
    daemon=
}
for group in ${GROUP_SIZES:-2 10 100}; do
    echo "=== groups of $group, closed loop ==="
    run "$group" 0
    closed=$(sed -n 's/.*appends [0-9]* (\([0-9.]*\)\/s).*/\1/p' "$dir/run.log")
    half=$(( ${closed%.*} / 2 ))
    [ "$half" -ge 1 ] || half=1
    echo "=== groups of $group, open loop at $half messages/s (half the closed-loop rate) ==="
    run "$group" "$half"
done

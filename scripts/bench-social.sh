#!/usr/bin/env bash
# `make bench-social`: a release polygated on a throwaway PostgreSQL (durable unless
# BENCH_FSYNC=off), then social-benchmark posting signed events to it; prints the benchmark's
# numbers, the CPU polygated and PostgreSQL used per event (from /proc, over the run), that
# CPU against verifying the events' signatures alone (social-benchmark measures it on one
# thread before the run), and the daemon's peak RSS. Arguments go to social-benchmark
# (EVENTS BATCH CONCURRENCY).
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/bench-daemon.sh
bench_setup
bench_daemon 'pool_size = 4'
postmaster=$(head -n 1 "$dir/pg/data/postmaster.pid")

# utime + stime (clock ticks) of one process.
ticks() { awk '{ sub(/^.*\) /, ""); print $12 + $13 }' "/proc/$1/stat"; }
# utime + stime of the postmaster and its backends.
pg_ticks() {
    local total=0 stat
    for stat in /proc/[0-9]*/stat; do
        total=$((total + $(awk -v pm="$postmaster" '{ sub(/^.*\) /, ""); if ($2 == pm) print $12 + $13; else print 0 }' "$stat" 2>/dev/null || echo 0)))
    done
    echo $((total + $(ticks "$postmaster")))
}

daemon_before=$(ticks "$daemon")
pg_before=$(pg_ticks)
.build/release/social-benchmark "http://127.0.0.1:$httpport" "$@" | tee "$dir/result.txt"
daemon_after=$(ticks "$daemon")
pg_after=$(pg_ticks)
events=$(awk 'NR == 2 { print $1 }' "$dir/result.txt")
verify=$(sed -n 's/^verifying the signatures alone: \([0-9.]*\) µs per event.*/\1/p' "$dir/result.txt")
awk -v d=$((daemon_after - daemon_before)) -v p=$((pg_after - pg_before)) -v hz="$(getconf CLK_TCK)" -v n="$events" -v v="$verify" \
    'BEGIN {
        dus = d / hz / n * 1e6; pus = p / hz / n * 1e6
        printf "CPU per event: polygated %.1f µs (%.2f× verifying the signature alone), PostgreSQL %.1f µs\n", dus, dus / v, pus
    }'
echo "polygated peak RSS: $(awk '/VmHWM/ {print int($2/1024) " MiB"}' /proc/$daemon/status)"

#!/usr/bin/env bash
# `make bench-social`: a release polygated on a throwaway PostgreSQL (loopback, fsync off, as
# for tests), then social-benchmark posting signed events to it; prints the benchmark's numbers
# and the daemon's peak RSS. Arguments go to social-benchmark (EVENTS BATCH CONCURRENCY).
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/bench-daemon.sh
bench_setup
bench_daemon 'pool_size = 4'
.build/release/social-benchmark "http://127.0.0.1:$httpport" "$@"
echo "polygated peak RSS: $(awk '/VmHWM/ {print int($2/1024) " MiB"}' /proc/$daemon/status)"

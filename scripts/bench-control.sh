#!/usr/bin/env bash
# `make bench-control`: a release polygated on a throwaway PostgreSQL with its control socket in
# a private directory, then control-benchmark: CONVERSATIONS conversations written straight into
# the database, sequential round trips of gwctl's commands on one connection, and whole one-shot
# gwctl runs. Arguments: CONVERSATIONS ROUNDS (default 10000 2000).
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/bench-daemon.sh
bench_setup
bench_daemon "[control]
listen = \"$dir/control.sock\"
group = \"\""
bin=${BIN:-.build/release}
"$bin"/control-benchmark "$dir/control.sock" "$bin/gwctl" "$database_url" "${1:-10000}" "${2:-2000}"

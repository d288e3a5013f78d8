#!/usr/bin/env bash
# `make bench-store`: runs store-benchmark against a throwaway PostgreSQL (loopback, fsync off,
# as for tests), then removes it. SECONDS_PER_SCENARIO (default 3) sets the run length.
set -euo pipefail
cd "$(dirname "$0")/.."
dir=$(mktemp -d /tmp/polygate-bench.XXXXXX)
chmod 755 "$dir"
trap 'scripts/pg.sh stop "$dir/pg"; rm -rf "$dir"' EXIT
port=$(scripts/pg.sh free-port)
scripts/pg.sh start "$dir/pg" "$port"
.build/release/store-benchmark "postgresql://postgres@127.0.0.1:$port/postgres" "${SECONDS_PER_SCENARIO:-3}"

#!/usr/bin/env bash
# `make bench-social`: a release polygated on a throwaway PostgreSQL (loopback, fsync off, as
# for tests), then social-benchmark posting signed events to it; prints the benchmark's numbers
# and the daemon's peak RSS. Arguments go to social-benchmark (EVENTS BATCH CONCURRENCY).
set -euo pipefail
cd "$(dirname "$0")/.."
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
[http]
listen = "127.0.0.1:$httpport"
[database]
url = "postgresql://postgres@127.0.0.1:$pgport/postgres"
pool_size = 4
CONF
.build/release/polygated serve --config "$dir/polygated.conf" &
daemon=$!
for _ in $(seq 100); do
    curl -sf "http://127.0.0.1:$httpport/readyz" >/dev/null 2>&1 && break
    sleep 0.1
done
.build/release/social-benchmark "http://127.0.0.1:$httpport" "$@"
echo "polygated peak RSS: $(awk '/VmHWM/ {print int($2/1024) " MiB"}' /proc/$daemon/status)"

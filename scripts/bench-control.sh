#!/usr/bin/env bash
# `make bench-control`: a release polygated on a throwaway PostgreSQL with its control socket in
# a private directory, then control-benchmark: CONVERSATIONS conversations written straight into
# the database, sequential round trips of gwctl's commands on one connection, and whole one-shot
# gwctl runs. Arguments: CONVERSATIONS ROUNDS (default 10000 2000).
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
[control]
listen = "$dir/control.sock"
group = ""
[database]
url = "postgresql://postgres@127.0.0.1:$pgport/postgres"
CONF
bin=${BIN:-.build/release}
"$bin"/polygated serve --config "$dir/polygated.conf" &
daemon=$!
for _ in $(seq 100); do
    curl -sf "http://127.0.0.1:$httpport/readyz" >/dev/null 2>&1 && break
    sleep 0.1
done
"$bin"/control-benchmark "$dir/control.sock" "$bin/gwctl" "postgresql://postgres@127.0.0.1:$pgport/postgres" "${1:-10000}" "${2:-2000}"

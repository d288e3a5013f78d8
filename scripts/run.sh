#!/usr/bin/env bash
# `make run`: runs polygated in the foreground on 127.0.0.1:8080.
#   CONFIG=path        use this configuration file as is
#   DATABASE_URL=url   use this database instead of starting one
# Otherwise a private PostgreSQL cluster is kept in .run/pg (loopback only) and started for the
# run. Ctrl-C stops polygated gracefully, then the cluster.
set -euo pipefail
cd "$(dirname "$0")/.."

binary=.build/debug/polygated
if [ -n "${CONFIG:-}" ]; then
    exec "$binary" serve --config "$CONFIG"
fi

mkdir -p .run
pgdir=""
if [ -z "${DATABASE_URL:-}" ]; then
    pgdir="$PWD/.run/pg"
    if [ "$(id -u)" -eq 0 ] && ! runuser -u postgres -- test -x "$PWD/.run"; then
        # The postgres user cannot reach this checkout (e.g. under /root): keep the cluster in /var/tmp.
        pgdir="/var/tmp/polygate-run-$(echo "$PWD" | md5sum | cut -c1-8)"
    fi
    port=${PGPORT:-55432}
    scripts/pg.sh start "$pgdir" "$port"
    trap 'scripts/pg.sh stop "$pgdir"' EXIT
    if ! "$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)/psql" -h 127.0.0.1 -p "$port" -U postgres -tAc \
        "SELECT 1 FROM pg_database WHERE datname = 'polygate'" postgres | grep -q 1; then
        "$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)/createdb" -h 127.0.0.1 -p "$port" -U postgres polygate
    fi
    DATABASE_URL="postgresql://postgres@127.0.0.1:$port/polygate"
    echo "local PostgreSQL on 127.0.0.1:$port (data in $pgdir)"
fi

cat >.run/polygated.conf <<CONF
# Written by 'make run'; see etc/polygate/polygated.conf for every key.
[daemon]
gateway_id = "gw_local"
log_level = "${LOG_LEVEL:-info}"
state_directory = "$PWD/.run/state"

[http]
listen = "${LISTEN:-127.0.0.1:8080}"

[control]
listen = "$PWD/.run/control.sock"
group = ""

[blobs]
directory = "$PWD/.run/blobs"

[web]
root = "$PWD/web"

[database]
url = "$DATABASE_URL"
CONF

echo "polygated on http://${LISTEN:-127.0.0.1:8080}/ (config .run/polygated.conf); Ctrl-C stops it"
echo "web client: http://${LISTEN:-127.0.0.1:8080}/app/"
echo "admin console: .build/debug/gwctl --socket .run/control.sock"
# Not exec: the EXIT trap stops the cluster after polygated has drained.
"$binary" serve --config .run/polygated.conf || status=$?
exit "${status:-0}"

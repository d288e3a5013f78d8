#!/usr/bin/env bash
# A private PostgreSQL cluster on loopback, for `make run` and `make test`.
#   scripts/pg.sh start DIR PORT   initdb DIR/data if needed, start it, listen on 127.0.0.1:PORT only
#                                  (its Unix socket in DIR, or in $PG_SOCKET_DIR when set)
#   scripts/pg.sh stop DIR         stop it (fast)
#   scripts/pg.sh stop-all ROOT    stop every cluster found under ROOT (immediate), for cleanup
#   scripts/pg.sh free-port        print a TCP port on 127.0.0.1 that nothing listens on
# Clusters run with fsync and synchronous_commit off (tests, make run), unless PG_DURABLE=1
# (benchmarks of durable paths).
# PostgreSQL refuses to run as root, so as root the cluster runs as the 'postgres' user.
set -euo pipefail

pgbin=${POLYGATE_PGBIN:-$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)}
if [ -z "$pgbin" ] || [ ! -x "$pgbin/initdb" ]; then
    echo "error: PostgreSQL server binaries not found (apt install postgresql)" >&2
    exit 1
fi

as_owner() {
    if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

start() {
    local dir=$1 port=$2
    mkdir -p "$dir"
    [ "$(id -u)" -eq 0 ] && chown postgres:postgres "$dir"
    if [ ! -f "$dir/data/PG_VERSION" ]; then
        as_owner "$pgbin/initdb" -D "$dir/data" -A trust -U postgres -E UTF8 --no-locale --no-sync >"$dir/initdb.log" 2>&1 \
            || { cat "$dir/initdb.log" >&2; exit 1; }
    fi
    local durability="-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
    [ "${PG_DURABLE:-0}" = 1 ] && durability="-c fsync=on -c synchronous_commit=on -c full_page_writes=on"
    # setsid: a Ctrl-C meant for polygated must not reach the postmaster; we stop it ourselves.
    as_owner setsid -w "$pgbin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
        -o "-c listen_addresses=127.0.0.1 -p $port -k ${PG_SOCKET_DIR:-$dir} $durability -c max_connections=400" \
        start >/dev/null \
        || { tail -n 20 "$dir/server.log" >&2; exit 1; }
}

stop() {
    local dir=$1
    [ -f "$dir/data/postmaster.pid" ] || return 0
    as_owner "$pgbin/pg_ctl" -D "$dir/data" -m "${2:-fast}" -w -t 60 stop >/dev/null || true
}

free_port() {
    local port
    for _ in $(seq 200); do
        port=$((20000 + RANDOM % 40000))
        if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
            echo "$port"
            return 0
        fi
    done
    echo "error: no free port found" >&2
    return 1
}

case "${1:-}" in
    start) start "$2" "$3" ;;
    stop) stop "$2" ;;
    free-port) free_port ;;
    stop-all)
        find "$2" -name postmaster.pid -path '*/data/*' 2>/dev/null | while read -r pid; do
            stop "$(dirname "$(dirname "$pid")")" immediate
        done
        ;;
    *) echo "usage: $0 start DIR PORT | stop DIR | stop-all ROOT | free-port" >&2; exit 2 ;;
esac

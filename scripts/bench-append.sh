#!/usr/bin/env bash
# `make bench-append`: the cost of the append statement (`gw_append`) as the schema has it now,
# beside the previous version of it (migration 0006's), in one run on one PostgreSQL with
# durability on (fsync, synchronous_commit). pgbench calls each from 8 clients for SECONDS, twice,
# in a DM (two members) and in a room of 1,000 members; it prints transactions per second and the
# mean latency of each run. Usage: scripts/bench-append.sh [SECONDS] (default 10).
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-10}
source scripts/bench-daemon.sh
PG_DURABLE=1 bench_setup
pgbench=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)/pgbench
psql_() { psql -X -q -v ON_ERROR_STOP=1 "$database_url" "$@"; }

# The schema, by the daemon's own migrator.
cat > "$dir/polygated.conf" <<CONF
[database]
url = "$database_url"
CONF
"${BIN:-.build/debug}"/polygated migrate --config "$dir/polygated.conf" >/dev/null
# The previous append, beside the current one.
sed -n '/^CREATE OR REPLACE FUNCTION gw_append(/,/^\$fn\$;/p' Sources/Store/Migrations/0006_welcome_member_devices.sql \
    | sed 's/FUNCTION gw_append(/FUNCTION gw_append_0006(/' | psql_ >/dev/null

# A DM of two users and a room of 1,000, each with one device for the sender.
psql_ <<'SQL'
INSERT INTO gw_devices (device_id, user_id, certificate, name) VALUES ('\x01', '\xaa', '\x00', 'bench');
INSERT INTO gw_conversations (conv_id, epoch, next_seq, conv_home, group_info, created_by)
VALUES ('\xd0', 0, 1, 'bench', '\x00', '\xaa'), ('\xe0', 0, 1, 'bench', '\x00', '\xaa');
INSERT INTO gw_members (conv_id, user_id, joined_seq) VALUES ('\xd0', '\xaa', 0), ('\xd0', '\xbb', 0), ('\xe0', '\xaa', 0);
INSERT INTO gw_members (conv_id, user_id, joined_seq)
SELECT '\xe0', decode(lpad(to_hex(n), 8, '0'), 'hex'), 0 FROM generate_series(1, 999) AS n;
SQL

run() {
    local name=$1 function=$2 conv=$3
    # The function now takes the member cap as a last argument (migration 0008).
    local cap=""
    [ "$function" = gw_append ] && cap=", 10000"
    cat > "$dir/$name.sql" <<SQL
$session
SELECT * FROM $function('\\x$conv'::bytea, decode(md5(random()::text || clock_timestamp()::text), 'hex'), '\\xaa'::bytea, '\\x01'::bytea, 1::smallint, 0,
    '\\x$(printf '%0200d' 0)'::bytea, 0, 'bench', 2, '{}', '{}', '{}', '\\x'::bytea, '\\x'::bytea$cap);
SQL
    local out
    out=$("$pgbench" -n -f "$dir/$name.sql" -c 8 -j 2 -T "$seconds" "$database_url" 2>&1)
    printf '%-28s %10s tps  %8s ms mean latency\n' "$name" \
        "$(echo "$out" | sed -n 's/^tps = \([0-9.]*\).*/\1/p')" "$(echo "$out" | sed -n 's/^latency average = \([0-9.]*\).*/\1/p')"
}
pairs() {
    for conv in dm:d0 room1000:e0; do
        run "${conv%%:*}-0006" gw_append_0006 "${conv##*:}"
        run "${conv%%:*}-now" gw_append "${conv##*:}"
        run "${conv%%:*}-now" gw_append "${conv##*:}"
        run "${conv%%:*}-0006" gw_append_0006 "${conv##*:}"
    done
}
echo "gw_append, 100-byte application messages, 8 clients, ${seconds}s each; each pair in the"
echo "order A B B A, so that a drift of the machine shows as such."
echo "Durable (fsync on, synchronous_commit on): what a deployment gets"
session=""
pairs
echo "The same with synchronous_commit off in the session: the statement's own cost, without the WAL flush"
session="SET synchronous_commit = off;"
pairs

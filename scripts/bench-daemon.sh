# Sourced by the bench-* scripts: a throwaway PostgreSQL on loopback in a private directory that
# is removed on exit, and a release polygated on it. PostgreSQL is durable (fsync,
# synchronous_commit, full_page_writes on), as a deployment runs; BENCH_FSYNC=off runs it as the
# tests do (fsync off), which hides what a commit costs.
#   bench_setup             sets dir, pgport, httpport, database_url; starts PostgreSQL
#   bench_pgbench CLIENTS SECONDS
#                           the same cluster's own speed, for comparison: pgbench's single-row
#                           INSERT of 100 bytes (autocommit) at CLIENTS connections, then the same
#                           with pg_notify in the transaction; prints both rates
#   bench_pgappend CLIENTS SECONDS BATCH
#                           the same cluster's speed at polygated's own append, without polygated:
#                           the schema applied (polygated migrate), 1,000 two-member conversations,
#                           then pgbench calling gw_append_batch with BATCH application messages of
#                           100 bytes per statement at CLIENTS connections; prints appends/s
#   bench_daemon CONF_TAIL  writes $dir/polygated.conf ([daemon], [http], [database] + CONF_TAIL),
#                           starts ${BIN:-.build/release}/polygated, waits for /readyz; sets daemon.
#                           With TLS_DIR set (server.pem, server.key, ca.pem in it): the native
#                           TLS listener, and /readyz asked over https.
daemon=
# [database] pool size and [gateway] limits raised for one client address: every benchmark
# connection comes from 127.0.0.1 (CONF_TAIL for bench_daemon).
bench_limits="pool_size = ${POOL_SIZE:-8}
[gateway]
connect_rate_per_ip = \"1000000/1s\"
connect_burst_per_ip = 1000000
send_rate_per_device = \"1000000/1s\"
send_burst_per_device = 1000000"

bench_cleanup() {
    [ -n "$daemon" ] && kill "$daemon" 2>/dev/null && wait "$daemon" 2>/dev/null || true
    scripts/pg.sh stop "$dir/pg" || true
    rm -rf "$dir"
}

bench_setup() {
    dir=$(mktemp -d /tmp/polygate-bench.XXXXXX)
    chmod 755 "$dir"
    trap bench_cleanup EXIT
    pgport=$(scripts/pg.sh free-port)
    if [ "${BENCH_FSYNC:-on}" = off ]; then
        scripts/pg.sh start "$dir/pg" "$pgport"
        echo "PostgreSQL: fsync off, synchronous_commit off (BENCH_FSYNC=off)"
    else
        PG_DURABLE=1 scripts/pg.sh start "$dir/pg" "$pgport"
        echo "PostgreSQL: durable (fsync, synchronous_commit, full_page_writes on)"
    fi
    httpport=$(scripts/pg.sh free-port)
    database_url="postgresql://postgres@127.0.0.1:$pgport/postgres"
}

bench_pgbench() {
    local clients=$1 seconds=$2 pgbin
    pgbin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
    "$pgbin/psql" -q -h 127.0.0.1 -p "$pgport" -U postgres -d postgres \
        -c "CREATE TABLE IF NOT EXISTS bench_raw (id bigserial PRIMARY KEY, payload bytea NOT NULL)"
    echo "INSERT INTO bench_raw (payload) VALUES (decode(repeat('42', 100), 'hex'));" > "$dir/insert.sql"
    printf 'BEGIN;\nINSERT INTO bench_raw (payload) VALUES (decode(repeat(%s, 100), %s));\nSELECT pg_notify(%s, %s);\nCOMMIT;\n' \
        "'42'" "'hex'" "'bench_raw'" "'x'" > "$dir/notify.sql"
    local insert notify
    insert=$("$pgbin/pgbench" -n -h 127.0.0.1 -p "$pgport" -U postgres -c "$clients" -j 2 -T "$seconds" -f "$dir/insert.sql" postgres 2>/dev/null \
        | sed -n 's/^tps = \([0-9.]*\).*/\1/p')
    notify=$("$pgbin/pgbench" -n -h 127.0.0.1 -p "$pgport" -U postgres -c "$clients" -j 2 -T "$seconds" -f "$dir/notify.sql" postgres 2>/dev/null \
        | sed -n 's/^tps = \([0-9.]*\).*/\1/p')
    echo "pgbench on the same cluster, $clients clients, ${seconds} s: INSERT of 100 bytes ${insert%.*} tps; with pg_notify in the transaction ${notify%.*} tps"
}

bench_pgappend() {
    local clients=$1 seconds=$2 batch=$3 pgbin tps
    pgbin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
    printf '[database]\nurl = "%s"\n' "$database_url" > "$dir/migrate.conf"
    "${BIN:-.build/release}"/polygated migrate --config "$dir/migrate.conf" >/dev/null
    "$pgbin/psql" -q -h 127.0.0.1 -p "$pgport" -U postgres -d postgres <<'SQL'
DELETE FROM gw_conversations WHERE conv_home = 'bench';
INSERT INTO gw_conversations (conv_id, conv_home, group_info, created_by)
SELECT decode(lpad(to_hex(n), 32, '0'), 'hex'), 'bench', '\x00', decode(lpad(to_hex(2 * n), 64, '0'), 'hex')
FROM generate_series(0, 999) AS n;
INSERT INTO gw_members (conv_id, user_id, joined_seq)
SELECT decode(lpad(to_hex(n), 32, '0'), 'hex'), decode(lpad(to_hex(2 * n + m), 64, '0'), 'hex'), 0
FROM generate_series(0, 999) AS n, generate_series(0, 1) AS m;
SQL
    # A batch of consecutive conversations from a random start, ordered by conversation id as
    # the daemon orders its batches; each message from the conversation's first member.
    cat > "$dir/append.sql" <<SQL
\\set c random(0, 999)
SELECT count(*) FROM gw_append_batch(
    ARRAY(SELECT decode(lpad(to_hex((:c + g) % 1000), 32, '0'), 'hex') FROM generate_series(0, $batch - 1) AS g ORDER BY (:c + g) % 1000),
    ARRAY(SELECT decode(md5(random()::text || g), 'hex') FROM generate_series(1, $batch) AS g),
    ARRAY(SELECT decode(lpad(to_hex(2 * ((:c + g) % 1000)), 64, '0'), 'hex') FROM generate_series(0, $batch - 1) AS g ORDER BY (:c + g) % 1000),
    array_fill(decode(repeat('11', 32), 'hex'), ARRAY[$batch]),
    array_fill(1::smallint, ARRAY[$batch]), array_fill(0::bigint, ARRAY[$batch]),
    array_fill(decode(repeat('42', 100), 'hex'), ARRAY[$batch]), array_fill(0::bigint, ARRAY[$batch]),
    'bench', 2, 10000,
    '{}', array_fill(0, ARRAY[$batch]), '{}', array_fill(0, ARRAY[$batch]), '{}', array_fill(0, ARRAY[$batch]),
    array_fill(''::bytea, ARRAY[$batch]), array_fill(''::bytea, ARRAY[$batch]));
SQL
    tps=$("$pgbin/pgbench" -n -h 127.0.0.1 -p "$pgport" -U postgres -c "$clients" -j 2 -T "$seconds" -f "$dir/append.sql" postgres 2>/dev/null \
        | sed -n 's/^tps = \([0-9.]*\).*/\1/p')
    echo "pgbench calling gw_append_batch, $clients clients, $batch messages per statement, ${seconds} s: $(awk -v t="$tps" -v b="$batch" 'BEGIN { printf "%d", t * b }') appends/s"
}

bench_daemon() {
    cat > "$dir/polygated.conf" <<CONF
[daemon]
log_level = "warning"
audit_to_log = false
state_directory = "$dir/state"
[http]
listen = "127.0.0.1:$httpport"
${TLS_DIR:+tls_certificate = \"$TLS_DIR/server.pem\"}
${TLS_DIR:+tls_private_key = \"$TLS_DIR/server.key\"}
[database]
url = "$database_url"
$1
CONF
    "${BIN:-.build/release}"/polygated serve --config "$dir/polygated.conf" &
    daemon=$!
    for _ in $(seq 100); do
        if [ -n "${TLS_DIR:-}" ]; then
            curl -sf --cacert "$TLS_DIR/ca.pem" "https://localhost:$httpport/readyz" >/dev/null 2>&1 && return 0
        else
            curl -sf "http://127.0.0.1:$httpport/readyz" >/dev/null 2>&1 && return 0
        fi
        sleep 0.1
    done
    echo "polygated did not get ready" >&2
    return 1
}

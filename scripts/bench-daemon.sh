# Sourced by the bench-* scripts: a throwaway PostgreSQL (loopback, fsync off, as for tests) in a
# private directory that is removed on exit, and a release polygated on it.
#   bench_setup             sets dir, pgport, httpport, database_url; starts PostgreSQL
#   bench_daemon CONF_TAIL  writes $dir/polygated.conf ([daemon], [http], [database] + CONF_TAIL),
#                           starts ${BIN:-.build/release}/polygated, waits for /readyz; sets daemon.
#                           With TLS_DIR set (server.pem, server.key, ca.pem in it): the native
#                           TLS listener, and /readyz asked over https.
daemon=
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
    scripts/pg.sh start "$dir/pg" "$pgport"
    httpport=$(scripts/pg.sh free-port)
    database_url="postgresql://postgres@127.0.0.1:$pgport/postgres"
}

bench_daemon() {
    cat > "$dir/polygated.conf" <<CONF
[daemon]
log_level = "warning"
audit_to_log = false
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

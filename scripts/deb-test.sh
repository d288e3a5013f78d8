#!/usr/bin/env bash
# `make deb-test`: the package from build to purge, on this machine (root; CI's machine is
# throwaway, and on a workstation the package is purged again at the end — but when a real
# PostgreSQL already runs on port 5432, its new role and database "polygate" stay, as a purge
# keeps them):
#   1. make deb; lintian with no error and no warning (overrides: debian/polygate.lintian-overrides)
#   2. a local PostgreSQL, as the package expects one (port 5432, socket /var/run/postgresql;
#      a throwaway cluster when none runs)
#   3. dpkg -i: users and groups, role and database created, migrations applied
#   4. systemd-analyze verify of the installed units; security exposure ≤ 2.0
#   5. the installed polygated with the installed configuration, started by
#      systemd-socket-activate on the sockets the units describe (http, control): /readyz 200,
#      gwctl status through the control socket
#   6. dpkg --purge leaves nothing behind (files, users, groups)
set -euo pipefail
cd "$(dirname "$0")/.."
[ "$(id -u)" -eq 0 ] || { echo "deb-test installs a package: run it as root" >&2; exit 1; }

step() { echo; echo "== $*"; }
fail() { echo "FAIL: $*" >&2; exit 1; }

tmp=$(mktemp -d /tmp/polygate-deb.XXXXXX)
chmod 755 "$tmp"
activator=
pgdir=
cleanup() {
    [ -n "$activator" ] && kill "$activator" 2>/dev/null && wait "$activator" 2>/dev/null || true
    if dpkg-query -W -f='${db:Status-Status}' polygate 2>/dev/null | grep -qv not-installed; then
        dpkg --purge polygate >/dev/null 2>&1 || true
    fi
    [ -n "$pgdir" ] && PG_SOCKET_DIR=/var/run/postgresql scripts/pg.sh stop "$pgdir" || true
    rm -rf "$tmp"
}
trap cleanup EXIT

step "1. build the package"
scripts/deb.sh
version=$(dpkg-parsechangelog -S Version)
deb="dist/polygate_${version}_$(dpkg --print-architecture).deb"
[ -f "$deb" ] || fail "no $deb"
step "lintian $deb"
lintian --fail-on error,warning --display-info "$deb" || fail "lintian reported errors or warnings"
echo "lintian: no errors, no warnings"

step "2. a local PostgreSQL"
if runuser -u postgres -- psql -X -q -tAc 'SELECT 1' >/dev/null 2>&1; then
    echo "a local PostgreSQL answers on /var/run/postgresql: using it"
else
    pgdir="$tmp/pg"
    install -d -o postgres -g postgres -m 2775 /var/run/postgresql
    PG_SOCKET_DIR=/var/run/postgresql scripts/pg.sh start "$pgdir" 5432
    echo "throwaway PostgreSQL on port 5432 (data in $pgdir)"
fi
as_postgres() { runuser -u postgres -- psql -X -q -tA "$@"; }

step "3. dpkg -i"
started=$(date +%s.%N)
dpkg -i "$deb"
installed=$(date +%s.%N)
getent passwd polygate >/dev/null || fail "no user polygate"
getent group polygate-admin >/dev/null || fail "no group polygate-admin"
[ "$(stat -c '%a %U %G' /etc/polygate/polygated.conf)" = "640 root polygate" ] || fail "polygated.conf: $(stat -c '%a %U %G' /etc/polygate/polygated.conf)"
[ "$(stat -c '%a %U %G' /var/lib/polygate/blobs)" = "750 polygate polygate" ] || fail "/var/lib/polygate/blobs: $(stat -c '%a %U %G' /var/lib/polygate/blobs)"
[ "$(as_postgres -c "SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = 'polygate'")" = polygate ] \
    || fail "no database polygate owned by polygate"
pending=$(runuser -u polygate -- /usr/sbin/polygated migrate --status --config /etc/polygate/polygated.conf)
echo "$pending"
echo "$pending" | grep -q "^pending: none" || fail "migrations pending after install"
# Every document a man page names is installed under that name (uncompressed).
for doc in $(grep -ho '/usr/share/doc/polygate/[A-Za-z_/\\-]*\.\(md\|conf\)' man/*.[1-8] | sed 's/\\-/-/g' | sort -u); do
    [ -f "$doc" ] || fail "$doc, named by a man page, is not installed"
done
# Configuring again (as an upgrade does) changes nothing and loses nothing.
as_postgres -d polygate -c "INSERT INTO audit_ledger (gateway_id, event, actor) VALUES ('deb-test', 'deb-test.marker', 'deb-test')"
DPKG_MAINTSCRIPT_NAME=postinst DPKG_MAINTSCRIPT_PACKAGE=polygate /var/lib/dpkg/info/polygate.postinst configure "$version"
[ "$(as_postgres -d polygate -c "SELECT count(*) FROM audit_ledger WHERE event = 'deb-test.marker'")" = 1 ] || fail "reconfiguring lost data"

step "4. the installed units"
units=(/lib/systemd/system/polygated.service /lib/systemd/system/polygated.socket /lib/systemd/system/polygated-control.socket)
verify=$(systemd-analyze verify "${units[@]}" 2>&1) || true
echo "${verify:-systemd-analyze verify: no complaints}"
[ -z "$verify" ] || fail "systemd-analyze verify complained"
exposure=$(systemd-analyze security --offline=true /lib/systemd/system/polygated.service 2>&1 | sed -n 's/.*Overall exposure level for polygated.service: \([0-9.]*\).*/\1/p')
echo "systemd-analyze security: exposure $exposure"
awk -v e="$exposure" 'BEGIN { exit !(e != "" && e <= 2.0) }' || fail "exposure $exposure above 2.0"

# An administrator asking for the key before the first start (as root) must not leave a file
# the daemon cannot read: it belongs to the state directory's owner.
/usr/sbin/polygated show-key --config /etc/polygate/polygated.conf >/dev/null
[ "$(stat -c '%a %U %G' /var/lib/polygate/gateway-keys)" = "600 polygate polygate" ] \
    || fail "gateway-keys made by root's show-key: $(stat -c '%a %U %G' /var/lib/polygate/gateway-keys 2>&1)"

step "5. socket activation with the installed configuration"
port=$(scripts/pg.sh free-port)
install -d -o polygate -g polygate -m 0755 /run/polygate
launched=$(date +%s.%N)
# As the units do: http and control, passed by name; polygated runs as polygate.
setpriv --reuid=polygate --regid=polygate --init-groups \
    systemd-socket-activate -l "127.0.0.1:$port" -l /run/polygate/control.sock --fdname=http:control \
    /usr/sbin/polygated serve --config /etc/polygate/polygated.conf >"$tmp/polygated.log" 2>&1 &
activator=$!
for _ in $(seq 300); do
    curl -sf "http://127.0.0.1:$port/readyz" >"$tmp/readyz" 2>/dev/null && break
    sleep 0.1
done
ready=$(date +%s.%N)
cat "$tmp/readyz" 2>/dev/null || { cat "$tmp/polygated.log"; fail "/readyz never answered 200"; }
echo
awk -v a="$started" -v b="$installed" -v c="$launched" -v d="$ready" \
    'BEGIN { printf "dpkg -i (users, role, database, migrations): %.2f s; first connection to /readyz 200: %.2f s\n", b - a, d - c }'
# The web client from the files the package installed (/usr/share/polygate/web, [web] root).
curl -sf "http://127.0.0.1:$port/app/" >"$tmp/app.html" || fail "/app/ did not answer 200: $(grep -i web "$tmp/polygated.log")"
module=$(grep -o '/app/assets/app\.[0-9a-f]*\.js' "$tmp/app.html" | head -n 1)
[ -n "$module" ] || fail "/app/ names no hashed app.js"
curl -sfI "http://127.0.0.1:$port$module" | grep -qi '^cache-control: public, max-age=31536000, immutable' \
    || fail "$module is not served immutable"
echo "web client: /app/ and $module served"
/usr/sbin/gwctl status | tee "$tmp/status"
grep -q "gateway_id: *gw_local" "$tmp/status" || fail "gwctl status did not name gw_local"
grep -q "ready: *ready" "$tmp/status" || fail "gwctl status: not ready"
# The sealed-session key (made above) is the daemon's alone; show-key, as the daemon, prints it.
[ "$(stat -c '%a %U %G' /var/lib/polygate/gateway-keys)" = "600 polygate polygate" ] \
    || fail "/var/lib/polygate/gateway-keys: $(stat -c '%a %U %G' /var/lib/polygate/gateway-keys 2>&1)"
runuser -u polygate -- /usr/sbin/polygated show-key --config /etc/polygate/polygated.conf | tee "$tmp/keys"
grep -Eq '^[0-9a-f]{64}  current, created ' "$tmp/keys" || fail "polygated show-key printed no current key"
kill -TERM "$activator"
wait "$activator" || fail "polygated did not stop cleanly: $(tail -5 "$tmp/polygated.log")"
activator=

step "6. dpkg --purge"
dpkg --purge polygate
left=$(find /etc /usr /lib /var/lib /run -xdev \( -name 'polygate*' -o -name 'polygated*' -o -name gwctl -o -name polychat \) 2>/dev/null \
    | grep -v "^/var/lib/dpkg/info/polygate" || true)
[ -z "$left" ] || fail "left behind: $left"
ls /var/lib/dpkg/info/polygate.* >/dev/null 2>&1 && fail "dpkg still knows files of polygate"
getent passwd polygate >/dev/null && fail "user polygate left behind"
getent group polygate >/dev/null && fail "group polygate left behind"
getent group polygate-admin >/dev/null && fail "group polygate-admin left behind"
echo "purged: no files, users or groups left (the database is kept, as the purge said)"
echo
echo "deb-test: OK"

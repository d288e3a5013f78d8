#!/usr/bin/env bash
# `make test`: runs every test (unit and integration) against a throwaway PostgreSQL that this
# script starts and always stops, even when tests fail or the run is interrupted.
# Extra arguments go to `swift test` (e.g. scripts/test.sh --filter StoreTests).
set -euo pipefail
cd "$(dirname "$0")/.."

tmp=$(mktemp -d /tmp/polygate-ci.XXXXXX)
chmod 755 "$tmp"
cleanup() {
    # The shared cluster and any cluster a test started and could not stop.
    scripts/pg.sh stop-all "$tmp" || true
    rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

port=$(scripts/pg.sh free-port)
scripts/pg.sh start "$tmp/shared-pg" "$port"
echo "test PostgreSQL on 127.0.0.1:$port (data in $tmp/shared-pg)"

export POLYGATE_TEST_TMPDIR="$tmp"
# The interop tests' Python (an independent Noise implementation from PyPI: scripts/pyvenv.sh).
POLYGATE_TEST_PYTHON=$(scripts/pyvenv.sh)
export POLYGATE_TEST_PYTHON
export POLYGATE_TEST_DATABASE_URL="postgresql://postgres@127.0.0.1:$port/postgres"
if [ $# -gt 0 ]; then
    swift test --skip-build "$@"
    exit
fi
# Four passes: the CPU-bound cryptographic suites keep Swift's cooperative threads busy for
# seconds at a time, so they run apart from the suites that time real sockets and processes;
# polychat's end-to-end suites start dozens of client processes each (Argon2id included), and
# the fault suites load the machine on purpose (kill -9, database crashes, a standby, a storm
# of hostile connections), so they run apart too, instead of starving the daemons of the
# timing-sensitive suites.
faults='^DaemonTests\.(FaultInjectionTests|FailoverTests|HostileStormTests)'
swift test --skip-build --filter '^(MLSTests|PrimitivesTests)\.'
swift test --skip-build --skip '^(MLSTests|PrimitivesTests)\.' --skip '^DaemonTests\.Polychat' --skip "$faults"
swift test --skip-build --filter "$faults"
swift test --skip-build --filter '^DaemonTests\.Polychat'

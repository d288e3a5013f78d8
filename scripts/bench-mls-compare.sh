#!/usr/bin/env bash
# `make bench-mls-compare`: polygate's MLS against AWS mls-rs in one run, on one machine, on the
# same fixtures (the creator adds everyone in one commit; suite 1): commit create (wall and
# CPU) and commit process, median of RUNS (default 10), at each size of SIZES (default
# "16 128 1000"). mls-rs comes from PyPI (agentvault-mls-rs-uniffi, pinned) in .build/benchvenv,
# driven by Benchmarks/MLSBenchmark/mlsrs_bench.py; polygate by mls-benchmark --compare.
set -euo pipefail
cd "$(dirname "$0")/.."
venv=.build/benchvenv
if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c "import mls_rs_uniffi" 2>/dev/null; then
    rm -rf "$venv"
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check agentvault-mls-rs-uniffi==0.1.1 \
        || { echo "error: cannot install agentvault-mls-rs-uniffi from PyPI into $venv" >&2; exit 1; }
fi
sizes=${SIZES:-"16 128 1000"}
runs=${RUNS:-10}
echo "cores: $(nproc); runs per figure: $runs (median)"
# shellcheck disable=SC2086
RUNS=$runs "$venv/bin/python" Benchmarks/MLSBenchmark/mlsrs_bench.py $sizes > "$venv/mlsrs.txt"
# shellcheck disable=SC2086
RUNS=$runs "${BIN:-.build/release}"/mls-benchmark --compare $sizes > "$venv/polygate.txt"
printf '%8s  %22s  %22s  %22s  %18s  %14s\n' members "create ms (polygate)" "create ms (mls-rs)" "create CPU ms (pg/rs)" "process ms (pg/rs)" "ratio c / p"
while read -r _ size create process cpu; do
    read -r _ rsize rcreate rprocess rcpu < <(grep "^mls-rs $size " "$venv/mlsrs.txt")
    [ "$rsize" = "$size" ] || continue
    awk -v s="$size" -v c="$create" -v p="$process" -v u="$cpu" -v rc="$rcreate" -v rp="$rprocess" -v ru="$rcpu" \
        'BEGIN { printf "%8d  %22.2f  %22.2f  %14.2f / %5.2f  %9.2f / %5.2f  %6.2f / %4.2f\n", s, c, rc, u, ru, p, rp, c / rc, p / rp }'
done < "$venv/polygate.txt"

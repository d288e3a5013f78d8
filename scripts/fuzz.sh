#!/usr/bin/env bash
# `make fuzz`: builds the libFuzzer targets (Fuzz/, POLYGATE_FUZZ=1 in Package.swift) in a
# scratch path of their own, with AddressSanitizer, and runs them.
#   scripts/fuzz.sh [TARGET|all] [SECONDS]
# Corpora: Fuzz/Corpus/<target> (committed seeds: the mlswg vectors' messages, and the seeds
# each target writes from real traffic of its own) plus a working corpus under .build/fuzz/.
# A crash stops the run with status 1 and leaves its input in .build/fuzz/crashes/<target>/;
# make it a regression test (docs/RELIABILITY.md).
set -euo pipefail
cd "$(dirname "$0")/.."

targets=(mls gateway polycentric control config)
target=${1:-all}
seconds=${2:-30}
if [ "$target" != all ]; then
    printf '%s\n' "${targets[@]}" | grep -qx "$target" || { echo "unknown fuzz target '$target'; one of: ${targets[*]} (or all)" >&2; exit 64; }
    targets=("$target")
fi
scratch=.build/fuzz
export POLYGATE_FUZZ=1
for t in "${targets[@]}"; do
    swift build --scratch-path "$scratch" --product "fuzz-$t"
done
bin=$(swift build --scratch-path "$scratch" --show-bin-path)

status=0
for t in "${targets[@]}"; do
    work="$scratch/corpus/$t"
    crashes="$scratch/crashes/$t"
    mkdir -p "$work" "$crashes"
    seeds="Fuzz/Corpus/$t"
    mkdir -p "$seeds"
    POLYGATE_FUZZ_SEEDS="$work" "$bin/fuzz-$t"
    echo "== fuzz-$t for ${seconds}s (corpus $work, seeds $seeds)"
    # No leak checks (here and at exit): LeakSanitizer reports Swift's lazily made globals and
    # runtime caches as leaks. AddressSanitizer's memory errors, traps and timeouts stop a run.
    if ! ASAN_OPTIONS=detect_leaks=0 "$bin/fuzz-$t" "$work" "$seeds" -max_total_time="$seconds" -print_final_stats=1 \
        -rss_limit_mb=4096 -timeout=10 -detect_leaks=0 -artifact_prefix="$crashes/" 2> "$scratch/fuzz-$t.log"; then
        echo "fuzz-$t FOUND A CRASH: see $scratch/fuzz-$t.log and $crashes/" >&2
        tail -40 "$scratch/fuzz-$t.log" >&2
        status=1
    fi
    grep -E "^stat::(number_of_executed_units|peak_rss_mb|new_units_added)|cov: " "$scratch/fuzz-$t.log" | tail -4
done
exit $status

#!/bin/sh
# tests/fuzz/smoke.sh - the short libFuzzer run of `make check`; TAP output.
#
# Builds the targets into build-fuzz/ (tests/fuzz/build.sh), then runs each
# for FUZZ_SECONDS (default 3) seconds on its persistent corpus
# build-fuzz/corpus/NAME plus the seeds: libFuzzer runs every seed and
# corpus input first, whatever the time (on an idle machine the slowest
# target's take a second), then mutates them for the rest; the TAP line
# says how many of each. A crash, leak, timeout (> 10 s for
# one input) or out-of-memory (> 2 GB) is "not ok", naming the saved input.
# Without clang's libFuzzer runtime every test is "ok # SKIP" with the reason.
set -eu
cd "$(dirname "$0")/../.."

out=build-fuzz
secs=${FUZZ_SECONDS:-3}
case $secs in '' | *[!0-9]* | 0) echo "fuzz: FUZZ_SECONDS must be a positive number" >&2; exit 2 ;; esac
n=0
failed=0
mkdir -p "$out"

# comment FILE - the last lines of FILE as TAP comments.
comment() { tail -n "${2:-15}" "$1" | sed 's/^/# /'; }

rc=0
sh tests/fuzz/build.sh "$out" >"$out/build.log" 2>&1 || rc=$?
n=$((n + 1))
if [ "$rc" -eq 77 ]; then
    why=$(sed -n 's/^fuzz: skipped: //p' "$out/build.log" | head -n 1)
    echo "ok $n - build fuzz targets # SKIP ${why:-see $out/build.log}"
    echo "1..$n"
    exit 0
elif [ "$rc" -ne 0 ]; then
    echo "not ok $n - build fuzz targets (log: $out/build.log)"
    comment "$out/build.log"
    echo "1..$n"
    exit 1
fi
echo "ok $n - build fuzz targets"

export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1}"
mkdir -p "$out/artifacts" "$out/logs"
for src in tests/fuzz/fuzz_*.c; do
    t=$(basename "$src" .c)
    n=$((n + 1))
    corpus=$out/corpus/$t
    log=$out/logs/$t.log
    mkdir -p "$corpus"
    dict=$(sh tests/fuzz/dict.sh "$t")
    started=$out/logs/$t.started
    : >"$started"
    rc=0
    # shellcheck disable=SC2086
    "$out/$t" -max_total_time="$secs" -rss_limit_mb=2048 -timeout=10 \
        -print_final_stats=1 -artifact_prefix="$out/artifacts/$t-" $dict \
        "$corpus" "$out/seeds/$t" >"$log" 2>&1 || rc=$?
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
    seeds=$(sed -n 's/^#\([0-9]*\)[[:space:]]*INITED.*/\1/p' "$log" | head -n 1)
    if [ "$rc" -eq 0 ]; then
        if [ -n "$runs" ] && [ -n "$seeds" ]; then
            echo "ok $n - $t: $seeds seed and corpus inputs, $((runs - seeds)) mutations in ${secs} s, no failure"
        else
            echo "ok $n - $t: ${runs:-?} inputs in ${secs} s, no failure"
        fi
        continue
    fi
    failed=$((failed + 1))
    crash=$(find "$out/artifacts" -name "$t-*" -newer "$started" -type f | head -n 1)
    if [ -n "$crash" ]; then
        echo "not ok $n - $t: $(basename "$crash") (reproduce: $out/$t $crash; log: $log)"
    else
        echo "not ok $n - $t: exit status $rc, no input saved (log: $log)"
    fi
    grep -E 'ERROR|SUMMARY|^fuzz_[a-z]+:|check failed|runtime error' "$log" | head -n 10 | sed 's/^/# /' || true
done
echo "1..$n"
[ "$failed" -eq 0 ]

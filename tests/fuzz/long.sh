#!/bin/sh
# tests/fuzz/long.sh - a fuzzing campaign (`make fuzz-long`): every target,
# FUZZ_JOBS at a time, for FUZZ_SECONDS of wall-clock time in all (default
# 3600: an hour), each target getting an equal share, on its persistent
# corpus build-fuzz/corpus/NAME plus the seeds. Prints one line per target:
# executions, executions per second, coverage (libFuzzer's cov: edges and
# ft: features), corpus size, peak memory, and the input saved on failure.
#
# Environment: FUZZ_SECONDS (total, default 3600), FUZZ_JOBS (targets run
# at once, default: the number of CPUs), FUZZ_TARGETS (space-separated
# names, default all), FUZZ_ARGS (more libFuzzer options).
# Exit status: 0 no failure, 1 a target failed, 77 libFuzzer unavailable.
set -eu
cd "$(dirname "$0")/../.."

out=build-fuzz
secs=${FUZZ_SECONDS:-3600}
jobs=${FUZZ_JOBS:-$(getconf _NPROCESSORS_ONLN 2>/dev/null || echo 2)}
case $secs in '' | *[!0-9]* | 0) echo "fuzz: FUZZ_SECONDS must be a positive number" >&2; exit 2 ;; esac
case $jobs in '' | *[!0-9]* | 0) echo "fuzz: FUZZ_JOBS must be a positive number" >&2; exit 2 ;; esac

mkdir -p "$out"
rc=0
sh tests/fuzz/build.sh "$out" >"$out/build.log" 2>&1 || rc=$?
if [ "$rc" -ne 0 ]; then
    tail -n 5 "$out/build.log" >&2
    exit "$rc"
fi
targets=${FUZZ_TARGETS:-$(for s in tests/fuzz/fuzz_*.c; do basename "$s" .c; done)}
n=0
for t in $targets; do
    [ -x "$out/$t" ] || { echo "fuzz: no target '$t'" >&2; exit 2; }
    n=$((n + 1))
done
# An equal share: rounds of `jobs` targets at once fill FUZZ_SECONDS.
rounds=$(((n + jobs - 1) / jobs))
per=$((secs / rounds))
[ "$per" -gt 0 ] || per=1
echo "fuzz: $n targets, $jobs at a time, $per s each (FUZZ_SECONDS=$secs)"

export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1}"
mkdir -p "$out/artifacts" "$out/logs"
run() {
    t=$1
    mkdir -p "$out/corpus/$t"
    rc=0
    # shellcheck disable=SC2046,SC2086
    "$out/$t" -max_total_time="$per" -rss_limit_mb=2048 -timeout=10 \
        -print_final_stats=1 -artifact_prefix="$out/artifacts/$t-" \
        $(sh tests/fuzz/dict.sh "$t") ${FUZZ_ARGS:-} \
        "$out/corpus/$t" "$out/seeds/$t" >"$out/logs/$t-long.log" 2>&1 || rc=$?
    echo "$rc" >"$out/logs/$t-long.rc"
}
i=0
for t in $targets; do
    run "$t" &
    i=$((i + 1))
    [ $((i % jobs)) -ne 0 ] || wait
done
wait

failed=0
printf '%-18s %10s %8s %7s %7s %8s %7s  %s\n' target execs exec/s cov ft corpus rss_mb result
for t in $targets; do
    log=$out/logs/$t-long.log
    last=$(grep -a ' cov: ' "$log" | tail -n 1)
    field() { echo "$last" | sed -n "s/.* $1: *\\([0-9a-zA-Z/]*\\).*/\\1/p"; }
    stat() { sed -n "s/^stat::$1: *//p" "$log" | tail -n 1; }
    result=ok
    if [ "$(cat "$out/logs/$t-long.rc")" != 0 ]; then
        failed=$((failed + 1))
        result="FAILED: $(sed -n "s/.*Test unit written to //p" "$log" | tail -n 1) (log: $log)"
    fi
    printf '%-18s %10s %8s %7s %7s %8s %7s  %s\n' "$t" "$(stat number_of_executed_units)" \
        "$(stat average_exec_per_sec)" "$(field cov)" "$(field ft)" "$(field corp)" \
        "$(stat peak_rss_mb)" "$result"
done
[ "$failed" -eq 0 ]

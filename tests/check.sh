#!/bin/sh
# Runs every test stage and prints the closing "N passed, N failed, N
# skipped" line. Stages: unit + golden programs and CLI tests on the plain
# build, the same on the ASan+UBSan build, then a short libFuzzer smoke run.
# Each stage emits TAP; this script counts "ok"/"not ok" lines ("ok ... #
# SKIP" are counted as skipped) and fails a stage whose plan ("1..N",
# first or last) is missing, repeated or differs from the count of test
# lines, so a program that stops early fails even with exit status 0.
#
#   sh tests/check.sh --judge FILE RC   judges one saved TAP output FILE of a
#                                       program that exited RC; prints
#                                       "passed failed skipped" and why
#                                       (tests/cli/check_tap.sh tests this)
set -u

# judge_tap FILE RC - sets p, f, s (passed, failed, skipped) and why (empty,
# or why the output fails beyond its "not ok" lines).
judge_tap() {
    # shellcheck disable=SC2046 # one line of six numbers
    set -- "$1" "$2" $(awk '
        /^ok([ \t]|$)/ { n++; if ($0 ~ /#[ \t]*[Ss][Kk][Ii][Pp]/) s++; else p++; next }
        /^not ok([ \t]|$)/ { n++; f++; next }
        /^1\.\.[0-9]+/ { plans++; plan = substr($0, 4) + 0; next }
        END { printf "%d %d %d %d %d %d\n", p, f, s, n, plans, plan }' "$1")
    p=$3 f=$4 s=$5
    why=
    if [ "$7" -eq 0 ]; then
        why="no plan (1..N): it stopped before the end"
    elif [ "$7" -gt 1 ]; then
        why="$7 plans"
    elif [ "$8" -ne "$6" ]; then
        why="planned $8 tests, ran $6"
    elif [ "$2" -ne 0 ] && [ "$f" -eq 0 ]; then
        why="exited $2 without a failing test"
    fi
    if [ -n "$why" ]; then
        f=$((f + 1))
    fi
}

if [ "${1:-}" = --judge ]; then
    judge_tap "$2" "$3"
    echo "$p $f $s${why:+ $why}"
    exit 0
fi

cd "$(dirname "$0")/.." || exit 2
log_dir=${TMPDIR:-/tmp}/phmatch-check.$$
mkdir -p "$log_dir"
passed=0
failed=0
skipped=0

# Each test's wall time (seconds) goes to $times, "SECONDS NAME" a line,
# kept after the run (CHECK_TIMES=FILE to choose where) so the slowest can
# be listed: sort -rn build/check-times.txt | head -n 20.
times=${CHECK_TIMES:-build/check-times.txt}
mkdir -p "$(dirname "$times")" && : >"$times"
now_ms() { date +%s%3N; }

run_tap() { # name, command...
    name=$1; shift
    out="$log_dir/$(echo "$name" | tr '/ ' '__').tap"
    t0=$(now_ms)
    "$@" >"$out" 2>&1
    rc=$?
    ms=$(($(now_ms) - t0))
    secs=$(printf '%d.%d' $((ms / 1000)) $((ms % 1000 / 100)))
    echo "$secs $name" >>"$times"
    judge_tap "$out" "$rc"
    if [ -n "$why" ]; then
        echo "not ok - $name: $why" >>"$out"
    fi
    passed=$((passed + p))
    failed=$((failed + f))
    skipped=$((skipped + s))
    if [ "$f" -ne 0 ]; then
        echo "FAIL $name ($p passed, $f failed, $s skipped, $secs s):"
        grep -v '^ok ' "$out" | tail -n 40 | sed 's/^/    /'
    elif [ "$s" -ne 0 ]; then
        echo "ok   $name ($p passed, $s skipped, $secs s)"
        grep '^ok .*# *[Ss][Kk][Ii][Pp]' "$out" | sort -u -k 4 | head -n 5 | sed 's/^/    /'
    else
        echo "ok   $name ($p passed, $secs s)"
    fi
}

for build in build build-asan; do
    [ -d "$build/tests" ] || continue
    if [ "$build" = build-asan ]; then
        export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:halt_on_error=1
        export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
    fi
    for t in "$build"/tests/test_*; do
        [ -x "$t" ] || continue
        run_tap "$build/$(basename "$t")" "$t"
    done
    for t in tests/cli/*.sh; do
        # deb.sh builds the packages from scratch (a minute or two): run by
        # `make check-deb`, which .ci/run calls after make check.
        case "$t" in */lib.sh | */deb.sh) continue ;; esac
        run_tap "$build/cli/$(basename "$t" .sh)" env BUILD="$build" sh "$t"
    done
    unset ASAN_OPTIONS UBSAN_OPTIONS
done

if [ -f tests/fuzz/smoke.sh ]; then
    run_tap "fuzz-smoke" sh tests/fuzz/smoke.sh
fi

rm -rf "$log_dir"
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]

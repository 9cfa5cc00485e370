#!/bin/sh
# Runs every test stage and prints the closing "N passed, N failed" line.
# Stages: unit + golden programs and CLI tests on the plain build, the same
# on the ASan+UBSan build, then a short libFuzzer smoke run.
# Each stage emits TAP; this script counts "ok"/"not ok" lines.
set -u
cd "$(dirname "$0")/.." || exit 2
log_dir=${TMPDIR:-/tmp}/phmatch-check.$$
mkdir -p "$log_dir"
passed=0
failed=0

run_tap() { # name, command...
    name=$1; shift
    out="$log_dir/$(echo "$name" | tr '/ ' '__').tap"
    "$@" >"$out" 2>&1
    rc=$?
    p=$(grep -c '^ok ' "$out")
    f=$(grep -c '^not ok ' "$out")
    if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
        f=1
        echo "not ok - $name exited $rc without a failing test" >>"$out"
    fi
    passed=$((passed + p))
    failed=$((failed + f))
    if [ "$f" -ne 0 ]; then
        echo "FAIL $name ($p passed, $f failed):"
        grep -v '^ok ' "$out" | tail -n 40 | sed 's/^/    /'
    else
        echo "ok   $name ($p passed)"
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
        case "$t" in */lib.sh) continue ;; esac
        run_tap "$build/cli/$(basename "$t" .sh)" env BUILD="$build" sh "$t"
    done
    unset ASAN_OPTIONS UBSAN_OPTIONS
done

if [ -f tests/fuzz/smoke.sh ]; then
    run_tap "fuzz-smoke" sh tests/fuzz/smoke.sh
fi

rm -rf "$log_dir"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]

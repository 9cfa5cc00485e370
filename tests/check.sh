#!/bin/sh
# Runs every test stage and prints the closing "N passed, N failed, N
# skipped" line. Stages: unit + golden programs and CLI tests on the plain
# build, the same on the ASan+UBSan build, and a short libFuzzer smoke run.
# The tests of all stages run CHECK_JOBS at a time (default: the number of
# CPUs), the slowest started first; each one's output is kept apart and
# judged, and its result printed whole, when it ends. The few tests in
# `alone` (below, with the reason for each) run with no other test beside,
# after the others.
# CHECK_BUILD_ASAN=COMMAND (make check sets it): the ASan build is made by
# COMMAND as the first item of the schedule, one test ("build-asan"), while
# the plain build's tests and the fuzz smoke run beside it; the ASan build's
# tests (the plain build's names) start when it is made. A build spends
# much of its time waiting (links, first touches of memory): the tests fill
# that time. Without it, the tests of a build-asan/ made before run.
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
rm -rf "$log_dir"
mkdir -p "$log_dir" || exit 2
passed=0
failed=0
skipped=0
jobs=${CHECK_JOBS:-$(nproc 2>/dev/null || echo 1)}
case $jobs in '' | *[!0-9]* | 0) echo "check: CHECK_JOBS must be a positive number" >&2; exit 2 ;; esac

# The tests start python3 hundreds of times. A version manager's shim
# (pyenv's runs about 13 bash processes a call: 0.3 s against the
# interpreter's 0.08 s on a 2-CPU machine) costs more than the work: the
# directory of the interpreter it chooses goes first on the PATH.
if py=$(python3 -c 'import sys; print(sys.executable)' 2>/dev/null) && [ -x "$py" ]; then
    PATH=${py%/*}:$PATH
    export PATH
fi

# Tests that must not share the machine with others, and why. (Patterns
# over the names printed, build/... and build-asan/...)
alone() {
    case $1 in
    # a victim's photos within 0.5 s during a PNG flood (the ASan build's
    # run skips that bound, and shares the machine)
    build/cli/service_budget) return 0 ;;
    */cli/install) return 0 ;; # make install relinks build/'s programs (PREFIX compiled in)
    esac
    return 1
}

# The slowest tests, longest first (measured on 2 CPUs, from a clean
# clone's make check at load ~4.5: its 46 slowest),
# started first so that the two CPUs end together; the others follow in the
# usual order. (While the ASan build is made, the first plain ones start.)
# A run's own times (build/check-times.txt) take precedence when present.
slow_first='
fuzz-smoke
build-asan/cli/service_budget
build-asan/test_query
build-asan/test_index_ahead
build-asan/test_mih_build
build-asan/cli/resume
build-asan/cli/service_hma
build/test_query
build-asan/cli/format_heif
build-asan/test_golden
build-asan/cli/format_bmp
build-asan/cli/index_images
build/cli/index_plan
build-asan/test_transform_lbox
build/cli/resume
build-asan/cli/shard
build/cli/shard
build-asan/test_video_ref
build-asan/cli/format_tiff
build-asan/test_index_plan
build-asan/test_search_simd
build-asan/cli/index_video
build/cli/service_hma
build-asan/cli/records
build/cli/report
build-asan/test_search_cap
build/cli/slurm
build/cli/format_tiff
build-asan/cli/snapshot
build-asan/cli/format_gif
build/cli/check_tap
build-asan/cli/service
build/cli/format_bmp
build-asan/cli/report
build/test_index_ahead
build/cli/service
build-asan/cli/hashlists
build/cli/format_heif
build/cli/snapshot
build-asan/cli/robustness_report
build/test_golden
build/cli/hashlists
build-asan/test_knn_governed
build-asan/test_search
build/cli/format_gif
build/test_search_cap
'

# Each test's wall time and CPU time (user + system of its processes, in
# seconds) go to $times, "WALL CPU NAME" a line, kept after the run
# (CHECK_TIMES=FILE to choose where) so the slowest can be listed:
# sort -rn build/check-times.txt | head -n 20. CPU / WALL is how many cores
# the test kept busy.
times=${CHECK_TIMES:-build/check-times.txt}
mkdir -p "$(dirname "$times")" || exit 2
[ -s "$times" ] && sort -rn "$times" | awk '{ print $3 }' >"$log_dir/previous"
: >"$times"
now_ms() { date +%s%3N; }
# cpu_ms A B - ms of user + system time between two outputs of the shell's
# `times` builtin (run in the same shell: a subshell's has its own counts).
cpu_ms() {
    awk 'FNR == 2 { split($0, t, /[ms ]+/); c[NR == FNR] = (t[1] * 60 + t[2] + t[3] * 60 + t[4]) * 1000 }
        END { printf "%d\n", c[0] - c[1] }' "$1" "$2"
}
tenths() { printf '%d.%d' $(($1 / 1000)) $(($1 % 1000 / 100)); }

# tap_file NAME - where NAME's output goes.
tap_file() { echo "$log_dir/$(echo "$1" | tr '/ ' '__').tap"; }

# run_test NAME - runs the test NAME (as listed by list_tests) with its
# output in its tap file, then writes "RC WALL_MS CPU_MS" to its .done file.
run_test() {
    _out=$(tap_file "$1")
    case $1 in
    build-asan/*)
        export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:halt_on_error=1
        export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
        ;;
    esac
    times >"$_out.cpu0"
    _t0=$(now_ms)
    case $1 in
    build-asan) build_asan ;;
    fuzz-smoke) sh tests/fuzz/smoke.sh ;;
    */cli/*) env BUILD="${1%%/*}" sh "tests/cli/${1##*/}.sh" ;;
    *) "${1%%/*}/tests/${1##*/}" ;;
    esac >"$_out" 2>&1 </dev/null 3>&-
    _rc=$?
    _ms=$(($(now_ms) - _t0))
    times >"$_out.cpu1"
    echo "$_rc $_ms $(cpu_ms "$_out.cpu0" "$_out.cpu1")" >"$_out.done"
}

# build_asan - the item "build-asan": runs $CHECK_BUILD_ASAN, one TAP test
# (the end of its output when it failed).
build_asan() {
    if sh -c "$CHECK_BUILD_ASAN" >"$log_dir/build-asan.log" 2>&1; then
        echo "ok 1 - the ASan+UBSan build (build-asan/)"
    else
        echo "not ok 1 - the ASan+UBSan build (build-asan/): $CHECK_BUILD_ASAN"
        tail -n 30 "$log_dir/build-asan.log" | sed 's/^/# /'
    fi
    echo "1..1"
}

# report NAME - judges NAME's output, adds to the counts, prints its result
# (every line but the passing ones when it failed).
report() {
    out=$(tap_file "$1")
    read -r rc ms cpu <"$out.done"
    secs=$(tenths "$ms")
    echo "$secs $(tenths "$cpu") $1" >>"$times"
    judge_tap "$out" "$rc"
    if [ -n "$why" ]; then
        echo "not ok - $1: $why" >>"$out"
    fi
    passed=$((passed + p))
    failed=$((failed + f))
    skipped=$((skipped + s))
    if [ "$f" -ne 0 ]; then
        echo "FAIL $1 ($p passed, $f failed, $s skipped, $secs s):"
        grep -v '^ok ' "$out" | tail -n 40 | sed 's/^/    /'
    elif [ "$s" -ne 0 ]; then
        echo "ok   $1 ($p passed, $s skipped, $secs s)"
        grep '^ok .*# *[Ss][Kk][Ii][Pp]' "$out" | sort -u -k 4 | head -n 5 | sed 's/^/    /'
    else
        echo "ok   $1 ($p passed, $secs s)"
    fi
}

# list_tests - every test's name, in the usual order: unit programs and CLI
# tests of the plain build, the same of the ASan build, the fuzz smoke run.
# (With $CHECK_BUILD_ASAN, the ASan build's programs are named after the
# plain build's: the two are made of the same sources.)
list_tests() {
    [ -n "${CHECK_BUILD_ASAN:-}" ] && echo build-asan
    for build in build build-asan; do
        progs=$build
        if [ -n "${CHECK_BUILD_ASAN:-}" ]; then
            progs=build
        fi
        [ -d "$progs/tests" ] || continue
        for t in "$progs"/tests/test_*; do
            [ -x "$t" ] && echo "$build/$(basename "$t")"
        done
        for t in tests/cli/*.sh; do
            # deb.sh builds the packages from scratch (a minute or two): run by
            # `make check-deb`, which .ci/run calls after make check.
            case "$t" in */lib.sh | */deb.sh) continue ;; esac
            echo "$build/cli/$(basename "$t" .sh)"
        done
    done
    if [ -f tests/fuzz/smoke.sh ]; then
        echo fuzz-smoke
    fi
}

# The order: the ASan build, the slowest, the rest, the tests run alone.
list_tests >"$log_dir/all"
{
    grep -x build-asan "$log_dir/all"
    if [ -s "$log_dir/previous" ]; then cat "$log_dir/previous"; else echo "$slow_first"; fi
    cat "$log_dir/all"
} | awk 'NR == FNR { want[$0] = 1; next } want[$0] && !seen[$0]++' "$log_dir/all" - |
    while read -r t; do
        if alone "$t"; then echo "$t" >>"$log_dir/last"; else echo "$t"; fi
    done >"$log_dir/pending"
[ -f "$log_dir/last" ] && cat "$log_dir/last" >>"$log_dir/pending"

# Tests run in the background ignore SIGINT (POSIX sh): on an interrupt,
# SIGTERM to the whole process group, which the tests' traps clean up after.
trap 'trap - INT TERM; kill -TERM 0 2>/dev/null; rm -rf "$log_dir"; exit 130' INT TERM

# A finished test writes its name to this FIFO; reading it waits for one.
mkfifo "$log_dir/done" || exit 2
exec 3<>"$log_dir/done"
running=0
# asan_ready: 1 once the ASan build's tests may start (at once without
# $CHECK_BUILD_ASAN); a failed build drops them (its failure is counted).
asan_ready=1
[ -n "${CHECK_BUILD_ASAN:-}" ] && asan_ready=0
reap() { # waits for one test to end and reports it
    read -r _ended <&3
    report "$_ended"
    running=$((running - 1))
    if [ "$_ended" = build-asan ]; then
        asan_ready=1
        if [ "$f" -ne 0 ]; then
            grep -v '^build-asan/' "$log_dir/pending" >"$log_dir/pending.new"
            mv "$log_dir/pending.new" "$log_dir/pending"
        fi
    fi
}
# next_test - the first pending test that may start now (none while only
# ASan tests are left and their build is not made), taken off the list.
next_test() {
    t=$(awk -v ready="$asan_ready" 'ready || !/^build-asan\//' "$log_dir/pending" | head -n 1)
    if [ -n "$t" ]; then
        awk -v t="$t" '$0 != t' "$log_dir/pending" >"$log_dir/pending.new"
        mv "$log_dir/pending.new" "$log_dir/pending"
    fi
}
while [ -s "$log_dir/pending" ]; do
    while [ "$running" -ge "$jobs" ]; do reap; done
    next_test
    if [ -z "$t" ]; then
        # only tests waiting for the ASan build: it is running
        [ "$running" -gt 0 ] || break
        reap
        continue
    fi
    if alone "$t"; then
        while [ "$running" -gt 0 ]; do reap; done
        (run_test "$t")
        report "$t"
        continue
    fi
    (run_test "$t"; echo "$t" >&3) &
    running=$((running + 1))
done
while [ "$running" -gt 0 ]; do reap; done
wait
exec 3>&-

rm -rf "$log_dir"
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]

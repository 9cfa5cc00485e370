#!/bin/sh
# tests/tsan.sh [TEST...] - ThreadSanitizer over the unit tests (`make
# tsan`; not part of `make check`: TSan's 5-15 x slowdown would take the
# suite past its time budget). Default: every unit test built in BUILD
# (build-tsan) but the video ones.
#
# The build is clang's, with LLVM's OpenMP runtime and its archer tool
# (OMP_TOOL_LIBRARIES), which tells TSan where a parallel region's
# barriers order its threads; GCC's libgomp cannot, and every parallel
# loop would read as a race. In that build the index's default map is
# 16 GiB (index_internal.h): TSan's layout of a process has room for one
# map of 1 TiB.
#
# Then, with no TEST given, the service tests whose phmatchd takes no
# video (TSAN_SERVICE=0 leaves them out): phmatchd's threads, under TSan,
# through real sockets; TSan's reports go to files (log_path), since the
# tests keep phmatchd's stderr in their own directory.
#
# Left out: test_video, test_video_ref and test_video_backend, and
# service_hma.sh's and service_video.sh's videos, which need the video
# backend, a shared object that a TSan build does not make (TSan's
# runtime lives in the executable).
#
# A test passes when it passes its own checks and TSan reports nothing.
# The output of each test: BUILD/tsan/NAME.log; TSan's reports of the
# service tests' processes: BUILD/tsan/NAME.tsan.PID.
cd "$(dirname "$0")/.." || exit 1
build=${BUILD:-build-tsan}
archer=${TSAN_ARCHER:-/usr/lib/llvm-14/lib/libarcher.so}
tests=$*
services=
if [ -z "$tests" ] && [ "${TSAN_SERVICE:-1}" != 0 ]; then
    services="service service_governance service_limits service_safe"
fi
if [ -z "$tests" ]; then
    for b in "$build"/tests/test_*; do
        case $b in *.d | *.o | */test_video | */test_video_*) continue ;; esac
        [ -x "$b" ] && tests="$tests ${b##*/}"
    done
fi
[ -n "$tests" ] || { echo "tsan: no unit tests in '$build/tests' (make tsan builds them)" >&2; exit 1; }
[ -r "$archer" ] || { echo "tsan: no '$archer' (Debian's libomp-14-dev; make deps)" >&2; exit 1; }
mkdir -p "$build/tsan"
pass=0 fail=0
# verdict NAME RC LOG REPORTS...: the test's line, from its exit status,
# its TAP output and TSan's reports (in LOG or in report files).
verdict() {
    _t=$1 _rc=$2 _log=$3
    shift 3
    _races=$(cat "$@" 2>/dev/null | grep -c 'WARNING: ThreadSanitizer')
    if [ "$_rc" -eq 0 ] && [ "$_races" -eq 0 ]; then
        echo "ok - $_t ($(grep -c '^ok' "$_log") checks, no report)"
        pass=$((pass + 1))
    else
        echo "not ok - $_t: exit $_rc, $(grep -c '^not ok' "$_log") failed checks," \
            "$_races ThreadSanitizer reports (see $*)"
        fail=$((fail + 1))
    fi
}

for t in $tests; do
    bin=$build/tests/$t
    log=$build/tsan/$t.log
    if [ ! -x "$bin" ]; then
        echo "not ok - $t: '$bin' not built (make tsan builds it)"
        fail=$((fail + 1))
        continue
    fi
    OMP_TOOL_LIBRARIES=$archer \
        TSAN_OPTIONS="halt_on_error=0 exitcode=66 suppressions=$(pwd)/tests/tsan.supp" \
        "$bin" >"$log" 2>&1
    verdict "$t" $? "$log" "$log"
done
for t in $services; do
    log=$build/tsan/$t.log
    rm -f "$build/tsan/$t.tsan".*
    OMP_TOOL_LIBRARIES=$archer BUILD=$build \
        TSAN_OPTIONS="halt_on_error=0 suppressions=$(pwd)/tests/tsan.supp log_path=$(pwd)/$build/tsan/$t.tsan" \
        sh "tests/cli/$t.sh" >"$log" 2>&1
    # shellcheck disable=SC2046 # the report files, one per process that had one
    verdict "$t" $? "$log" "$log" $(ls "$build/tsan/$t.tsan".* 2>/dev/null)
done
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]

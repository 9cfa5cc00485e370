#!/bin/sh
# check_tap.sh - tests/check.sh judges TAP as it should: a program that
# stops early fails even with exit status 0, SKIP lines are counted as
# skipped, and the SIMD tests report the levels they cannot run as SKIP.
. "$(dirname "$0")/lib.sh"

# Only the last part uses the build (test_search_simd and test_golden again,
# forced to the portable level, for their SKIP lines: tap.h and cpu.c, the
# same in both builds); in the ASan build's run it repeated the plain
# build's checks at ASan's speed (12.5 s), its programs being run in full
# as tests of their own there. Run once, in the plain build's run.
case $BUILD in
*asan*)
    echo "1..0 # SKIP check.sh's judging is checked once, in the plain build's run"
    exit 0
    ;;
esac

CHECK=$ROOT/tests/check.sh

# judge NAME EXPECTED RC TAP-TEXT - check.sh's verdict on TAP-TEXT from a
# program that exited RC: "passed failed skipped[ why]".
judge() {
    printf '%s' "$4" >"$T/out.tap"
    t_is "$1" "$(sh "$CHECK" --judge "$T/out.tap" "$3")" "$2"
}

judge "a complete run passes (plan last)" "2 0 0" 0 'ok 1 - a
ok 2 - b
1..2
'
judge "a complete run passes (plan first)" "2 0 0" 0 '1..2
ok 1 - a
ok 2 - b
'
judge "plan first, exit 0 after 2 of 3: fails" "2 1 0 planned 3 tests, ran 2" 0 '1..3
ok 1 - a
ok 2 - b
'
judge "no plan, exit 0: fails (stopped early)" \
    "2 1 0 no plan (1..N): it stopped before the end" 0 'ok 1 - a
ok 2 - b
'
judge "two plans: fails" "1 1 0 2 plans" 0 '1..1
ok 1 - a
1..1
'
judge "exit status 1 with every line ok: fails" "1 1 0 exited 1 without a failing test" 1 'ok 1 - a
1..1
'
judge "SKIP lines are counted as skipped" "1 1 1" 1 'ok 1 - a
ok 2 - # SKIP avx512 not supported by this CPU
not ok 3 - c
1..3
'

# A real program built on tap.h that exits 0 halfway.
cat >"$T/trunc.c" <<'C'
#include <stdlib.h>
#include "tap.h"
int main(void)
{
    tap_plan(3);
    OK(1, "one");
    OK(1, "two");
    exit(0); /* as a test that returns early by mistake */
}
C
if ${CC:-cc} -std=c11 -I"$ROOT/tests/unit" -o "$T/trunc" "$T/trunc.c" 2>"$T/cc.err"; then
    "$T/trunc" >"$T/trunc.tap"
    t_is "a tap.h program that exits 0 halfway fails" \
        "$(sh "$CHECK" --judge "$T/trunc.tap" $?)" "2 1 0 planned 3 tests, ran 2"
else
    t_skip "a tap.h program that exits 0 halfway fails" "no C compiler: $(head -n 1 "$T/cc.err")"
fi

# The SIMD tests with every level above portable forced off.
for t in test_search_simd test_golden; do
    bin=$ROOT/$BUILD/tests/$t
    case $BUILD in /*) bin=$BUILD/tests/$t ;; esac
    if [ ! -x "$bin" ]; then
        t_skip "$t: levels above PHMATCH_SIMD are SKIP" "$bin not built"
        continue
    fi
    PHMATCH_SIMD=portable "$bin" >"$T/$t.tap" 2>&1
    rc=$?
    set -- $(sh "$CHECK" --judge "$T/$t.tap" $rc)
    t_ok "$t with PHMATCH_SIMD=portable passes ($1 passed, $2 failed)" test "$2" -eq 0
    t_ok "$t: avx2 and avx512 reported as SKIP ($3 skipped)" test "$3" -ge 2
    t_like "$t: the SKIP line names the level" "$(cat "$T/$t.tap")" \
        '^ok [0-9]* - # SKIP avx512 \(not supported by this CPU\|above PHMATCH_SIMD=portable\)'
done

t_done

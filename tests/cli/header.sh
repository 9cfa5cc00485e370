#!/bin/sh
# header.sh - include/phmatch.h is plain C11 (no compiler extension needed,
# no warning under -pedantic), and usable from C++ (extern "C").
. "$(dirname "$0")/lib.sh"

cat >"$T/use.c" <<'EOT'
#include "phmatch.h"
#include "phmatch.h" /* include guard */

int main(void)
{
    phm_pdq a = { { 1, 2, 3, 4 } }, b = { { 0, 0, 0, 0 } };
    const char *(*version)(void) = phm_version;
    int (*distance)(const phm_pdq *, const phm_pdq *) = phm_pdq_distance;
    (void)a;
    (void)b;
    return version == 0 || distance == 0;
}
EOT
cp "$T/use.c" "$T/use.cc"

cc=${CC:-cc}
if "$cc" -std=c11 -pedantic -Werror -Wall -Wextra -Wstrict-prototypes \
    -I"$ROOT/include" -c "$T/use.c" -o "$T/use.o" >"$T/c.err" 2>&1; then
    t_pass "phmatch.h compiles with $cc -std=c11 -pedantic -Werror"
else
    t_fail "phmatch.h compiles with $cc -std=c11 -pedantic -Werror"
    t_diag "$(cat "$T/c.err")"
fi
# Without the GCC visibility pragma too (what a compiler that is not GCC-like sees).
if "$cc" -std=c11 -pedantic -Werror -Wall -Wextra -DPHM_NO_VISIBILITY_PRAGMA \
    -I"$ROOT/include" -c "$T/use.c" -o "$T/use2.o" >"$T/c2.err" 2>&1; then
    t_pass "phmatch.h compiles without the visibility pragma"
else
    t_fail "phmatch.h compiles without the visibility pragma"
    t_diag "$(cat "$T/c2.err")"
fi
if t_have clang; then
    if clang -std=c11 -pedantic -Werror -Wall -Wextra -I"$ROOT/include" \
        -c "$T/use.c" -o "$T/use3.o" >"$T/clang.err" 2>&1; then
        t_pass "phmatch.h compiles with clang -std=c11 -pedantic -Werror"
    else
        t_fail "phmatch.h compiles with clang -std=c11 -pedantic -Werror"
        t_diag "$(cat "$T/clang.err")"
    fi
else
    t_skip "phmatch.h with clang" "clang not installed"
fi
if t_have g++; then
    if g++ -std=c++11 -pedantic -Werror -Wall -Wextra -I"$ROOT/include" \
        -c "$T/use.cc" -o "$T/usecc.o" >"$T/cc.err" 2>&1; then
        t_pass "phmatch.h compiles with g++ -std=c++11 -pedantic -Werror"
        # extern "C": the names are not mangled.
        t_like "C linkage from C++" "$(nm "$T/usecc.o")" ' U phm_version$'
    else
        t_fail "phmatch.h compiles with g++ -std=c++11 -pedantic -Werror"
        t_diag "$(cat "$T/cc.err")"
    fi
else
    t_skip "phmatch.h with g++ -std=c++11" "g++ not installed"
fi

t_is "no compiler builtin or attribute in phmatch.h" \
    "$(grep -n '__builtin\|__attribute__\|__asm' "$ROOT/include/phmatch.h")" ""

# One source for the version: the Makefile's VERSION is the header's.
hv=$(sed -n 's/^#define PHM_VERSION_STRING "\(.*\)"$/\1/p' "$ROOT/include/phmatch.h")
parts=$(sed -n 's/^#define PHM_VERSION_\(MAJOR\|MINOR\|PATCH\) \([0-9]*\)$/\2/p' \
    "$ROOT/include/phmatch.h" | tr '\n' . | sed 's/\.$//')
t_is "PHM_VERSION_MAJOR.MINOR.PATCH is PHM_VERSION_STRING" "$parts" "$hv"
if [ -x "$PHMATCH" ]; then
    t_is "phmatch --version prints phm_version()" \
        "$("$PHMATCH" --version | head -n 1)" "phmatch $hv"
    pd=$(dirname "$PHMATCH")/phmatchd
    if [ -x "$pd" ]; then
        t_is "phmatchd --version prints phm_version()" \
            "$("$pd" --version | head -n 1)" "phmatchd $hv"
    fi
fi
t_done

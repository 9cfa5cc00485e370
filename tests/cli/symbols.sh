#!/bin/sh
# symbols.sh - libphmatch.so exports exactly the API of include/phmatch.h:
# every defined dynamic symbol is a phm_* name declared in the header, and
# every name the header declares is exported (issue 11, point 5).
. "$(dirname "$0")/lib.sh"

case $BUILD in
/*) SO=$BUILD/libphmatch.so ;;
*) SO=$ROOT/$BUILD/libphmatch.so ;;
esac
HEADER=$ROOT/include/phmatch.h

if [ ! -f "$SO" ]; then
    t_fail "shared library at $SO"
    t_done
fi
if ! t_have nm; then
    t_skip "exported symbols" "nm not installed (binutils)"
    t_done
fi

# The names the header declares: functions and data, comments removed by
# the preprocessor (the system headers it includes declare no phm_ name).
${CC:-cc} -E -P -std=c11 "$HEADER" >"$T/header.i" 2>"$T/cpp.err" || {
    t_fail "preprocess include/phmatch.h"
    t_diag "$(cat "$T/cpp.err")"
    t_done
}
tr '\n' ' ' <"$T/header.i" | grep -o 'phm_[a-z0-9_]*[[:space:]]*[([]' |
    sed 's/[[:space:]]*[([]$//' | sort -u >"$T/declared"
t_ok "the header declares functions" test "$(wc -l <"$T/declared")" -gt 50

# Defined, global dynamic symbols (functions and data; weak too), but the
# sanitizers' own (ASan's __odr_asan.NAME beside each global of the ASan
# build).
nm -D --defined-only "$SO" | awk 'NF == 3 { print $3 }' | sed 's/@.*//' |
    grep -v '^__\(odr_asan\|asan\|ubsan\|sanitizer\)' | sort -u >"$T/exported"
t_ok "nm lists the exports" test -s "$T/exported"

extra=$(comm -23 "$T/exported" "$T/declared")
t_is "nothing exported beyond the header's declarations" "$extra" ""
missing=$(comm -13 "$T/exported" "$T/declared")
t_is "every declared function is exported" "$missing" ""
t_is "every export is named phm_*" "$(grep -v '^phm_' "$T/exported")" ""

# The internal families of issue 11 in particular.
t_is "no idx_/mih_/ham_/pdq_/rec_ symbol" \
    "$(grep -E '^(idx|mih|ham|pdq|rec|dec|vid)_' "$T/exported")" ""
t_done

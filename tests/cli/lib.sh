# lib.sh - shared helpers for the CLI tests (POSIX sh). Source it:
#
#     . "$(dirname "$0")/lib.sh"
#
# Gives: $ROOT (the source tree), $PHMATCH (absolute path of the binary
# under test, from $BUILD, default "build"), $IMAGES (the PDQ test images),
# $T (a scratch directory, removed on exit), and TAP helpers that number the
# tests: t_ok, t_is, t_like, t_skip, t_diag and t_done (call it last).
# Also tsv_col and tsv_get to read phmatch's tsv output. tests/check.sh
# runs each tests/cli/*.sh with BUILD set and counts the "ok"/"not ok" lines.

# tests/check.sh runs every tests/cli/*.sh, this file too: as a test of
# its own it has nothing to do.
case ${0##*/} in
lib.sh)
    echo "1..0 # SKIP lib.sh is a helper sourced by the other tests"
    exit 0
    ;;
esac

set -u
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${BUILD:-build}
case $BUILD in
/*) PHMATCH=$BUILD/phmatch ;;
*) PHMATCH=$ROOT/$BUILD/phmatch ;;
esac
IMAGES=$ROOT/tests/data/pdq/images
GOLDEN=$ROOT/tests/data/pdq/golden.csv

t_n=0
t_failed=0

# The scratch directory. Permissions are restored before removal, so tests
# may chmod 000 inside it.
T=$(mktemp -d "${TMPDIR:-/tmp}/phmatch-test.XXXXXX") || exit 1
t_cleanup() {
    chmod -R u+rwx "$T" 2>/dev/null
    rm -rf "$T"
}
trap t_cleanup EXIT
trap 'exit 130' INT TERM

# t_diag TEXT... - a TAP comment line per line of TEXT.
t_diag() {
    printf '%s\n' "$*" | sed 's/^/#   /'
}

# t_pass NAME / t_fail NAME
t_pass() {
    t_n=$((t_n + 1))
    echo "ok $t_n - $1"
}
t_fail() {
    t_n=$((t_n + 1))
    t_failed=$((t_failed + 1))
    echo "not ok $t_n - $1"
}

# t_ok NAME COMMAND... - passes if COMMAND exits 0.
t_ok() {
    _name=$1
    shift
    if "$@"; then t_pass "$_name"; else t_fail "$_name"; fi
}

# t_is NAME GOT EXPECTED - passes if the strings are equal.
t_is() {
    if [ "$2" = "$3" ]; then
        t_pass "$1"
    else
        t_fail "$1"
        t_diag "got:      $2"
        t_diag "expected: $3"
    fi
}

# t_like NAME TEXT PATTERN - passes if TEXT has a line matching the grep
# basic regular expression PATTERN.
t_like() {
    if printf '%s\n' "$2" | grep -q -e "$3"; then
        t_pass "$1"
    else
        t_fail "$1"
        t_diag "no line matching: $3"
        t_diag "in: $2"
    fi
}

# t_skip NAME REASON
t_skip() {
    t_n=$((t_n + 1))
    echo "ok $t_n - $1 # SKIP $2"
}

# t_done - prints the plan; exits nonzero if a test failed.
t_done() {
    echo "1..$t_n"
    [ "$t_failed" -eq 0 ]
    exit $?
}

# t_need_phmatch - ends the test (one failure) unless $PHMATCH was built.
t_need_phmatch() {
    if [ ! -x "$PHMATCH" ]; then
        t_fail "phmatch binary at $PHMATCH"
        t_done
    fi
}

# t_have CMD - whether CMD is on the PATH and works.
t_have() {
    command -v "$1" >/dev/null 2>&1
}

# t_python - whether python3 runs (a pyenv shim may exist without one).
t_python() {
    t_have python3 && python3 -c 'import json, csv' >/dev/null 2>&1
}

# tsv_col NAME FILE - the NAME column of every record of a phmatch tsv file
# (fields as written: escapes not undone).
tsv_col() {
    awk -F '\t' -v name="$1" '
        NR == 1 { for (i = 1; i <= NF; i++) if ($i == name) c = i; next }
        { print $c }' "$2"
}

# tsv_get PATH NAME FILE - the NAME column of the record for PATH.
tsv_get() {
    awk -F '\t' -v path="$1" -v name="$2" '
        NR == 1 { for (i = 1; i <= NF; i++) if ($i == name) c = i; next }
        $1 == path { print $c }' "$3"
}

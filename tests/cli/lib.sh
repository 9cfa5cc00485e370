# lib.sh - shared helpers for the CLI tests (POSIX sh). Source it:
#
#     . "$(dirname "$0")/lib.sh"
#
# Gives: $ROOT (the source tree), $PHMATCH (absolute path of the binary
# under test, from $BUILD, default "build"), $IMAGES (the PDQ test images),
# $T_SMALL (1: take the smaller inputs),
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
# T_SMALL=1: take the smaller inputs (as tap_small() in tests/unit/tap.h
# says: the sanitizer build's run, unless PHM_TEST_SIZE=full;
# PHM_TEST_SIZE=small in any build).
case ${PHM_TEST_SIZE:-}:$BUILD in
small:*) T_SMALL=1 ;;
full:*) T_SMALL=0 ;;
*:*asan*) T_SMALL=1 ;;
*) T_SMALL=0 ;;
esac

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

# wait_until TENTHS COMMAND... - runs COMMAND every 0.1 s until it
# succeeds, TENTHS tenths of a second at most; returns COMMAND's last
# status. For a step that needs a state first (a request in progress, a
# log line): a fixed sleep is too short on a loaded machine and longer
# than needed on an idle one.
wait_until() {
    _left=$1
    shift
    until "$@"; do
        [ "$_left" -gt 0 ] || return 1
        sleep 0.1
        _left=$((_left - 1))
    done
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

# t_nobody - as root, sets NOBODY to a command prefix that runs what
# follows as nobody (uid and gid 65534, no groups), for checks of
# permission bits, which do not stop root. Returns 1 (NOBODY empty) when
# not root, or when setpriv is missing or cannot run $PHMATCH as nobody.
# The probe runs $PHMATCH itself: setpriv starts it even from a build
# nobody cannot enter (a clone in a mktemp -d directory, as CI makes),
# where a `test -x` run as nobody says no.
t_nobody() {
    NOBODY=
    [ "$(id -u)" -eq 0 ] && t_have setpriv || return 1
    setpriv --reuid=65534 --regid=65534 --clear-groups "$PHMATCH" --version \
        >/dev/null 2>&1 || return 1
    NOBODY="setpriv --reuid=65534 --regid=65534 --clear-groups"
}

# t_entries NAME DB N: DB holds N entries. The positive control of a test
# that checks a copy is missed with DB: an index left empty by an add that
# failed would pass every such check.
t_entries() {
    t_is "$1" "$("$PHMATCH" index stats "$2" 2>/dev/null | awk -F '\t' '$1 == "entries" { print $2 }')" "$3"
}

# t_bench_prologue - the start of a test of a bench/ script: ends the test
# as skipped in the ASan build (the bench runs the build's phmatch; that
# run would add nothing but time) and where ImageMagick's convert or
# python3 is missing; sets D to the build directory as an absolute path.
t_bench_prologue() {
    case $BUILD in
    *asan*)
        echo "1..0 # SKIP plain build only"
        exit 0
        ;;
    esac
    if ! t_have convert || ! t_have python3; then
        echo "1..0 # SKIP needs ImageMagick's convert and python3 (make deps installs them)"
        exit 0
    fi
    case $BUILD in
    /*) D=$BUILD ;;
    *) D=$ROOT/$BUILD ;;
    esac
}

# t_python - whether python3 runs (a pyenv shim may exist without one).
t_python() {
    t_have python3 && python3 -c 'import json, csv' >/dev/null 2>&1
}

# ---- phmatchd, for the service tests ----
# Every server started is in $pids, for the test's EXIT trap to kill.
pids=""

# svc_need - for a test of the service itself: svc_need_phmatchd fail,
# and sets CLIENT (tests/service/svc_client); one failure when it or
# phmatch was not built.
svc_need() {
    svc_need_phmatchd fail
    CLIENT=$_d/tests/service/svc_client
    for _b in "$CLIENT" "$PHMATCH"; do
        if [ ! -x "$_b" ]; then
            t_fail "built: $_b"
            t_done
        fi
    done
}

# svc_start NAME ARGS... - starts $PHMATCHD with ARGS, its log in
# $T/NAME.log; sets PID, and PORT when it listens on TCP 127.0.0.1. Waits
# for "ready:" (10 s at most); fails if it did not come.
svc_start() {
    _name=$1
    shift
    "$PHMATCHD" "$@" 2>"$T/$_name.log" &
    PID=$!
    pids="$pids $PID"
    _i=0
    while [ $_i -lt 100 ]; do
        grep -q 'ready:' "$T/$_name.log" 2>/dev/null && break
        kill -0 "$PID" 2>/dev/null || break
        sleep 0.1
        _i=$((_i + 1))
    done
    PORT=$(sed -n 's/.*listening on tcp 127\.0\.0\.1:\([0-9]*\).*/\1/p' "$T/$_name.log")
    grep -q 'ready:' "$T/$_name.log"
}

# svc_stop PID - SIGTERM, then waits (10 s at most); the exit status goes
# to RC.
svc_stop() {
    kill -TERM "$1" 2>/dev/null
    _i=0
    while kill -0 "$1" 2>/dev/null && [ $_i -lt 100 ]; do
        sleep 0.1
        _i=$((_i + 1))
    done
    wait "$1" 2>/dev/null
    RC=$?
}

# svc_need_phmatchd [skip|fail] - sets PHMATCHD (unless set: the
# phmatchd of $BUILD) and _d (the build directory). Without curl the rest
# of the test is skipped; without that phmatchd it is skipped (skip, the
# default: a test whose service part is extra) or is one failure (fail: a
# build that should have it). Either ends the test.
svc_need_phmatchd() {
    case $BUILD in
    /*) _d=$BUILD ;;
    *) _d=$ROOT/$BUILD ;;
    esac
    PHMATCHD=${PHMATCHD:-$_d/phmatchd}
    if ! t_have curl; then
        t_skip "phmatchd" "curl not installed (make deps installs it)"
        t_done
    fi
    if [ ! -x "$PHMATCHD" ]; then
        if [ "${1:-skip}" = fail ]; then
            t_fail "built: $PHMATCHD"
        else
            t_skip "phmatchd" "phmatchd not built: $PHMATCHD"
        fi
        t_done
    fi
}

# svc_match_start INDEX - starts $PHMATCHD on INDEX (TCP on 127.0.0.1, a
# lookup token in TOKEN, 2 threads) as svc_start does, its files in $T.
svc_match_start() {
    TOKEN=lookup-token-0123456789abcdef
    printf 'tester lookup %s\n' "$TOKEN" >"$T/tokens"
    chmod 600 "$T/tokens"
    printf 'index = %s\nsocket = %s\nlisten = 127.0.0.1:0\ntokens = %s\nthreads = 2\n' \
        "$1" "$T/s.sock" "$T/tokens" >"$T/phmatchd.conf"
    svc_start d -c "$T/phmatchd.conf"
}

# svc_post FILE QUERY - POSTs FILE to /v1/match?QUERY (QUERY: "" or
# "?robust=1" ...) of the server svc_match_start started; prints the HTTP
# status, the body goes to $T/out.
svc_post() {
    curl -s -m 20 -o "$T/out" -w '%{http_code}' -H "Authorization: Bearer $TOKEN" \
        -H 'Content-Type: application/octet-stream' \
        --data-binary "@$1" "http://127.0.0.1:$PORT/v1/match$2"
}

# svc_kill_all - kill -9 of every server started (for EXIT traps).
svc_kill_all() {
    for p in $pids; do kill -9 "$p" 2>/dev/null; done
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

# rt_rich_index DB - creates DB, an index with entries of every kind, for
# the round-trip tests (index.sh, service.sh): PDQ entries with every field
# (commas, quotes, a backslash, non-ASCII UTF-8, bytes that are not UTF-8,
# times, digests; the index holds no control characters), digest-only
# entries, and a video (vPDQ file).
rt_rich_index() {
    _h1=f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22
    _h2=f0a5e102f1ccc0bd945308720fff038de34ef1e8ada9a956d2967ade5ea91a50
    _h3=1049d96239e24d4dca2c55512b8bdb77425f4dbcf575a0a95555aaab5554aaaa
    _h4=e271017ffd0b3fd19b5a90a17b51a3b9ffb5e07f40df8b07a68cd5255ec0055c
    {
        echo 'hash,quality,source,id,category,note,added,md5,sha1,sha256'
        echo "$_h1,100,ncmec,A-1,csam,\"first, with a comma\",2024-01-02T03:04:05Z,d41d8cd98f00b204e9800998ecf8427e,,"
        printf '%s,,local-case-1234,"a,b",,"say ""quotes""",1700000000,,,\n' "$_h2"
        printf '%s,41,,A-3,other,\303\274n\303\257 \\ back,,,,\n' "$_h3"
        printf '%s,90,ncmec,latin-1,,caf\351,,,,\n' "$_h4"
        echo ',,digests,only-md5,,,,0123456789abcdef0123456789abcdef,,'
        echo ",,digests,sha,,,,,0123456789abcdef0123456789abcdef01234567,$_h1"
    } >"$1.csv"
    "$PHMATCH" index create "$1" &&
        "$PHMATCH" index import --source rich --category dflt "$1" "$1.csv" >/dev/null &&
        "$PHMATCH" index import --source vid --category clips "$1" \
            "$ROOT/tests/data/vpdq/expected/chair-19-sd-bar-128x128.txt" >/dev/null
}

# rt_counts OUTPUT - the added and unchanged counts of an import's output
# line "added A, unchanged U, ...", as "A U".
rt_counts() {
    printf '%s\n' "$1" | sed -n 's/^added \([0-9]*\), unchanged \([0-9]*\),.*/\1 \2/p'
}

# ---- image formats (format_heif.sh, format_jxl.sh) ----

# jsonl_field NAME JSONL - the value of NAME in a one-record jsonl text
# (strings unquoted; good for the plain values of phmatch's records).
jsonl_field() {
    printf '%s\n' "$2" | sed -n "s/.*\"$1\":\"\{0,1\}\([^\",]*\).*/\1/p" | head -1
}

# same_as_ref F REF FORMAT [W H] - one test: F's format is FORMAT and its hash
# and quality those of REF (the reference decoder's PNG of F); one more
# when W H are given: F's size.
same_as_ref() {
    _got=$("$PHMATCH" hash -f jsonl "$1" 2>&1)
    _want=$("$PHMATCH" hash -f jsonl "$2" 2>&1)
    t_is "$(basename "$1"): hash and quality of the reference's decode" \
        "$(jsonl_field format "$_got") $(jsonl_field pdq "$_got") $(jsonl_field quality "$_got")" \
        "$3 $(jsonl_field pdq "$_want") $(jsonl_field quality "$_want")"
    if [ $# -eq 5 ]; then
        t_is "... ${4}x$5 pixels" "$(jsonl_field width "$_got")x$(jsonl_field height "$_got")" \
            "${4}x$5"
    fi
}

# corrupt_batch GOOD BAD... - two tests: `phmatch hash` of the BAD files and
# then GOOD exits 1, each BAD one corrupt and GOOD ok (the batch goes on);
# the messages stay in $T/bad.err.
corrupt_batch() {
    _good=$1
    shift
    "$PHMATCH" hash -q -f tsv "$@" "$_good" >"$T/bad.tsv" 2>"$T/bad.err"
    t_is "truncated and corrupt files: exit 1" "$?" 1
    _want=""
    for _f in "$@"; do _want="${_want}corrupt "; done
    t_is "... each corrupt, the batch goes on" "$(tsv_col status "$T/bad.tsv" | tr '\n' ' ')" \
        "${_want}ok "
}

# ---- service replicas (snapshot.sh, replicas.sh) ----

# gen_hashes N SEED SOURCE - a tsv hash list (hash, source, id) of N random
# PDQ-like hashes (100..156 bits set, as real ones), ids SOURCE0, SOURCE1...
gen_hashes() {
    python3 - "$@" <<'PYEOF'
import random, sys
n, seed, src = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
r = random.Random(seed)
print('hash\tsource\tid')
for i in range(n):
    v = r.getrandbits(256)
    while not 100 <= bin(v).count('1') <= 156:
        v = r.getrandbits(256)
    print('%064x\t%s\t%s%d' % (v, src, src, i))
PYEOF
}

# wrk_lookups URL TOKEN BODY SECONDS OUT - wrk posting BODY (JSON) to URL
# with TOKEN for SECONDS (2 threads, 8 connections), its report in OUT.
# Run it in the background to act meanwhile; then wrk_parse OUT.
wrk_lookups() {
    cat >"$5.lua" <<LUAEOF
wrk.method = "POST"
wrk.body = '$3'
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer $2"
LUAEOF
    wrk -t 2 -c 8 -d "$4s" -s "$5.lua" "$1" >"$5" 2>&1
}

# wrk_parse OUT - sets WRK_TOTAL (requests), WRK_NON2XX (non-2xx/3xx
# answers, 0 if none) and WRK_SOCKERR ("none", or wrk's socket error line).
wrk_parse() {
    WRK_TOTAL=$(sed -n 's/^ *\([0-9]*\) requests in.*/\1/p' "$1")
    WRK_NON2XX=$(sed -n 's/^ *Non-2xx or 3xx responses: *\([0-9]*\).*/\1/p' "$1")
    WRK_SOCKERR=$(sed -n 's/^ *Socket errors: *\(.*\)/\1/p' "$1")
    WRK_TOTAL=${WRK_TOTAL:-0} WRK_NON2XX=${WRK_NON2XX:-0} WRK_SOCKERR=${WRK_SOCKERR:-none}
}

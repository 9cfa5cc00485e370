#!/bin/sh
# service_truncated.sh - the index file cut short under a running phmatchd
# (`truncate`, a copy written over it in place) and under `phmatch lookup`
# reading queries from a FIFO. LMDB reads the file through a memory map,
# where a page past the end of the file is a SIGBUS: both processes must
# instead check the file before each transaction. phmatchd answers the
# requests that use the index 503 index_truncated naming the file, logs it
# once, still hashes, shows it in /healthz and fails /readyz; put back, the
# file is served again. phmatch lookup stops with a message and a non-zero
# status, not a signal. Over a real Unix socket; TAP on stdout. Needs curl.
. "$(dirname "$0")/lib.sh"
svc_need

JPG=$IMAGES/misc-images/wee.jpg
OCT="Content-Type: application/octet-stream"
JSON="Content-Type: application/json"
PAGE=$(getconf PAGESIZE)

trap 'svc_kill_all; t_cleanup' EXIT

# req PATH [CURL ARGS...] - the HTTP status; the body goes to $T/out.
req() {
    _p=$1
    shift
    curl -s -m 20 --unix-socket "$T/s.sock" -o "$T/out" -w '%{http_code}' "$@" \
        "http://localhost$_p"
}
code() { grep -o '"code":"[a-z_]*"' "$T/out"; }

"$CLIENT" mkindex "$T/idx.phmi" 2000 7 || { t_fail "make the test index"; t_done; }
H=$("$PHMATCH" hash --format pdq "$JPG" 2>/dev/null | cut -d, -f1)
printf '%s\n' "$H" >"$T/known.txt"
"$PHMATCH" index import --source lab "$T/idx.phmi" "$T/known.txt" >/dev/null 2>&1 ||
    t_fail "import the known hash"
cp "$T/idx.phmi" "$T/whole.phmi"
LOOKUP="{\"hashes\": [\"$H\"]}"

if ! svc_start srv --index "$T/idx.phmi" --socket "$T/s.sock" --listen '' --threads 2; then
    t_fail "phmatchd starts"
    t_done
fi
t_is "a lookup before: 200" "$(req /v1/lookup -H "$JSON" -d "$LOOKUP")" 200
t_like "... finds the known hash" "$(cat "$T/out")" '"source":"lab"'

for keep in $((2 * PAGE)) 0; do
    truncate -s "$keep" "$T/idx.phmi"
    t_is "cut to $keep bytes: a lookup is 503" "$(req /v1/lookup -H "$JSON" -d "$LOOKUP")" 503
    t_is "... index_truncated" "$(code)" '"code":"index_truncated"'
    t_like "... naming the index and what happened" "$(cat "$T/out")" \
        "idx.phmi': index file is truncated ($keep bytes; it had [0-9]*)"
    t_is "... an image match too" "$(req /v1/match -H "$OCT" --data-binary @"$JPG")" 503
    t_is "... an HMA lookup too" "$(req "/m/raw_lookup?signal_type=pdq&signal=$H")" 503
    t_is "... a governance read too" "$(req /v1/index/sources)" 503
    t_is "... an add too" "$(req /v1/index/entries -H 'Content-Type: text/plain' \
        --data-binary @"$T/known.txt")" 503
    t_is "... and index stats" "$(req /v1/index)" 503
    t_is "hashing needs no index: 200" "$(req /v1/hash -H "$OCT" --data-binary @"$JPG")" 200
    t_is "/healthz still answers 200" "$(req /healthz)" 200
    t_like "... showing the index truncated" "$(cat "$T/out")" \
        '"status":"degraded".*"index":"truncated"'
    t_is "/readyz: 503" "$(req /readyz)" 503
    t_is "... index_truncated" "$(code)" '"code":"index_truncated"'
    t_is "HMA /status: 503" "$(req /status)" 503
    t_ok "the server is alive" kill -0 "$PID"
done
t_is "logged once" "$(grep -c 'index file is truncated' "$T/srv.log")" 1
t_like "... as an error saying what is refused" "$(cat "$T/srv.log")" \
    "error.*idx.phmi': index file is truncated.*answered 503 index_truncated"

# Put back in place: served again, and logged.
cat "$T/whole.phmi" >"$T/idx.phmi"
t_is "put back: a lookup is 200" "$(req /v1/lookup -H "$JSON" -d "$LOOKUP")" 200
t_like "... finds the known hash" "$(cat "$T/out")" '"source":"lab"'
t_is "... /readyz 200" "$(req /readyz)" 200
t_is "... /healthz ok" "$(req /healthz; cat "$T/out")" '200{"status":"ok"}'
t_like "... logged" "$(cat "$T/srv.log")" "idx.phmi' holds all its pages again"

# Cut with no request: the main loop notices it (within a second) and logs.
truncate -s "$((2 * PAGE))" "$T/idx.phmi"
wait_until 50 sh -c '[ "$(grep -c "index file is truncated" "$1")" -ge 2 ]' _ "$T/srv.log"
t_is "cut without a request: logged by the server itself" \
    "$(grep -c 'index file is truncated' "$T/srv.log")" 2
svc_stop "$PID"
t_is "SIGTERM: exit 0" "$RC" 0
cat "$T/whole.phmi" >"$T/idx.phmi"

# phmatch lookup reading queries from a FIFO, one answered before the cut.
mkfifo "$T/q"
"$PHMATCH" lookup --index "$T/idx.phmi" <"$T/q" >"$T/lk.out" 2>"$T/lk.err" &
LK=$!
exec 3>"$T/q"
printf '%s\n' "$H" >&3
wait_until 100 grep -q lab "$T/lk.out"
t_like "lookup from a FIFO: the first query answered" "$(cat "$T/lk.out")" 'lab'
truncate -s "$((2 * PAGE))" "$T/idx.phmi"
printf '%s\n' "$H" >&3
exec 3>&-
wait "$LK"
rc=$?
t_ok "... cut: exits non-zero, not by a signal (status $rc)" test "$rc" -gt 0 -a "$rc" -lt 128
t_like "... saying the index is truncated" "$(cat "$T/lk.err")" \
    "idx.phmi': index file is truncated"
t_done

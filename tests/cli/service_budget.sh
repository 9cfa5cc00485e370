#!/bin/sh
# service_budget.sh - phmatchd's budgets over real sockets (issue 12, points
# 2 and 7): the search cost of a request (max_lookup_cost: 413 too_costly)
# and the lower max_distance of lookup tokens (max_distance_lookup), on
# 127.0.0.1 with tokens of both roles; the decode budget shared by the
# workers (max_decode_pixels: 503 with Retry-After) and the worker buffers
# given back after 100-megapixel PNGs (VmRSS back under a bound), on a Unix
# socket; large images on the decode threads (decode_threads, decode_queue):
# a victim's photos keep their latency during a flood of 100 MP PNGs, every
# PNG answered, shutdown and request_timeout with PNGs queued. A handful of
# requests, each with a timeout. TAP on stdout. Needs
# curl; the decode part needs python3 (tools/mkbigpng.py).
. "$(dirname "$0")/lib.sh"
svc_need

JPG=$IMAGES/bridge-mods/aaa-orig.jpg
ADMIN_TOKEN=admin-token-0123456789abcdef
LOOKUP_TOKEN=lookup-token-0123456789abcdef
printf 'ops admin %s\nupload-pipeline lookup %s\n' "$ADMIN_TOKEN" "$LOOKUP_TOKEN" \
    >"$T/tokens"
chmod 600 "$T/tokens"

trap 'svc_kill_all; t_cleanup' EXIT

start() { svc_start "$@"; }
stop() { svc_stop "$1"; }
req() { curl -s -m 30 -o "$T/out" -w '%{http_code}' "$@"; }
body() { cat "$T/out"; }
TCP() { echo "http://127.0.0.1:$PORT$1"; }
AUTH_L="Authorization: Bearer $LOOKUP_TOKEN"
AUTH_A="Authorization: Bearer $ADMIN_TOKEN"
JSON="Content-Type: application/json"
IMG="Content-Type: image/jpeg"
metric() { curl -s -m 10 -H "$AUTH_A" "$(TCP /metrics)" | sed -n "s/^$1 //p"; }
asan=0
nm "$PHMATCHD" 2>/dev/null | grep -q __asan_init && asan=1

"$CLIENT" mkindex "$T/idx.phmi" 200 7 || { t_fail "make the test index"; t_done; }

# ---------------------------------------------------------------------------
# Settings checked together.
"$PHMATCHD" -n --socket "$T/x.sock" --max-decode-pixels 1000 >/dev/null 2>"$T/err"
t_is "max_decode_pixels below max_pixels: exit 2" "$?" 2
t_like "... saying why" "$(cat "$T/err")" "max_decode_pixels (1000) is below max_pixels"
"$PHMATCHD" -n --socket "$T/x.sock" --match-distance 45 >/dev/null 2>"$T/err"
t_is "match_distance above max_distance_lookup: exit 2" "$?" 2
t_like "... saying why" "$(cat "$T/err")" "above max_distance_lookup"
out=$("$PHMATCHD" -n --socket "$T/x.sock" 2>&1)
t_like "default max_distance_lookup is 40" "$out" '^max_distance_lookup = 40$'
t_like "default max_lookup_cost is 16000" "$out" '^max_lookup_cost = 16000$'
t_like "default max_decode_pixels is 0 (twice max_pixels)" "$out" '^max_decode_pixels = 0$'

# ---------------------------------------------------------------------------
# Search cost and distance by role, over TCP.
if ! start cost --socket '' --listen 127.0.0.1:0 --tokens "$T/tokens" --index "$T/idx.phmi" \
    --threads 2 --max-batch 10 --max-lookup-cost 200; then
    t_fail "phmatchd starts"
    t_diag "$(cat "$T/cost.log")"
    t_done
fi
H0=0000000000000000000000000000000000000000000000000000000000000000
hashes() { # hashes N - a JSON array of N hashes
    _s="\"$H0\""
    _k=1
    while [ $_k -lt "$1" ]; do _s="$_s,\"$(printf '%064x' $_k)\""; _k=$((_k + 1)); done
    echo "[$_s]"
}
lookup() { # lookup AUTH N DISTANCE
    req -H "$1" -H "$JSON" -d "{\"hashes\":$(hashes "$2"),\"max_distance\":$3}" "$(TCP /v1/lookup)"
}
t_is "lookup token: 10 hashes at 31" "$(lookup "$AUTH_L" 10 31)" 200
t_is "lookup token: 10 hashes at 40 (cost 48)" "$(lookup "$AUTH_L" 10 40)" 200
t_is "lookup token: max_distance 41 is refused" "$(lookup "$AUTH_L" 1 41)" 400
t_like "... naming the cap and the setting" "$(body)" \
    'max_distance 41 is above 40, the largest for a lookup token .max_distance_lookup.'
t_is "admin token: max_distance 64 (1 hash, cost 128)" "$(lookup "$AUTH_A" 1 64)" 200
t_like "... answered at 64" "$(body)" '"max_distance":64'
t_is "admin token: max_distance 65 is above max_distance" "$(lookup "$AUTH_A" 1 65)" 400
t_is "admin token: 2 hashes at 64 cost 256 > 200" "$(lookup "$AUTH_A" 2 64)" 413
t_like "... a JSON error too_costly" "$(body)" '"code":"too_costly"'
t_like "... saying what it cost and what to do" "$(body)" \
    '2 hashes at max_distance 64 cost 256; at most 200 in one request .max_lookup_cost.: send fewer hashes or a smaller max_distance'
t_is "10 hashes at 48 cost 191: allowed" "$(lookup "$AUTH_A" 10 48)" 200
t_is "10 hashes at 49 cost 227: refused" "$(lookup "$AUTH_A" 10 49)" 413
t_is "/v1/match, lookup token, ?max_distance=41: 400" \
    "$(req -H "$AUTH_L" -H "$IMG" --data-binary @"$JPG" "$(TCP '/v1/match?max_distance=41')")" 400
t_is "/v1/match, admin, ?max_distance=64: 200" \
    "$(req -H "$AUTH_A" -H "$IMG" --data-binary @"$JPG" "$(TCP '/v1/match?max_distance=64')")" 200
t_is "/v1/match, admin, 8 orientations at 64 cost 1024: 413" \
    "$(req -H "$AUTH_A" -H "$IMG" --data-binary @"$JPG" \
        "$(TCP '/v1/match?max_distance=64&dihedral=1')")" 413
t_is "refusals counted in phmatchd_lookup_cost_refused_total" \
    "$(metric phmatchd_lookup_cost_refused_total)" 3
stop "$PID"

# ---------------------------------------------------------------------------
# The decode budget and the buffers given back, on a Unix socket.
if ! t_python; then
    t_skip "decode budget" "python3 not available (tools/mkbigpng.py)"
    t_done
fi
python3 "$ROOT/tools/mkbigpng.py" "$T/big.png" || t_fail "make a 100 MP PNG"
S=$T/d.sock
if ! start decode --socket "$S" --index "$T/idx.phmi" --threads 2 \
    --max-decode-pixels 100000000 --decode-threads 2; then
    t_fail "phmatchd starts"
    t_diag "$(cat "$T/decode.log")"
    t_done
fi
rss() { awk '/^VmRSS/ { print int($2 / 1024) }' "/proc/$PID/status"; }
big() { # big N - posts the 100 MP PNG; the status goes to $T/bigN
    curl -s -m 60 --unix-socket "$S" -D "$T/big$1.h" -o "$T/big$1.out" -w '%{http_code}' \
        -H 'Content-Type: image/png' --data-binary @"$T/big.png" http://x/v1/hash >"$T/big$1"
}
uget() { curl -s -m 10 --unix-socket "$S" "http://x$1"; }
rss0=$(rss)
# decoding - a 100 MP image (or more) charged to the decode budget
decoding() { uget /metrics | grep -q "^phmatchd_decode_pixels [1-9][0-9]\{7,\}$"; }
big 1 &
b1=$!
wait_until 200 decoding || t_diag "the first PNG's decode was not seen within 20 s"
big 2 &
b2=$!
# A photo is not charged to the budget: it goes through meanwhile.
t_is "a photo is hashed while a 100 MP PNG decodes" \
    "$(curl -s -m 20 --unix-socket "$S" -o /dev/null -w '%{http_code}' -H "$IMG" \
        --data-binary @"$JPG" http://x/v1/hash)" 200
wait $b1 $b2
t_is "two 100 MP PNGs at once over a 100 MP budget: one 200, one 503" \
    "$(cat "$T/big1" "$T/big2" | sort | tr -d '\n')" "200503"
t_like "... the 503 says why" "$(cat "$T/big1.out" "$T/big2.out")" \
    '"code":"overloaded".*max_decode_pixels'
t_like "... with Retry-After" "$(cat "$T/big1.h" "$T/big2.h")" 'Retry-After: 1'
t_like "... counted" "$(uget /metrics)" 'phmatchd_decode_budget_refused_total 1'
big 3
t_is "alone, the same PNG is hashed (the budget was given back)" "$(cat "$T/big3")" 200
t_like "... 10000x10000" "$(cat "$T/big3.out")" '"width":10000,"height":10000'
t_like "no pixels reserved once done" "$(uget /metrics)" 'phmatchd_decode_pixels 0'
t_like "worker buffers given back" "$(uget /metrics)" \
    'phmatchd_worker_trimmed_bytes_total [1-9][0-9]\{8,\}'
r=$(rss)
# Without trimming each worker keeps 300 MB of pixels; ASan's quarantine
# keeps freed memory on purpose, so the bound holds for plain builds only.
if [ "$asan" = 1 ]; then
    t_skip "VmRSS back under 150 MB after the big PNGs" "ASan build: freed memory is quarantined"
else
    t_ok "VmRSS back under 150 MB after the big PNGs (was ${rss0} MB, now ${r} MB)" \
        test "$r" -lt 150
fi
# A tall narrow image needs far more memory than its pixels: charged by row.
python3 "$ROOT/tools/mkbigpng.py" "$T/tall.png" 10 2000000 grey || t_fail "make a 10x2000000 PNG"
t_is "a 10x2000000 PNG (20 MP, 512 MB of hasher rows) is over the whole budget: 422" \
    "$(curl -s -m 20 --unix-socket "$S" -o "$T/out" -w '%{http_code}' \
        -H 'Content-Type: image/png' --data-binary @"$T/tall.png" http://x/v1/hash)" 422
t_like "... saying why" "$(body)" '"code":"too_large".*10x2000000 image needs the memory of 172000000 pixels'
t_is "and the server still answers" \
    "$(curl -s -m 20 --unix-socket "$S" -o /dev/null -w '%{http_code}' -H "$IMG" \
        --data-binary @"$JPG" http://x/v1/match)" 200
stop "$PID"

# ---------------------------------------------------------------------------
# Large images are decoded by the decode threads, not the request threads:
# while 2 clients flood the server with 100 MP PNGs (a second each to
# decode), a third client's photos keep their latency; every PNG is
# answered, 200 or 503 (decode_queue full), none lost.
if ! start flood --socket "$S" --index "$T/idx.phmi" --threads 2 --decode-queue 2; then
    t_fail "phmatchd starts"
    t_diag "$(cat "$T/flood.log")"
    t_done
fi
# 4 PNGs a client, to keep the decode threads busy while the victim's
# latency is measured; the ASan build's run, which skips that bound, sends
# 1 a client: the hand-offs happen all the same, and each 100 MP decode
# takes seconds there.
per=4
[ "$asan" = 1 ] && per=1
flood() { # flood N PATH - $per big PNGs one after the other; statuses to $T/flood.N
    _k=0
    while [ $_k -lt $per ]; do
        curl -s -m 60 --unix-socket "$S" -o /dev/null -w '%{http_code}\n' \
            -H 'Content-Type: image/png' --data-binary @"$T/big.png" "http://x$2"
        _k=$((_k + 1))
    done >"$T/flood.$1"
}
flood 1 /v1/hash &
f1=$!
flood 2 /v1/match &
f2=$!
wait_until 200 decoding || t_diag "no flood PNG was seen decoding within 20 s"
: >"$T/victim"
n=0
while [ $n -lt 30 ]; do
    curl -s -m 20 --unix-socket "$S" -o /dev/null -w '%{time_total} %{http_code}\n' \
        -H "$IMG" --data-binary @"$JPG" http://x/v1/match >>"$T/victim"
    n=$((n + 1))
done
wait $f1 $f2
t_is "the victim's 30 photos during the flood: all 200" \
    "$(awk '$2 == 200' "$T/victim" | wc -l | tr -d ' ')" 30
slow=$(sort -n "$T/victim" | tail -1 | cut -d' ' -f1)
t_diag "victim's slowest photo during the flood: $slow s"
# A bound on time, for the plain build, whose run has the machine to
# itself (tests/check.sh, alone); the ASan build's shares it with other
# tests, and its decode-thread hand-offs are checked by the rest.
if [ "$asan" = 1 ]; then
    t_skip "... each within 0.5 s (slowest $slow s)" \
        "ASan build: the latency bound is checked in the plain build's run"
else
    t_ok "... each within 0.5 s (slowest $slow s)" \
        awk -v t="$slow" 'BEGIN { exit !(t < 0.5) }'
fi
t_is "$((2 * per)) flood PNGs, each answered 200 or 503" \
    "$(cat "$T/flood.1" "$T/flood.2" | grep -c '^\(200\|503\)$')" $((2 * per))
t_ok "... most of them hashed" awk -v half="$per" '$0 == 200 { n++ } END { exit !(n >= half) }' \
    "$T/flood.1" "$T/flood.2"
# Shutdown with large images queued: they are answered (their hash, or
# 503 shutting_down), the server stops, nothing hangs.
big 4 &
b1=$!
big 5 &
b2=$!
big 6 &
b3=$!
# the 3 requests in progress, and the /metrics one that asks
wait_until 200 sh -c "curl -s -m 10 --unix-socket '$S' http://x/metrics |
    grep -q '^phmatchd_requests_in_progress [4-9]'" ||
    t_diag "the 3 PNGs were not seen in progress within 20 s"
kill -TERM "$PID"
_i=0
# 60 s: the image being decoded is finished first, and under ASan on a
# loaded 2-core machine one large PNG has taken over 20 s; a hang is forever.
while kill -0 "$PID" 2>/dev/null && [ $_i -lt 600 ]; do
    sleep 0.1
    _i=$((_i + 1))
done
t_ok "SIGTERM with large images queued: phmatchd stops within 60 s" \
    sh -c "! kill -0 $PID 2>/dev/null"
wait $b1 $b2 $b3
t_is "... the 3 PNGs each got an answer (200 or 503)" \
    "$(cat "$T/big4" "$T/big5" "$T/big6" | grep -o '200\|503' | wc -l | tr -d ' ')" 3
stop "$PID"

# A full decode_queue: 503 with Retry-After; images that wait longer than
# request_timeout for a decode thread are closed, not decoded, and the
# server goes on.
if ! start queue --socket "$S" --threads 2 --decode-queue 2 --request-timeout 1; then
    t_fail "phmatchd starts"
    t_diag "$(cat "$T/queue.log")"
    t_done
fi
for k in 7 8 9 10; do
    big $k &
    eval "q$k=\$!"
done
wait $q7 $q8 $q9 $q10
st=$(for k in 7 8 9 10; do printf '%s ' "$(cat "$T/big$k")"; done)
t_diag "4 PNGs at once, decode_queue 2, request_timeout 1: statuses $st(000: closed)"
t_like "over decode_queue: 503" "$st" '503'
t_like "... saying why" "$(cat "$T"/big7.out "$T"/big8.out "$T"/big9.out "$T"/big10.out 2>/dev/null)" \
    '"code":"overloaded","message":"too many large images or videos waiting to be decoded (decode_queue)'
t_like "... with Retry-After" "$(cat "$T"/big7.h "$T"/big8.h "$T"/big9.h "$T"/big10.h 2>/dev/null)" \
    'Retry-After: 1'
t_like "... counted" "$(uget /metrics)" 'phmatchd_decode_queue_refused_total [1-9]'
t_diag "closed by request_timeout: $(uget /metrics | sed -n 's/^phmatchd_request_timeouts_total //p')"
t_is "then a photo is hashed" \
    "$(curl -s -m 20 --unix-socket "$S" -o /dev/null -w '%{http_code}' -H "$IMG" \
        --data-binary @"$JPG" http://x/v1/hash)" 200
stop "$PID"
t_ok "phmatchd stopped" sh -c "! kill -0 $PID 2>/dev/null"
t_done

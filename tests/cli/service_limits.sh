#!/bin/sh
# service_limits.sh - phmatchd under the attacks of issue 12 (points 1 and
# 3), over real sockets on loopback: 1,100 idle connections from one
# address (max_connections_per_client), a connection that never sends its
# headers (header_timeout), connections that declare a 32 MiB body and send
# 2 bytes (body memory charged as bytes arrive), uploads that fill one
# client's share (max_body_memory_per_client), and more connections than
# max_connections (refused at once, not queued). Under each attack a
# second, well-behaved client (svc_client attack: lookups, matches and
# /healthz, a new connection each) must keep succeeding; its p99 during
# the attack and without one are printed as TAP comments ("# p99 ..."),
# asserted only against a generous bound (1 s).
#
# The attacker connects from 127.0.0.2 (still loopback: Linux routes all
# of 127.0.0.0/8 to lo), the well-behaved client from 127.0.0.1, so that
# they are two client addresses. Request counts are bounded; TAP on stdout.
. "$(dirname "$0")/lib.sh"
svc_need
if [ "$(uname -s)" != Linux ]; then
    echo "1..0 # SKIP needs Linux (a second loopback address, 127.0.0.2)"
    exit 0
fi

JPG=$IMAGES/misc-images/wee.jpg
TOKEN=admin-token-0123456789abcdef
printf 'ops admin %s\n' "$TOKEN" >"$T/tokens"
chmod 600 "$T/tokens"
HASH=$(printf '%064d' 0)
COUNT=${LIMITS_COUNT:-150}
BOUND_MS=1000

trap 'svc_kill_all; t_cleanup' EXIT

start() { svc_start "$@"; }

stop() { svc_stop "$1"; }

# attack NAME MODE N BODY [ADDR] - runs svc_client attack from 127.0.0.2
# against 127.0.0.1:$PORT (or ADDR); the result line goes to $T/NAME.res
# and its fields to the variables held, refused, ok, count, p50, p99, max.
attack() {
    "$CLIENT" attack "${5:-127.0.0.1:$PORT}" "$TOKEN" "$2" "$3" 127.0.0.2 "$4" "$COUNT" \
        "$JPG" "$HASH" >"$T/$1.res" 2>"$T/$1.err"
    _line=$(cat "$T/$1.res")
    held=$(echo "$_line" | sed -n 's/.*held=\([0-9]*\).*/\1/p')
    refused=$(echo "$_line" | sed -n 's/.*refused=\([0-9]*\).*/\1/p')
    ok=$(echo "$_line" | sed -n 's/.*ok=\([0-9]*\).*/\1/p')
    count=$(echo "$_line" | sed -n 's/.*count=\([0-9]*\).*/\1/p')
    p50=$(echo "$_line" | sed -n 's/.*p50_ms=\([0-9.]*\).*/\1/p')
    p99=$(echo "$_line" | sed -n 's/.*p99_ms=\([0-9.]*\).*/\1/p')
    max=$(echo "$_line" | sed -n 's/.*max_ms=\([0-9.]*\).*/\1/p')
    [ -n "$_line" ] || t_diag "$(cat "$T/$1.err")"
}
below() { awk -v a="${1:-x}" -v b="$2" 'BEGIN { exit !(a != "x" && a + 0 < b + 0) }'; }
metric() { # NAME-WITH-LABELS [SOCKET] - a counter's value, from /metrics
    curl -s -m 10 --unix-socket "$S" "http://localhost/metrics" |
        awk -v n="$1" '$1 == n { print $2 }'
}

"$CLIENT" mkindex "$T/idx.phmi" 1000 7 || { t_fail "make the test index"; t_done; }

# ---------------------------------------------------------------------------
# Defaults (max_connections_per_client 64, max_body 32 MiB, 512 MiB of body
# memory), a short header_timeout and a long connection_timeout. The idle
# attack's 64 kept connections must outlive its 1,100 connects and its 1 s
# window: with header_timeout 2 s one loaded check (ASan build, every test
# of make check beside it) saw all 1,100 closed, likely a connect that
# waited a second for a SYN the full backlog (511) dropped. 3 s leaves a
# second more there, and check 2 below still bounds the close at 6 s.

S=$T/a.sock
if ! start main --socket "$S" --listen 127.0.0.1:0 --tokens "$T/tokens" --threads 2 \
    --index "$T/idx.phmi" --header-timeout 3 --connection-timeout 60; then
    t_fail "phmatchd starts"
    t_diag "$(cat "$T/main.log")"
    t_done
fi
MAIN=$PID

attack base none 0 0
t_is "no attack: the client's $COUNT requests succeed" "$ok/$count" "$COUNT/$COUNT"
base_p99=$p99
echo "# p99 without attack: ${p99} ms (p50 ${p50} ms, max ${max} ms, $COUNT requests)"

# 1. Connection exhaustion from one address.
attack idle idle 1100 0
t_is "1,100 idle connections from 127.0.0.2: 64 kept (max_connections_per_client)" \
    "$held" 64
t_is "... the other 1,036 closed at once (within 1 s)" "$refused" 1036
t_is "... another client's requests all succeed meanwhile" "$ok/$count" "$COUNT/$COUNT"
t_ok "... p99 $p99 ms < $BOUND_MS ms" below "$p99" "$BOUND_MS"
echo "# p99 during 1,100 idle connections from one address: ${p99} ms (without attack: ${base_p99} ms; max ${max} ms)"
t_like "... counted: phmatchd_connections_refused_total{reason=\"per_client\"}" \
    "$(metric 'phmatchd_connections_refused_total{reason="per_client"}')" '^1036$'

# 2. A connection that never sends its headers: header_timeout (3 s), not
# connection_timeout (60 s).
s=$("$CLIENT" idle "127.0.0.1:$PORT" 15)
t_ok "a connection that sends nothing is closed by header_timeout ($s s)" \
    awk -v s="$s" 'BEGIN { exit !(s != "open" && s + 0 >= 1.5 && s + 0 < 6) }'
t_like "... counted: phmatchd_header_timeouts_total" \
    "$(metric phmatchd_header_timeouts_total)" '^[1-9]'

# 3. Body-memory starvation: bodies declared at 32 MiB, 2 bytes sent.
attack body body 40 2
t_is "40 uploads declaring 32 MiB (1.25 GiB, over max_body_memory) and sending 2 bytes: all kept open" \
    "$held" 40
t_is "... another client's matches and lookups all succeed meanwhile" "$ok/$count" \
    "$COUNT/$COUNT"
t_ok "... p99 $p99 ms < $BOUND_MS ms" below "$p99" "$BOUND_MS"
echo "# p99 during 40 stalled uploads declaring 32 MiB: ${p99} ms (without attack: ${base_p99} ms; max ${max} ms)"
t_is "... no body refused for memory" \
    "$(metric 'phmatchd_body_memory_refused_total{reason="total"}')" 0
t_is "the server still answers /healthz" \
    "$(curl -s -m 10 -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PORT/healthz")" 200
stop "$MAIN"
t_is "phmatchd stops cleanly" "$RC" 0

# ---------------------------------------------------------------------------
# One client's share of body memory: 4 MiB in all, 2 MiB per client, 1 MiB
# per body. The attacker sends all but the last byte of four 1 MiB bodies
# and stalls: two fit in its share, the others are refused, and 2 MiB stay
# for everyone else.

S=$T/b.sock
if start share --socket "$S" --listen 127.0.0.1:0 --tokens "$T/tokens" --threads 2 \
    --index "$T/idx.phmi" --max-body 1MiB --max-body-memory 4MiB \
    --max-body-memory-per-client 2MiB; then
    attack share body 4 1048575:1048576
    t_is "4 stalled 1 MiB uploads from one address: another client's requests all succeed" \
        "$ok/$count" "$COUNT/$COUNT"
    t_ok "... p99 $p99 ms < $BOUND_MS ms" below "$p99" "$BOUND_MS"
    echo "# p99 during 4 stalled 1 MiB uploads (per-client share 2 MiB of 4 MiB): ${p99} ms (without attack: ${base_p99} ms; max ${max} ms)"
    t_is "... two uploads refused for the client's share" \
        "$(metric 'phmatchd_body_memory_refused_total{reason="per_client"}')" 2
    t_is "... and nothing held after" "$(metric phmatchd_request_body_bytes)" 0
    stop "$PID"
else
    t_fail "phmatchd starts (share)"
    t_diag "$(cat "$T/share.log")"
fi

# ---------------------------------------------------------------------------
# More connections than max_connections (32): the excess is closed at once,
# not left in the listen queue; the Unix socket, a listener of its own,
# keeps serving; the TCP listener serves again once they are gone.

S=$T/c.sock
if start total --socket "$S" --listen 127.0.0.1:0 --tokens "$T/tokens" --threads 2 \
    --index "$T/idx.phmi" --max-connections 32; then
    attack total idle 100 0 "127.0.0.1:$PORT,$S"
    t_is "100 idle connections, max_connections 32: 32 kept" "$held" 32
    t_is "... 68 closed at once (within 1 s)" "$refused" 68
    t_is "... a client on the Unix socket: all succeed" "$ok/$count" "$COUNT/$COUNT"
    t_ok "... p99 $p99 ms < $BOUND_MS ms" below "$p99" "$BOUND_MS"
    echo "# p99 on the Unix socket while TCP is at max_connections: ${p99} ms (max ${max} ms)"
    t_like "... counted: phmatchd_connections_refused_total{reason=\"total\"}" \
        "$(metric 'phmatchd_connections_refused_total{reason="total"}')" '^6[89]$\|^[7-9][0-9]$'
    all=$COUNT
    COUNT=30
    attack total-tcp idle 100 0
    COUNT=$all
    t_is "a TCP client while the listener is full: refused, not served" "$ok" 0
    t_ok "... at once, not queued (slowest refusal $max ms < $BOUND_MS ms)" below "$max" "$BOUND_MS"
    t_is "... and served once the connections are gone" \
        "$(curl -s -m 10 -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PORT/healthz")" 200
    stop "$PID"
    t_is "phmatchd stops cleanly" "$RC" 0
else
    t_fail "phmatchd starts (total)"
    t_diag "$(cat "$T/total.log")"
fi

t_is "no sanitizer report in any server's log" \
    "$(cat "$T"/*.log | grep -c -e 'Sanitizer' -e 'runtime error')" 0
t_done

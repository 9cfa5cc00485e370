#!/bin/sh
# replicas.sh - phmatchd replicas behind HAProxy (issue 16, item 4), as
# docs/DEPLOY.md describes them: a writable primary, two --read-only
# replicas on loopback behind Debian's haproxy running
# tools/haproxy/phmatch-replicas.cfg (health checks on /readyz, retries,
# redispatch), and tools/snapshot-loop.sh renaming a fresh snapshot over
# each replica's file every second. During a bounded wrk run of lookups
# through HAProxy, one replica restarts (SIGTERM drain, start again) and
# the index is swapped for newer snapshots: wrk must report no non-2xx
# answer and no socket error; a hash added to the primary must be found
# through HAProxy within ADD_TO_HIT_MAX seconds (measured: add, then poll).
# Needs haproxy, wrk, curl, python3 (make deps installs them).
. "$(dirname "$0")/lib.sh"

case $BUILD in
/*) D=$BUILD ;;
*) D=$ROOT/$BUILD ;;
esac
PHMATCHD=$D/phmatchd
CFG=$ROOT/tools/haproxy/phmatch-replicas.cfg
LOOP=$ROOT/tools/snapshot-loop.sh
ADD_TO_HIT_MAX=10 # seconds: snapshot period 1 s + replica check 1 s + margin
WRK_SECONDS=8
pids=
hp=
loop=
wp=
cleanup() {
    for p in $wp $loop $hp; do kill "$p" 2>/dev/null; done
    svc_kill_all
    t_cleanup
}
trap cleanup EXIT

for tool in haproxy wrk curl python3; do
    if ! t_have $tool; then
        echo "1..0 # SKIP $tool not installed (make deps installs it)"
        exit 0
    fi
done
if [ ! -x "$PHMATCHD" ]; then
    t_fail "built: $PHMATCHD"
    t_done
fi

# free_port - a TCP port the kernel gives and that is free right now
free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
# now - seconds since the epoch, with fractions
now() { python3 -c 'import time; print("%.3f" % time.time())'; }
ADMIN=replicas-admin-0123456789abcdef
LOOKUP=replicas-lookup-0123456789abcdef
printf 'ops admin %s\nreader lookup %s\n' "$ADMIN" "$LOOKUP" >"$T/tokens"
chmod 600 "$T/tokens"
JSON="Content-Type: application/json"

# ---- the primary: writable, where adds go ----
gen_hashes 5000 16 base >"$T/base.tsv"
"$PHMATCH" index create "$T/primary.phmi" >/dev/null
"$PHMATCH" index import "$T/primary.phmi" "$T/base.tsv" >/dev/null
svc_start primary --index "$T/primary.phmi" --socket '' --listen 127.0.0.1:0 \
    --tokens "$T/tokens" || t_fail "the primary starts"
PRIMARY=$PORT

# ---- two read-only replicas on ports chosen now (HAProxy's config) ----
P1=$(free_port)
P2=$(free_port)
"$PHMATCH" index snapshot "$T/primary.phmi" "$T/r1.phmi" >/dev/null
"$PHMATCH" index snapshot "$T/primary.phmi" "$T/r2.phmi" >/dev/null
replica() { # NAME PORT
    svc_start "$1" --index "$T/$1.phmi" --read-only --socket '' \
        --listen "127.0.0.1:$2" --tokens "$T/tokens" --shutdown-timeout 10
}
replica r1 "$P1" || t_fail "replica 1 starts"
R1=$PID
replica r2 "$P2" || t_fail "replica 2 starts"

# ---- HAProxy, with the example configuration as it is ----
HP=$(free_port)
PHM_FRONTEND=127.0.0.1:$HP PHM_REPLICA1=127.0.0.1:$P1 PHM_REPLICA2=127.0.0.1:$P2 \
    haproxy -db -f "$CFG" >"$T/haproxy.log" 2>&1 &
hp=$!
up() { [ "$(curl -s -m 5 -o /dev/null -w '%{http_code}' "http://127.0.0.1:$HP/readyz")" = 200 ]; }
i=0
until up || [ $i -ge 100 ]; do
    sleep 0.1
    i=$((i + 1))
done
t_ok "haproxy runs tools/haproxy/phmatch-replicas.cfg and reaches a replica" up
# lookup_hp HASH - the ids a lookup through HAProxy finds at distance 0
lookup_hp() {
    curl -s -m 5 -H "Authorization: Bearer $LOOKUP" -H "$JSON" \
        -d "{\"hashes\":[\"$1\"],\"max_distance\":0}" "http://127.0.0.1:$HP/v1/lookup" |
        sed -n 's/.*"id":"\([^"]*\)".*/\1/p'
}
h1=$(sed -n 2p "$T/base.tsv" | cut -f1)
t_is "a lookup through HAProxy" "$(lookup_hp "$h1")" base0

# ---- the snapshot loop ----
PHMATCH=$PHMATCH sh "$LOOP" -i 1 "$T/primary.phmi" "$T/r1.phmi" "$T/r2.phmi" \
    2>"$T/loop.log" &
loop=$!

# ---- load: wrk posts lookups through HAProxy for WRK_SECONDS ----
swaps_before=$(cat "$T/r1.log" "$T/r2.log" | grep -c 'index swapped')
wrk_lookups "http://127.0.0.1:$HP/v1/lookup" "$LOOKUP" \
    "{\"hashes\":[\"$h1\"],\"max_distance\":31}" $WRK_SECONDS "$T/wrk.out" &
wp=$!
sleep 1.5

# replica 1 restarts: SIGTERM (it drains what it has), then starts again
svc_stop "$R1"
t_is "replica 1: SIGTERM drains and exits 0 during the run" "$RC" 0
mv "$T/r1.log" "$T/r1-first.log"
replica r1 "$P1" || t_fail "replica 1 starts again"

# an add on the primary, then poll HAProxy until a replica finds it
NEW=$(python3 -c 'import random; r = random.Random(99); print("%064x" % sum(1 << b for b in r.sample(range(256), 128)))')
t0=$(now)
code=$(curl -s -m 10 -o "$T/add.out" -w '%{http_code}' -H "Authorization: Bearer $ADMIN" \
    -H "$JSON" -d "{\"hash\":\"$NEW\",\"source\":\"fresh\",\"id\":\"fresh0\"}" \
    "http://127.0.0.1:$PRIMARY/v1/index/entries")
t_is "an add on the primary: 200" "$code" 200
hit=
while :; do
    if [ "$(lookup_hp "$NEW")" = fresh0 ]; then
        hit=$(now)
        break
    fi
    python3 -c "import sys; sys.exit(0 if $(now) - $t0 < 30 else 1)" || break
    sleep 0.1
done
if [ -n "$hit" ]; then
    latency=$(python3 -c "print('%.2f' % ($hit - $t0))")
    t_ok "... found through HAProxy within $ADD_TO_HIT_MAX s (took $latency s)" \
        python3 -c "import sys; sys.exit(0 if $latency <= $ADD_TO_HIT_MAX else 1)"
else
    latency=none
    t_fail "... found through HAProxy within $ADD_TO_HIT_MAX s (not in 30 s)"
fi

wait $wp
wp=
wrk_parse "$T/wrk.out"
t_ok "wrk: requests were served" test "$WRK_TOTAL" -gt 0
t_is "wrk: no non-2xx answer (requests lost during restart and swaps)" "$WRK_NON2XX" 0
t_is "wrk: no socket error" "$WRK_SOCKERR" none
[ "$WRK_NON2XX$WRK_SOCKERR" = 0none ] || t_diag "$(cat "$T/wrk.out")"
swaps=$(($(cat "$T/r1-first.log" "$T/r1.log" "$T/r2.log" | grep -c 'index swapped') - swaps_before))
t_ok "the replicas swapped their index during the run ($swaps swaps)" test $swaps -ge 2
t_like "... logging the new entry count" "$(cat "$T/r2.log")" \
    'index swapped (file replaced): .*r2.phmi: 5001 entries'
t_diag "FIGURES: $WRK_TOTAL lookups through HAProxy in $WRK_SECONDS s, failed: $WRK_NON2XX non-2xx, socket errors: $WRK_SOCKERR; replica restart: 1; index swaps: $swaps; add-to-hit: $latency s"

kill $loop 2>/dev/null
wait $loop 2>/dev/null
loop=
t_is "the snapshot loop reported no failed round" "$(grep -c failed "$T/loop.log")" 0
kill $hp 2>/dev/null
wait $hp 2>/dev/null
hp=
t_done

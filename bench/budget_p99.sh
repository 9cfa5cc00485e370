#!/bin/sh
# bench/budget_p99.sh BUILD_DIR [PHMATCHD] - a well-behaved client's latency
# while others attack with what issue 12 points 2 and 7 name (not a test):
#   cost:   2 clients with a lookup token send /v1/lookup of 1,000 random
#           hashes at max_distance 64, over and over;
#   decode: 2 clients send a 100-megapixel PNG of ~300 KB (tools/mkbigpng.py)
#           to /v1/hash, over and over.
# Meanwhile the victim (another lookup token) sends 200 requests one after
# the other: a 1-hash lookup at 31 during "cost", a 0.3 MP JPEG to /v1/hash
# during "decode". Prints the victim's p50/p99/max (curl's time_total) and
# statuses, and the attackers' statuses. phmatchd (default
# BUILD_DIR/phmatchd; give another build to compare) runs on 127.0.0.1 with
# 2 request threads, against an index of 1 M random entries (made once by
# svc_client mkindex, kept in BUILD_DIR/bench/p99/); PHMATCHD_ARGS adds
# settings (e.g. --max-decode-pixels 100000000). Needs curl, python3.
set -eu
cd "$(dirname "$0")/.."
build=${1:-build}
daemon=${2:-$build/phmatchd}
out=$build/bench/p99
mkdir -p "$out"
[ -s "$out/big.png" ] || python3 tools/mkbigpng.py "$out/big.png"
[ -s "$out/idx.phmi" ] || "$build/tests/service/svc_client" mkindex "$out/idx.phmi" 1000000 7
printf 'ops admin admin-token-0123456789abcdef\natt lookup attacker-token-0123456789abcdef\nvic lookup victim-token-0123456789abcdef\n' >"$out/tokens"
chmod 600 "$out/tokens"
python3 - "$out" <<'PY'
import json, random, sys
random.seed(5)
h = ["%064x" % random.getrandbits(256) for _ in range(1000)]
open(sys.argv[1] + "/att.json", "w").write(json.dumps({"hashes": h, "max_distance": 64}))
open(sys.argv[1] + "/vic.json", "w").write(json.dumps({"hashes": h[:1], "max_distance": 31}))
PY
"$daemon" --socket '' --listen 127.0.0.1:0 --tokens "$out/tokens" --index "$out/idx.phmi" \
    --threads 2 --max-batch 1000 --log-level info ${PHMATCHD_ARGS:-} 2>"$out/phmatchd.log" &
pid=$!
trap 'kill "$pid" 2>/dev/null || true' EXIT
i=0
while ! grep -q 'ready:' "$out/phmatchd.log" && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
port=$(sed -n 's/.*listening on tcp 127\.0\.0\.1:\([0-9]*\).*/\1/p' "$out/phmatchd.log")
url=http://127.0.0.1:$port
att='Authorization: Bearer attacker-token-0123456789abcdef'
vic='Authorization: Bearer victim-token-0123456789abcdef'
jpg=tests/data/pdq/images/bridge-mods/aaa-orig.jpg

attacker() { # attacker KIND FILE - until $out/stop exists
    while [ ! -e "$out/stop" ]; do
        if [ "$1" = cost ]; then
            curl -s -m 60 -o /dev/null -w '%{http_code}\n' -H "$att" \
                -H 'Content-Type: application/json' --data-binary @"$out/att.json" "$url/v1/lookup"
        else
            curl -s -m 60 -o /dev/null -w '%{http_code}\n' -H "$att" \
                -H 'Content-Type: image/png' --data-binary @"$out/big.png" "$url/v1/hash"
        fi
    done >"$2"
}
victim() { # victim KIND - 200 requests, time_total and status per line
    n=0
    while [ $n -lt 200 ]; do
        if [ "$1" = cost ]; then
            curl -s -m 60 -o /dev/null -w '%{time_total} %{http_code}\n' -H "$vic" \
                -H 'Content-Type: application/json' --data-binary @"$out/vic.json" "$url/v1/lookup"
        else
            curl -s -m 60 -o /dev/null -w '%{time_total} %{http_code}\n' -H "$vic" \
                -H 'Content-Type: image/jpeg' --data-binary @"$jpg" "$url/v1/hash"
        fi
        n=$((n + 1))
    done
}
report() { # report FILE
    sort -n "$1" | awk '{ t[NR] = $1; s[$2]++ } END {
        p50 = t[int(NR * 0.5) + 0]; p99 = t[int(NR * 0.99) + 0]
        printf "p50 %.1f ms, p99 %.1f ms, max %.1f ms; statuses:", p50 * 1000, p99 * 1000, t[NR] * 1000
        for (k in s) printf " %s x%d", k, s[k]; printf "\n" }'
}
for kind in none cost decode; do
    rm -f "$out/stop"
    a1=
    a2=
    if [ $kind != none ]; then
        attacker $kind "$out/att1" &
        a1=$!
        attacker $kind "$out/att2" &
        a2=$!
        sleep 1
    fi
    victim "${kind#none}" >"$out/victim.$kind"
    [ "$kind" = none ] && victim cost >"$out/victim.none-lookup"
    touch "$out/stop"
    [ -n "$a1" ] && wait $a1 $a2
    if [ $kind = none ]; then
        echo "no attack, /v1/hash 0.3 MP JPEG: $(report "$out/victim.none")"
        echo "no attack, /v1/lookup 1 hash:    $(report "$out/victim.none-lookup")"
    else
        echo "attack $kind: victim $(report "$out/victim.$kind")"
        echo "    attackers: $(cat "$out/att1" "$out/att2" | sort | uniq -c | tr -s ' \n' ' ')"
    fi
done

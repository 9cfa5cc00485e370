#!/bin/sh
# bench/service_rss.sh BUILD_DIR [PHMATCHD] - phmatchd's memory after 1,000
# mixed requests that include the worst images max_pixels allows (issue 12,
# point 2). Not a test (tests/cli/service_budget.sh asserts a bound).
#
# Starts PHMATCHD (default BUILD_DIR/phmatchd) on a Unix socket with 4
# request threads (so 4 workers) and an index of 10,000 random entries, then
# 4 clients send 250 requests each, in parallel: every 25th a 100-megapixel
# RGB PNG of ~300 KB (tools/mkbigpng.py: 300 MB decoded) to /v1/hash, the
# others in turn a 0.3 MP JPEG to /v1/match, the same to /v1/hash with
# ?dihedral=1, and a /v1/lookup of 10 hashes. Prints the answers by status
# and VmRSS / VmHWM from /proc/PID/status after the requests, and again
# after 2 s idle. Give a phmatchd built from another commit as PHMATCHD to
# compare. Needs curl and python3. About a minute.
set -eu
cd "$(dirname "$0")/.."
build=${1:-build}
daemon=${2:-$build/phmatchd}
out=$build/bench/rss
mkdir -p "$out"
rm -f "$out"/*.status "$out/s.sock"
[ -s "$out/big.png" ] || python3 tools/mkbigpng.py "$out/big.png"
[ -s "$out/idx.phmi" ] || "$build/tests/service/svc_client" mkindex "$out/idx.phmi" 10000 7
jpg=tests/data/pdq/images/bridge-mods/aaa-orig.jpg
"$daemon" --socket "$out/s.sock" --index "$out/idx.phmi" --threads 4 --log-level warn \
    2>"$out/phmatchd.log" &
pid=$!
trap 'kill "$pid" 2>/dev/null || true' EXIT
i=0
while [ ! -S "$out/s.sock" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
hashes='"0000000000000000000000000000000000000000000000000000000000000000"'
for k in 1 2 3 4 5 6 7 8 9; do hashes="$hashes,\"$(printf '%064x' "$k")\""; done

rss() { awk '/^VmRSS|^VmHWM/ { printf "%s %d MB  ", $1, $2 / 1024 }' "/proc/$pid/status"; }
echo "phmatchd: $daemon (pid $pid), after start: $(rss)"
client() {
    n=0
    while [ $n -lt 250 ]; do
        u=--unix-socket
        if [ $((n % 25)) -eq 0 ]; then
            s=$(curl -s -m 60 $u "$out/s.sock" -o /dev/null -w '%{http_code}' \
                -H 'Content-Type: image/png' --data-binary @"$out/big.png" http://x/v1/hash)
            echo "big $s"
        else
            case $((n % 3)) in
            0) s=$(curl -s -m 20 $u "$out/s.sock" -o /dev/null -w '%{http_code}' \
                -H 'Content-Type: image/jpeg' --data-binary @"$jpg" http://x/v1/match) ;;
            1) s=$(curl -s -m 20 $u "$out/s.sock" -o /dev/null -w '%{http_code}' \
                -H 'Content-Type: image/jpeg' --data-binary @"$jpg" 'http://x/v1/hash?dihedral=1') ;;
            *) s=$(curl -s -m 20 $u "$out/s.sock" -o /dev/null -w '%{http_code}' \
                -H 'Content-Type: application/json' -d "{\"hashes\":[$hashes]}" \
                http://x/v1/lookup) ;;
            esac
            echo "small $s"
        fi
        n=$((n + 1))
    done >"$out/$1.status"
}
t0=$(date +%s)
client 1 &
p1=$!
client 2 &
p2=$!
client 3 &
p3=$!
client 4 &
p4=$!
wait $p1 $p2 $p3 $p4
t1=$(date +%s)
echo "1000 requests in $((t1 - t0)) s; answers:"
cat "$out"/*.status | sort | uniq -c | sed 's/^/  /'
echo "after the requests: $(rss)"
sleep 2
echo "after 2 s idle:     $(rss)"
curl -s --unix-socket "$out/s.sock" http://x/metrics |
    grep -E '^phmatchd_(decode|worker_trimmed|overloaded)' | sed 's/^/  /' || true

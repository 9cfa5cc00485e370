#!/bin/sh
# governance.sh - what the index's governance costs `phmatch lookup`: an
# index of N random PDQ hashes in 4 sources, Q queries each within 8 bits
# of an entry (so every query matches, and every match goes through the
# per-hit rules), looked up (CPU seconds, user + system; 3 runs, the
# median) with no settings, then with settings stored for every source
# (max_distance, min_quality), then also with 1 % of source s0's entries
# disabled and s3 a suppression source of distance 0 (a query equal to
# one of its entries is suppressed; the others no longer match s3). Prints the medians and the
# ratios to the first. Not part of `make check`. From the top directory,
# after `make`:   sh bench/governance.sh [N [Q]]
set -eu
N=${1:-200000}
Q=${2:-50000}
P=${PHMATCH:-build/phmatch}
W=$(mktemp -d "${TMPDIR:-/tmp}/phm-govbench.XXXXXX")
trap 'rm -rf "$W"' EXIT

python3 - "$N" "$Q" "$W" <<'PY'
import random, sys
n, q, w = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
r = random.Random(14)
hs = [r.getrandbits(256) for _ in range(n)]
for s in range(4):
    with open("%s/s%d.pdq" % (w, s), "w") as f:
        for i in range(s, n, 4):
            f.write("%064x,90,e%d\n" % (hs[i], i))
with open(w + "/q.txt", "w") as f:
    for _ in range(q):
        h = hs[r.randrange(n)]
        for b in r.sample(range(256), r.randint(0, 8)):
            h ^= 1 << b
        f.write("%064x\n" % h)
with open(w + "/dis.txt", "w") as f:
    f.write(" ".join("e%d" % i for i in range(0, n, 400)))
PY
DB=$W/b.phmi
"$P" index create "$DB"
for s in 0 1 2 3; do "$P" index import --source "s$s" "$DB" "$W/s$s.pdq" >/dev/null; done
"$P" index compact "$DB"

run() { # the median of 3 CPU times (user + system) of a lookup of every
    # query: CPU rather than wall time, steadier on a shared machine
    for i in 1 2 3; do
        /usr/bin/time -f '%U %S' -o "$W/time" "$P" lookup --index "$DB" "$W/q.txt" >/dev/null
        awk '{ print $1 + $2 }' "$W/time"
    done | sort -n | sed -n 2p
}
"$P" lookup --index "$DB" "$W/q.txt" >/dev/null # warm the page cache
base=$(run)
for s in 0 1 2 3; do "$P" index source set "$DB" "s$s" --max-distance 31 --min-quality 0 >/dev/null; done
set1=$(run)
# shellcheck disable=SC2046 # the ids, one argument each
"$P" index disable "$DB" --source s0 $(cat "$W/dis.txt") 2>/dev/null
"$P" index source set "$DB" s3 --kind suppression --max-distance 0 >/dev/null
set2=$(run)
matched=$("$P" lookup --index "$DB" "$W/q.txt" | awk -F '\t' '$4 == "match"' | wc -l)
echo "governance: $N entries, $Q queries (each within 8 bits of an entry), lookup CPU s, median of 3"
printf '  no settings                         %8.3f s\n' "$base"
printf '  settings on every source            %8.3f s  x%.3f\n' "$set1" "$(echo "$set1 / $base" | bc -l)"
printf '  + disabled, a suppression source    %8.3f s  x%.3f  (%s matches)\n' "$set2" \
    "$(echo "$set2 / $base" | bc -l)" "$matched"

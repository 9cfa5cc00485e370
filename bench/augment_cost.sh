#!/bin/sh
# bench/augment_cost.sh [N] [K] - what stored variants cost: an index of N
# random image entries (default 200,000) without variants and with K each
# (default 15; --augment's set is 23), both compacted; prints the used
# bytes per entry and the lookup time of 20,000 queries at radius 31 (half
# near an entry's own hash or one of its variants, half unrelated), median
# of 5 runs, and the matches found (the same entries either way for the
# queries near the own hashes). Env: PHMATCH (default build/phmatch),
# WORK (scratch directory, removed unless given).
set -eu
N=${1:-200000}
PHMATCH=${PHMATCH:-build/phmatch}
K=${2:-15}
keep=${WORK:+1}
WORK=${WORK:-$(mktemp -d /tmp/phm-augcost.XXXXXX)}
mkdir -p "$WORK"
python3 - "$N" "$K" "$WORK" <<'PY'
import json, random, sys
n, k, w = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
names = ["crop5-c", "crop10-c", "crop15-c", "crop5-tl", "crop5-tr", "crop5-bl",
         "crop5-br", "crop15-tl", "crop15-tr", "crop15-bl", "crop15-br", "rot+5",
         "rot-5", "rot+5-crop", "rot-5-crop", "gamma-up", "gamma-down", "blur",
         "down25", "crop8-tl", "crop8-tr", "crop8-bl", "crop8-br", "crop20-c"][:k]
rnd = random.Random(1)
def h():
    while True:
        x = rnd.getrandbits(256)
        if 100 <= bin(x).count("1") <= 156:
            return "%064x" % x
def near(hx, d):
    x = int(hx, 16)
    for b in rnd.sample(range(256), d):
        x ^= 1 << b
    return "%064x" % x
with open(w + "/plain.jsonl", "w") as p, open(w + "/aug.jsonl", "w") as a, \
        open(w + "/q.txt", "w") as q:
    for i in range(n):
        own = h()
        var = {nm: h() for nm in names}
        e = {"hash": own, "quality": 100, "source": "s", "id": "e%07d" % i}
        p.write(json.dumps(e) + "\n")
        e["variants"] = var
        a.write(json.dumps(e) + "\n")
        if i < 10000:
            q.write(near(own if i % 2 or not k else var[names[i % k]], 10) + "\n")
    for i in range(10000):
        q.write(h() + "\n")
PY
for kind in plain aug; do
    db="$WORK/$kind.phmi"
    rm -f "$db" "$db-lock"
    "$PHMATCH" index create "$db"
    "$PHMATCH" index import "$db" "$WORK/$kind.jsonl" > /dev/null
    "$PHMATCH" index compact "$db"
done
printf 'index\tentries\tslots\tused_bytes/entry\tlookup ms (20,000 queries)\tmatches\n'
for kind in plain aug; do
    db="$WORK/$kind.phmi"
    st=$("$PHMATCH" index stats "$db")
    ent=$(printf '%s\n' "$st" | awk '$1 == "entries" { print $2 }')
    slots=$(printf '%s\n' "$st" | awk '$1 == "base_entries" { print $2 }')
    used=$(printf '%s\n' "$st" | awk '$1 == "used_bytes" { print $2 }')
    ms=$(for r in 1 2 3 4 5; do
        t0=$(date +%s%N)
        "$PHMATCH" lookup --index "$db" "$WORK/q.txt" > "$WORK/out.tsv"
        t1=$(date +%s%N)
        echo $(((t1 - t0) / 1000000))
    done | sort -n | sed -n 3p)
    m=$(awk -F '\t' 'NR > 1 && $4 == "match"' "$WORK/out.tsv" | wc -l)
    printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$kind" "$ent" "$slots" $((used / ent)) "$ms" "$m"
done
[ -n "$keep" ] || rm -rf "$WORK"

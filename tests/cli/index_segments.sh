#!/bin/sh
# index_segments.sh - the base's hashes in several 'H' segments (LMDB
# writes no value of 2 GiB or more, so an index past 2^25 hashes has
# several; PHM_INDEX_TEST_HSEG makes them 128 hashes here): searches,
# exports and verify give what the one-segment file gives, after a first
# import, after adds merged by a rebuild, and after removals shrink the
# base to fewer segments (the stale ones deleted); and with the base's
# arrays copied (lookup --hot-copy, phmatchd --index-hot-copy). Needs python3 and
# mdb_dump (lmdb-utils) for the segment count.
. "$(dirname "$0")/lib.sh"
trap 't_cleanup' EXIT

if ! t_have python3; then
    echo "1..0 # SKIP python3 needed (make deps installs it)"
    exit 0
fi

# segs DB - how many 'H' segment keys (01 48 kk 00) the search table holds
segs() {
    mdb_dump -n -s search "$1" | grep -c '^ 0148..00$'
}

gen_hashes 5000 7 s >"$T/base.tsv"
gen_hashes 3000 8 t >"$T/more.tsv"
# queries: 300 stored hashes with a few bits flipped, 100 random
python3 - "$T/base.tsv" >"$T/q.txt" <<'PYEOF'
import random, sys
r = random.Random(3)
rows = [l.split('\t')[0] for l in open(sys.argv[1]).read().split('\n')[1:] if l]
for h in r.sample(rows, 300):
    v = int(h, 16)
    for _ in range(r.randint(0, 20)):
        v ^= 1 << r.randrange(256)
    print('%064x' % v)
for _ in range(100):
    print('%064x' % r.getrandbits(256))
PYEOF

for db in one many; do
    hseg=
    [ $db = many ] && hseg=128
    PHM_INDEX_TEST_HSEG=$hseg "$PHMATCH" index create "$T/$db.phmi" >/dev/null
    PHM_INDEX_TEST_HSEG=$hseg "$PHMATCH" index import "$T/$db.phmi" "$T/base.tsv" >/dev/null
    # a first import this small stays in the delta: compact builds the base
    PHM_INDEX_TEST_HSEG=$hseg "$PHMATCH" index compact "$T/$db.phmi" >/dev/null
done
t_is "one segment by default" "$(segs "$T/one.phmi")" 1
t_is "5,000 hashes in 128-hash segments: 40 of them" "$(segs "$T/many.phmi")" 40
look() { "$PHMATCH" lookup --index "$1" --format tsv --max-distance 31 "$T/q.txt" 2>&1; }
t_is "lookups: the same hits" "$(look "$T/many.phmi")" "$(look "$T/one.phmi")"
t_ok "lookups found something" test "$(look "$T/one.phmi" | wc -l)" -gt 300
# --hot-copy (PHM_INDEX_HOT_COPY): the base's arrays copied, segments and all
hot() { "$PHMATCH" lookup --hot-copy -j 1 --index "$1" --format tsv --max-distance 31 "$T/q.txt" 2>&1; }
t_is "lookups --hot-copy: the same hits (one segment)" "$(hot "$T/one.phmi")" "$(look "$T/one.phmi")"
t_is "lookups --hot-copy: the same hits (40 segments)" "$(hot "$T/many.phmi")" "$(look "$T/one.phmi")"
exp() { "$PHMATCH" index export --format jsonl "$1" | sed 's/"added":"[^"]*"//'; }
t_is "exports equal" "$(exp "$T/many.phmi")" "$(exp "$T/one.phmi")"
t_is "verify" "$("$PHMATCH" index verify "$T/many.phmi" 2>&1)" "$T/many.phmi: ok"

# adds past the delta's limit: a rebuild merges the segmented base
for db in one many; do
    hseg=
    [ $db = many ] && hseg=128
    PHM_INDEX_TEST_HSEG=$hseg "$PHMATCH" index import "$T/$db.phmi" "$T/more.tsv" >/dev/null
    PHM_INDEX_TEST_HSEG=$hseg "$PHMATCH" index compact "$T/$db.phmi" >/dev/null
done
t_is "8,000 hashes: 63 segments" "$(segs "$T/many.phmi")" 63
t_is "after the rebuild: the same hits" "$(look "$T/many.phmi")" "$(look "$T/one.phmi")"
t_is "after the rebuild: --hot-copy, the same hits" "$(hot "$T/many.phmi")" "$(look "$T/one.phmi")"
t_is "after the rebuild: verify" "$("$PHMATCH" index verify "$T/many.phmi" 2>&1)" "$T/many.phmi: ok"

# removing a source shrinks the base: the segments past its end go
for db in one many; do
    hseg=
    [ $db = many ] && hseg=128
    PHM_INDEX_TEST_HSEG=$hseg "$PHMATCH" index remove "$T/$db.phmi" --source s --all >/dev/null
    PHM_INDEX_TEST_HSEG=$hseg "$PHMATCH" index compact "$T/$db.phmi" >/dev/null
done
t_is "3,000 hashes left: 24 segments" "$(segs "$T/many.phmi")" 24
t_is "after the removal: the same hits" "$(look "$T/many.phmi")" "$(look "$T/one.phmi")"
t_is "after the removal: verify" "$("$PHMATCH" index verify "$T/many.phmi" 2>&1)" "$T/many.phmi: ok"

# phmatchd --index-hot-copy: a server searching the copy answers as one
# searching the map, also after another process's import and rebuild
# (the copy is made again)
case $BUILD in
/*) PHMATCHD=$BUILD/phmatchd ;;
*) PHMATCHD=$ROOT/$BUILD/phmatchd ;;
esac
if t_have curl && [ -x "$PHMATCHD" ]; then
    trap 'svc_kill_all; t_cleanup' EXIT
    svc_start hot --index "$T/many.phmi" --index-hot-copy --socket "$T/hot.sock" ||
        t_fail "phmatchd --index-hot-copy starts"
    HOTPID=$PID
    svc_start map --index "$T/many.phmi" --socket "$T/map.sock" || t_fail "phmatchd starts"
    MAPPID=$PID
    body=$(head -120 "$T/q.txt" | sed 's/.*/"&"/' | paste -sd, -)
    body="{\"hashes\":[$body],\"max_distance\":31}"
    ask() { curl -s -m 20 --unix-socket "$T/$1.sock" -H 'Content-Type: application/json' \
        -d "$body" http://localhost/v1/lookup; }
    t_is "the hot server answers as the map's (source t only: no hits)" "$(ask hot)" "$(ask map)"
    PHM_INDEX_TEST_HSEG=128 "$PHMATCH" index import "$T/many.phmi" "$T/base.tsv" >/dev/null
    PHM_INDEX_TEST_HSEG=128 "$PHMATCH" index compact "$T/many.phmi" >/dev/null
    t_is "after another process's rebuild: the same answers" "$(ask hot)" "$(ask map)"
    t_like "... which find the new entries" "$(ask hot)" '"source":"s".*"distance":'
    svc_stop "$HOTPID"
    t_is "the hot server stops cleanly" "$RC" 0
    svc_stop "$MAPPID"
else
    t_skip "phmatchd --index-hot-copy" "needs curl and phmatchd"
fi
t_done

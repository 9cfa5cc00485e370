#!/bin/sh
# match.sh - `phmatch match`: an index of a few photos, transformed copies
# (tools/mkqueries) found at the expected distances and orientations,
# unrelated and low-quality inputs not matched, error records, formats,
# exit codes, thread-independent output, and entries committed by another
# process during a run. TAP on stdout.
. "$(dirname "$0")/lib.sh"

case $BUILD in
/*) TOOLS=$BUILD/tools ;;
*) TOOLS=$ROOT/$BUILD/tools ;;
esac
for p in "$PHMATCH" "$TOOLS/mkqueries"; do
    if [ ! -x "$p" ]; then
        t_fail "built: $p"
        t_done
    fi
done

# known DB SOURCE CATEGORY IMAGE... - adds the images to DB (created when
# missing) the way users do: phmatch hash -f pdq | phmatch index import;
# each id is the file name without its extension.
known() {
    db=$1 src=$2 cat=$3
    shift 3
    if [ ! -e "$db" ]; then "$PHMATCH" index create "$db" >/dev/null || return 1; fi
    "$PHMATCH" hash -q -f pdq "$@" >"$T/known.pdq" || return 1
    awk -F, -v OFS=, '{ n = $3; sub(".*/", "", n); sub("[.][^.]*$", "", n); print $1, $2, n }' \
        "$T/known.pdq" |
        "$PHMATCH" index import --source "$src" ${cat:+--category "$cat"} "$db" - >/dev/null
}

# col NAME FILE - the NAME column of every line of a match tsv file.
col() { tsv_col "$1" "$2"; }
# row QUERY NAME FILE - NAME of the first line whose path ends in /QUERY.
row() {
    awk -F '\t' -v q="$2" -v name="$1" '
        NR == 1 { for (i = 1; i <= NF; i++) if ($i == name) c = i; next }
        $1 ~ ("/" q "$") { print $c; exit }' "$3"
}

# Known photos (shrunk, re-encoded) and their transformed copies.
"$TOOLS/mkqueries" -m 320 -t same "$T/known" "$IMAGES/bridge-mods/aaa-orig.jpg" \
    "$IMAGES/reg-test-input/pen-and-coaster.png" 2>"$T/err"
t_is "mkqueries makes the known photos" "$?" 0
"$TOOLS/mkqueries" "$T/q" "$T/known/aaa-orig.jpg" "$T/known/pen-and-coaster.jpg"
t_is "mkqueries makes the queries" "$?" 0
t_is "mkqueries is deterministic" \
    "$("$TOOLS/mkqueries" -t rot90 "$T/q2" "$T/known/aaa-orig.jpg" &&
        cmp "$T/q/aaa-orig-rot90.jpg" "$T/q2/aaa-orig-rot90.jpg" && echo same)" same
cp "$IMAGES/reg-test-input/labelme-subset/q1050.jpg" "$T/q/unrelated.jpg"
known "$T/k.phmi" lab cat-a "$T/known/aaa-orig.jpg" "$T/known/pen-and-coaster.jpg"
t_is "hash | index import builds the index" "$?" 0

# ------------------------------------------------------------------
# Matches, distances, orientations

"$PHMATCH" match -q --index "$T/k.phmi" "$T/q" >"$T/plain.tsv"
t_is "match: exit 0" "$?" 0
t_is "header" "$(head -n 1 "$T/plain.tsv")" \
    "$(printf 'path\tstatus\tsize\tformat\twidth\theight\tmode\tpdq\tquality\tflags\tkind\tmatch_count\tentry\tsource\tid\tcategory\tentry_kind\tdistance\torientation\tvariant\tknown_variant\tframe\ttimestamp\tframes\tquery_percent\tcompared_percent\terror')"
t_is "one line per query (none has two matches)" "$(($(wc -l <"$T/plain.tsv") - 1))" 11
for q in aaa-orig-q20 aaa-orig-half aaa-orig-crop pen-and-coaster-q20 \
    pen-and-coaster-half pen-and-coaster-crop; do
    id=${q%-*}
    got="$(row match_count "$q.jpg" "$T/plain.tsv") $(row source "$q.jpg" "$T/plain.tsv"):$(row id "$q.jpg" "$T/plain.tsv") $(row category "$q.jpg" "$T/plain.tsv") $(row orientation "$q.jpg" "$T/plain.tsv")"
    t_is "$q matches $id" "$got" "1 lab:$id cat-a original"
    d=$(row distance "$q.jpg" "$T/plain.tsv")
    case $q in *-q20) max=16 ;; *) max=31 ;; esac
    t_ok "$q: distance $d <= $max" [ "${d:-99}" -le "$max" ]
done
for q in aaa-orig-rot90 aaa-orig-mirror pen-and-coaster-rot90 unrelated; do
    t_is "$q: no match without --dihedral" \
        "$(row match_count "$q.jpg" "$T/plain.tsv")/$(row entry "$q.jpg" "$T/plain.tsv")" "0/"
done

"$PHMATCH" match -q -d --index "$T/k.phmi" "$T/q" >"$T/dih.tsv"
t_is "match --dihedral: exit 0" "$?" 0
for q in aaa-orig pen-and-coaster; do
    t_is "$q-rot90 (rotated clockwise) matches as rot90" \
        "$(row id "$q-rot90.jpg" "$T/dih.tsv") $(row orientation "$q-rot90.jpg" "$T/dih.tsv")" "$q rot90"
    t_is "$q-mirror (left-right) matches as flipy" \
        "$(row id "$q-mirror.jpg" "$T/dih.tsv") $(row orientation "$q-mirror.jpg" "$T/dih.tsv")" "$q flipy"
    t_is "$q-q20 still matches as original with --dihedral" \
        "$(row orientation "$q-q20.jpg" "$T/dih.tsv")" original
done
t_is "unrelated: no match with --dihedral" "$(row match_count unrelated.jpg "$T/dih.tsv")" 0

# --max-distance: the half-size copy is a few bits away.
d=$(row distance aaa-orig-half.jpg "$T/plain.tsv")
"$PHMATCH" match -q -r $((d - 1)) --index "$T/k.phmi" "$T/q/aaa-orig-half.jpg" >"$T/r.tsv"
t_is "--max-distance below the distance: no match" "$(row match_count aaa-orig-half.jpg "$T/r.tsv")" 0
"$PHMATCH" match -q -r "$d" --index "$T/k.phmi" "$T/q/aaa-orig-half.jpg" >"$T/r.tsv"
t_is "--max-distance at the distance: a match" "$(row match_count aaa-orig-half.jpg "$T/r.tsv")" 1

# ------------------------------------------------------------------
# Low quality, errors, exit codes

lowq=$IMAGES/reg-test-input/labelme-subset/q0003.jpg
printf 'not an image\n' >"$T/text.jpg"
"$PHMATCH" match -q --index "$T/k.phmi" "$lowq" "$T/missing.jpg" "$T/text.jpg" \
    "$T/q/aaa-orig-q20.jpg" >"$T/err.tsv" 2>"$T/err.txt"
t_is "some inputs failed: exit 1" "$?" 1
t_is "statuses in input order" "$(col status "$T/err.tsv" | tr '\n' ' ')" \
    "ok not_found unsupported_format ok "
t_is "low quality: flagged, not searched (match_count empty)" \
    "$(row flags q0003.jpg "$T/err.tsv")/$(row match_count q0003.jpg "$T/err.tsv")" "low_quality/"
t_is "error record: match_count empty" "$(row match_count missing.jpg "$T/err.tsv")" ""
t_like "error on stderr names the file" "$(cat "$T/err.txt")" "cannot hash '.*missing.jpg'"
"$PHMATCH" match -q --min-quality 0 --index "$T/k.phmi" "$lowq" >"$T/lq.tsv"
t_is "--min-quality 0 searches it" "$(row match_count q0003.jpg "$T/lq.tsv")" 0

"$PHMATCH" match -q --fail-on-match --index "$T/k.phmi" "$T/q/aaa-orig-q20.jpg" >/dev/null
t_is "--fail-on-match with a match: exit 4" "$?" 4
"$PHMATCH" match -q --fail-on-match --index "$T/k.phmi" "$T/q/unrelated.jpg" >/dev/null
t_is "--fail-on-match without a match: exit 0" "$?" 0
"$PHMATCH" match -q --index "$T/k.phmi" "$T/q/aaa-orig-q20.jpg" >/dev/null
t_is "a match without --fail-on-match: exit 0" "$?" 0
"$PHMATCH" match -q "$T/q" >/dev/null 2>"$T/u.txt"
t_is "no --index: exit 2" "$?" 2
t_like "no --index: says so" "$(cat "$T/u.txt")" "no index given"
"$PHMATCH" match -q -f pdq --index "$T/k.phmi" "$T/q" >/dev/null 2>&1
t_is "--format pdq: exit 2" "$?" 2
"$PHMATCH" match -q --index "$T/none.phmi" "$T/q" >/dev/null 2>"$T/u.txt"
t_is "missing index: exit 2" "$?" 2
t_like "missing index: names it" "$(cat "$T/u.txt")" "none.phmi"
"$PHMATCH" match -q --index "$T/text.jpg" "$T/q" >/dev/null 2>&1
t_is "not an index: exit 2" "$?" 2
"$PHMATCH" match -q --index "$T/k.phmi" "$T/q" >/dev/full 2>/dev/null
t_is "write error: exit 3" "$?" 3
out=$("$PHMATCH" match --help)
t_like "match --help shows usage" "$out" '^usage: phmatch match'

# ------------------------------------------------------------------
# Several matches, formats, threads

known "$T/k.phmi" other cat-b "$T/known/aaa-orig.jpg"
"$PHMATCH" match -q --index "$T/k.phmi" "$T/q/aaa-orig-q20.jpg" >"$T/two.tsv"
t_is "two entries: two lines, closest first" \
    "$(col match_count "$T/two.tsv" | tr '\n' ' ')$(col source "$T/two.tsv" | sort | tr '\n' ' ')" "2 2 lab other "
"$PHMATCH" match -q --max-matches 1 --index "$T/k.phmi" "$T/q/aaa-orig-q20.jpg" >"$T/one.tsv"
t_is "--max-matches 1: one line, match_count still 2" "$(col match_count "$T/one.tsv")" 2

"$PHMATCH" match -q -f csv --index "$T/k.phmi" "$T/q/aaa-orig-q20.jpg" "$T/missing.jpg" >"$T/m.csv" 2>/dev/null
t_is "csv: header and 3 lines" "$(wc -l <"$T/m.csv" | tr -d ' ')" 4
t_like "csv: a match line" "$(cat "$T/m.csv")" ',2,[0-9]*,lab,aaa-orig,cat-a,image,[0-9]*,original,,,,,,,,$'
"$PHMATCH" match -q -f jsonl -d --index "$T/k.phmi" "$T/q/aaa-orig-q20.jpg" \
    "$T/q/aaa-orig-rot90.jpg" "$T/missing.jpg" "$lowq" >"$T/m.jsonl" 2>/dev/null
t_is "jsonl: one object per input" "$(wc -l <"$T/m.jsonl" | tr -d ' ')" 4
if t_python; then
    got=$(python3 -c '
import json, sys
for line in open(sys.argv[1]):
    o = json.loads(line)
    e = o["matches"]
    print(o["status"], o["match_count"], "null" if e is None else
          ",".join("%s:%s:%s" % (x["source"], x["id"], x["orientation"]) for x in e))
' "$T/m.jsonl" | tr '\n' ';')
    t_is "jsonl: match_count and matches" "$got" \
        "ok 2 lab:aaa-orig:original,other:aaa-orig:original;ok 2 lab:aaa-orig:rot90,other:aaa-orig:rot90;not_found None null;ok None null;"
else
    t_skip "jsonl: match_count and matches" "no python3"
fi

"$PHMATCH" match -q -d -j 1 --index "$T/k.phmi" "$T/q" "$IMAGES/bridge-mods" >"$T/j1.tsv"
"$PHMATCH" match -q -d -j 2 --window 3 --index "$T/k.phmi" "$T/q" "$IMAGES/bridge-mods" >"$T/j2.tsv"
t_ok "-j 1 and -j 2 give identical output" cmp -s "$T/j1.tsv" "$T/j2.tsv"

# A video: its frames are searched; the match names the closest frame.
video=$ROOT/tests/data/vpdq/synthetic/mandelbrot-160x120.mp4
if [ -f "$video" ]; then
    h=$("$PHMATCH" hash -q -f vpdq "$video" | awk -F, '$1 == 50 { print $3 }')
    "$PHMATCH" index create "$T/v.phmi" >/dev/null
    printf '%s,100,frame50\n' "$h" | "$PHMATCH" index import --source vid "$T/v.phmi" - >/dev/null
    "$PHMATCH" match -q --index "$T/v.phmi" "$video" >"$T/v.tsv"
    t_is "video: exit 0" "$?" 0
    t_is "video: the entry, distance 0, at frame 50" \
        "$(col kind "$T/v.tsv") $(col match_count "$T/v.tsv") $(col id "$T/v.tsv") $(col distance "$T/v.tsv") $(col frame "$T/v.tsv")" \
        "video 1 frame50 0 50"
else
    t_skip "video" "no $video"
fi

# ------------------------------------------------------------------
# Live update: an entry committed by another process while match runs
# (paths from a pipe) is found by the inputs hashed after the commit.

"$TOOLS/mkqueries" -m 200 -t same "$T/live" "$IMAGES/misc-images/c.png"
live=$T/live/c.jpg
{
    i=0
    while [ $i -lt 32 ]; do echo "$live"; i=$((i + 1)); done
    sleep 3
    known "$T/k.phmi" live new "$live"
    i=0
    while [ $i -lt 32 ]; do echo "$live"; i=$((i + 1)); done
} | "$PHMATCH" match -q -j 2 --index "$T/k.phmi" -T - >"$T/live.tsv"
t_is "live: exit 0" "$?" 0
t_is "live: before the import, no match" "$(col match_count "$T/live.tsv" | head -n 1)" 0
t_is "live: after the import, the new entry" \
    "$(col match_count "$T/live.tsv" | tail -n 1) $(col source "$T/live.tsv" | tail -n 1)" "1 live"

t_done

#!/bin/sh
# governance.sh - the index's governance through the CLI: source settings
# (show, set, limits), per-source distance and min_quality in `lookup` and
# `match`, disabled sources and entries (until a time), suppression (exit
# status 0 with --fail-on-match, suppressed_by in jsonl only), the
# quarantine list, and `index audit` finding a planted entry near many
# others and entries matching a folder of benign images. Expected sets
# come from hashes made at known distances, not from the index.
. "$(dirname "$0")/lib.sh"
t_need_phmatch

P=$PHMATCH
DB=$T/g.phmi
B=f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22

# flip HEX N - HEX with the low bit of each of its first N digits flipped:
# exactly N bits from HEX.
flip() {
    awk -v h="$1" -v n="$2" 'BEGIN {
        a = "0123456789abcdef"; b = "1032547698badcfe"; out = ""
        for (i = 1; i <= 64; i++) {
            c = substr(h, i, 1)
            if (i <= n) c = substr(b, index(a, c), 1)
            out = out c
        }
        print out }'
}

DISTS="0 5 20 35"
for d in $DISTS; do printf '%s,,d%s\n' "$(flip "$B" "$d")" "$d"; done >"$T/t.pdq"
"$P" index create "$DB"
"$P" index import --source t --category C "$DB" "$T/t.pdq" >/dev/null

# ids [LOOKUP OPTIONS] - the ids `lookup` of B reports, sorted.
ids() {
    echo "$B" | "$P" lookup --index "$DB" "$@" |
        awk -F '\t' 'NR > 1 && $4 == "match" { print $7 }' | sort | tr '\n' ' '
}

# ---- source settings ----
out=$("$P" index source show "$DB" t)
t_like "source show: the defaults" "$out" "^t	4	yes	normal	default	default	0	3600.000s	$"
"$P" index source set "$DB" t --max-distance 12 --min-quality 60 --quarantine-limit 3 \
    --quarantine-window 10m --category-name C=Cats --category-name D=Dogs >/dev/null
out=$("$P" index source show "$DB" t)
t_like "source set: stored" "$out" "^t	4	yes	normal	12	60	3	600.000s	C=Cats D=Dogs$"
"$P" index source set "$DB" t --category-name D= --max-distance default >/dev/null
out=$("$P" index source show --format jsonl "$DB" t)
t_is "jsonl: every field; D= removed a name, default the distance" "$out" \
    '{"source":"t","entries":4,"enabled":true,"kind":"normal","max_distance":null,"min_quality":60,"quarantine_limit":3,"quarantine_window":600.000,"categories":{"C":"Cats"},"stored":true}'
"$P" index source set "$DB" t --max-distance 300 2>"$T/err"
t_is "--max-distance 300: exit 2" "$?" 2
"$P" index source set "$DB" t --kind other 2>"$T/err"
t_is "--kind other: exit 2" "$?" 2
t_like "... saying what is expected" "$(cat "$T/err")" "normal or suppression"
"$P" index source set "$DB" t --quarantine-limit 1001 2>/dev/null
t_is "--quarantine-limit 1001: exit 2" "$?" 2
"$P" index source set "$DB" t 2>/dev/null
t_is "source set without a setting: exit 2" "$?" 2
"$P" index source set "$DB" t --min-quality default >/dev/null
out=$("$P" index stats "$DB")
t_like "stats: sources with settings" "$out" "^sources_set	1$"
t_like "stats: a source's settings" "$out" "^source	t	4	yes	normal	default	default	3	600.000s	C=Cats$"

# ---- per-source distance ----
t_is "no distance set: the request's 31" "$(ids)" "d0 d20 d5 "
"$P" index source set "$DB" t --max-distance 5 >/dev/null
t_is "t max-distance 5: only d0 d5" "$(ids)" "d0 d5 "
"$P" index source set "$DB" t --max-distance 40 >/dev/null
t_is "t max-distance 40: d35 too, beyond the request's 31" "$(ids)" "d0 d20 d35 d5 "
"$P" index source set "$DB" t --max-distance default >/dev/null

# ---- disabled sources and entries ----
"$P" index source set "$DB" t --enabled no >/dev/null
t_is "a disabled source matches nothing" "$(ids)" ""
"$P" index source set "$DB" t --enabled yes >/dev/null
"$P" index disable "$DB" --source t --until +1h d0 d5 2>/dev/null
t_is "d0 d5 disabled for an hour: not matched" "$(ids)" "d20 "
t_like "index disabled lists them" "$("$P" index disabled "$DB")" "^t	d5	[0-9T:-]*Z	[0-9T:-]*Z	yes$"
t_like "stats count them" "$("$P" index stats "$DB")" "^disabled	2$"
"$P" index disable "$DB" --source t --until 2020-01-01T00:00:00Z d0 2>/dev/null
t_is "d0 disabled until 2020 (past): matched again" "$(ids)" "d0 d20 "
"$P" index enable "$DB" --source t d5 2>/dev/null
t_is "d5 enabled: matched again" "$(ids)" "d0 d20 d5 "
# lookup --knn: the K nearest entries the governance admits (not the K
# nearest, then governed)
"$P" index disable "$DB" --source t d0 d5 2>/dev/null
t_is "--knn 2, d0 d5 disabled: the 2 nearest admitted" "$(ids --knn 2 --max-distance 40)" \
    "d20 d35 "
"$P" index source set "$DB" t --max-distance 25 >/dev/null
t_is "... t max-distance 25: d35 is not admitted" "$(ids --knn 2 --max-distance 40)" "d20 "
"$P" index source set "$DB" t --max-distance default >/dev/null
"$P" index enable "$DB" --source t d0 d5 2>/dev/null
t_is "--knn 2, all enabled: d0 d5" "$(ids --knn 2 --max-distance 40)" "d0 d5 "
"$P" index disable "$DB" --source t d0 nope 2>"$T/err"
t_is "an unknown id: exit 1" "$?" 1
t_like "... naming it" "$(cat "$T/err")" "no entry 't:nope'"
t_is "... and nothing changed" "$(ids)" "d0 d20 d5 "
"$P" index disable "$DB" --source t --until tomorrow d0 2>/dev/null
t_is "--until tomorrow: exit 2" "$?" 2

# ---- match: min_quality and suppression, with an image ----
IMG=$ROOT/data/known/bridge.jpg
"$P" hash "$IMG" >"$T/h.tsv" 2>/dev/null
H=$(tsv_col pdq "$T/h.tsv")
Q=$(tsv_col quality "$T/h.tsv")
printf '%s,,img\n' "$H" | "$P" index import --source lab "$DB" - >/dev/null
mc() { "$P" match --index "$DB" "$@" "$IMG" >"$T/m.tsv" 2>/dev/null; echo $?; }
t_is "the image matches: --fail-on-match exits 4" "$(mc --fail-on-match)" 4
# min_quality: lookup queries carry their quality (hash,quality lines)
# (the t entries, near H too, have no minimum: they match either way)
lq() {
    printf '%s,%s\n' "$H" "$1" | "$P" lookup --index "$DB" |
        awk -F '\t' '$6 == "lab" { print $7 }'
}
"$P" index source set "$DB" lab --min-quality 80 >/dev/null
t_is "lab min-quality 80: a query of quality 70 does not match it" "$(lq 70)" ""
t_is "... of quality 80 does" "$(lq 80)" img
t_is "... the image, of quality $Q, does" "$(mc --fail-on-match)" 4
"$P" index source set "$DB" lab --min-quality default >/dev/null

printf '%s,,logo1\n' "$(flip "$H" 3)" | "$P" index import --source logos "$DB" - >/dev/null
"$P" index source set "$DB" logos --kind suppression --max-distance 10 >/dev/null
t_is "a suppression entry at 3: --fail-on-match exits 0" "$(mc --fail-on-match)" 0
t_is "... match_count 0" "$(tsv_col match_count "$T/m.tsv")" 0
t_is "... tsv lists no match" "$(tsv_col id "$T/m.tsv")" ""
"$P" match --index "$DB" -f jsonl "$IMG" >"$T/m.jsonl" 2>/dev/null
t_like "jsonl: the matches with suppressed_by" "$(cat "$T/m.jsonl")" \
    '"id":"img",.*"suppressed_by":{"source":"logos","id":"logo1","distance":3}'
"$P" match --index "$DB" "$IMG" 2>"$T/sum" >/dev/null
t_like "the summary counts it suppressed" "$(cat "$T/sum")" "1 suppressed"
"$P" match --index "$DB" --report "$T/rep" "$IMG" >/dev/null 2>&1
t_is "--report: the suppressed file is not in the case file's Media" \
    "$(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))["value"][0]["Media"]))' "$T/rep/case.json")" 0
t_like "... and the page counts it as suppressed" "$(cat "$T/rep/report.html")" \
    'Files suppressed (benign list)</th><td[^>]*>1<'
out=$(printf '%s\n' "$H" | "$P" lookup --index "$DB" --fail-on-match)
t_is "lookup: suppressed, exit 0" "$?" 0
t_like "lookup: status suppressed" "$out" "	suppressed	"
"$P" index source set "$DB" logos --max-distance 2 >/dev/null
t_is "suppression distance 2: the entry at 3 does not suppress" "$(mc --fail-on-match)" 4
"$P" index source set "$DB" logos --kind normal >/dev/null

# ---- quarantine (tripped by phmatchd: service_governance.sh) ----
t_is "quarantine: none listed" "$("$P" index quarantine "$DB")" "source	id	since	count"
"$P" index quarantine "$DB" --release t d0 2>"$T/err"
t_is "releasing an entry not quarantined: exit 1" "$?" 1
t_ok "verify passes" sh -c "\"$P\" index verify \"$DB\" >/dev/null"

# ---- audit ----
# A hub H0 and 12 entries each 16 bits from it, on disjoint bits: each
# is within 31 of the hub only (32 from one another).
python3 - "$B" >"$T/hub.pdq" <<'PY'
import sys
h = int(sys.argv[1], 16)
print("%064x,,hub" % h)
for i in range(12):
    print("%064x,,x%d" % (h ^ (((1 << 16) - 1) << (16 * i)), i))
PY
A=$T/a.phmi
"$P" index create "$A"
"$P" index import --source s "$A" "$T/hub.pdq" >/dev/null
"$P" index audit --min-hits 5 "$A" >"$T/audit.tsv" 2>/dev/null
t_is "audit: only the hub has >= 5 neighbours" "$(tsv_col id "$T/audit.tsv")" hub
t_is "audit: its 12 neighbours" "$(tsv_col hits "$T/audit.tsv")" 12
"$P" index audit --min-hits 1 "$A" >"$T/audit.tsv" 2>/dev/null
t_is "audit --min-hits 1: all 13, the hub first" \
    "$(tsv_col id "$T/audit.tsv" | head -1) $(tsv_col id "$T/audit.tsv" | wc -l)" "hub 13"
"$P" index audit --distance 32 --format jsonl "$A" >"$T/audit.jsonl" 2>/dev/null
t_is "audit --distance 32: every entry has 12 neighbours" \
    "$(grep -c '"hits":12,"against":"index"' "$T/audit.jsonl")" 13
mkdir "$T/benign"
cp "$ROOT/data/known/bridge.jpg" "$ROOT/data/known/phone.jpg" "$T/benign/"
I=$T/i.phmi
{ printf '%s,,img\n' "$H"; printf '%s,,near\n' "$(flip "$H" 30)";
  printf '%s,,far\n' "$(flip "$H" 40)"; } >"$T/i.pdq"
"$P" index create "$I"
"$P" index import --source s "$I" "$T/i.pdq" >/dev/null
"$P" index audit --images "$T/benign" "$I" >"$T/ai.tsv" 2>/dev/null
t_is "audit --images: the entries within 31 of a benign image" \
    "$(tsv_col id "$T/ai.tsv" | sort | tr '\n' ' ')" "img near "
t_is "... each matching one image" "$(tsv_col hits "$T/ai.tsv" | tr '\n' ' ')" "1 1 "
# A source's stored minimum quality holds its imports (issue 14: quality below
# the source's minimum is refused at import, with its record number).
Q=$T/q.phmi
"$P" index create "$Q"
"$P" index source set "$Q" strict --min-quality 80 >/dev/null
{ printf '{"hash":"%s","quality":90,"id":"good"}\n' "$H"
  printf '{"hash":"%s","quality":60,"id":"weak"}\n' "$(flip "$H" 40)"; } >"$T/q.jsonl"
"$P" index import --source strict "$Q" "$T/q.jsonl" >"$T/q.out" 2>"$T/q.err"
t_is "import under a source with min_quality 80: a record of quality 60 refuses the run (exit 1)" "$?" 1
t_like "... naming the record and the minimum" "$(cat "$T/q.err")" 'q.jsonl:2: quality 60 is below the minimum 80'
"$P" index import --source lax "$Q" "$T/q.jsonl" >"$T/q.out" 2>/dev/null
t_is "... the same file under a source without a minimum: both stored" "$(cat "$T/q.out")" \
    "added 2, unchanged 0, updated 0, removed 0"
t_done

#!/bin/sh
# records.sh - no file name can forge a record (issue 12, point 6): files
# named with a newline, CR, tab, comma, quotes, a backslash and bytes that
# are not UTF-8 are hashed in every format (pdq, tsv, csv, jsonl); each
# output is imported again and must give exactly one record per file: the
# right name for every name the index can hold, and one error line per
# name it cannot (control characters), never an extra entry. A pdq line
# with a backslash that starts no escape is refused, not guessed. TAP on
# stdout.
. "$(dirname "$0")/lib.sh"

t_need_phmatch

D=$T/names
mkdir "$D"
PNG=$IMAGES/misc-images/c.png
# Names the index can hold, and the ids they give (as tsv writes them) ...
: >"$T/expected.unsorted"
for n in 'back\slash.png' 'com,ma.png' 'dq"uote.png' "sq'uote.png" 'plain.png' \
    "$(printf 'latin\351\377.png')"; do
    cp "$PNG" "$D/$n"
    printf '%s\n' "$D/$n" | sed 's/\\/\\\\/g' >>"$T/expected.unsorted"
done
sort "$T/expected.unsorted" >"$T/expected"
# ... and names with control characters, which it cannot.
cp "$PNG" "$D/$(printf 'nl\nx.png')"
cp "$PNG" "$D/$(printf 'cr\rx.png')"
cp "$PNG" "$D/$(printf 'tab\tx.png')"
good=6
ctrl=3

# The ids an index holds, one per line, as tsv writes them (escaped).
ids() {
    "$PHMATCH" index export --format tsv "$1" | awk -F '\t' 'NR > 1 { print $4 }' | sort
}

for f in pdq tsv csv jsonl; do
    "$PHMATCH" hash -q -f "$f" "$D" >"$T/out.$f" 2>/dev/null
    "$PHMATCH" index create "$T/$f.phmi" >/dev/null
    "$PHMATCH" index import --skip-bad --source s "$T/$f.phmi" "$T/out.$f" \
        >"$T/imp.$f" 2>"$T/imp.$f.err"
    t_is "$f: the names the index can hold come back, one entry each" \
        "$(cat "$T/imp.$f")" "added $good, unchanged 0, updated 0, removed 0"
    t_is "$f: ... with the right names" "$(ids "$T/$f.phmi")" "$(cat "$T/expected")"
    t_is "$f: one error per name with control characters, no forged entry" \
        "$(grep -c 'holds control characters' "$T/imp.$f.err")" "$ctrl"
done

# pdq: one line per file, control characters escaped.
t_is "pdq: one line per file" "$(wc -l <"$T/out.pdq" | tr -d ' ')" $((good + ctrl))
t_like "pdq: a newline is written as backslash n" "$(cat "$T/out.pdq")" 'names/nl\\nx\.png$'
t_like "pdq: a CR is written as backslash r" "$(cat "$T/out.pdq")" 'names/cr\\rx\.png$'
t_like "pdq: a tab is written as backslash t" "$(cat "$T/out.pdq")" 'names/tab\\tx\.png$'
t_like "pdq: a backslash is doubled" "$(cat "$T/out.pdq")" 'names/back\\\\slash\.png$'
t_like "pdq: a comma stays" "$(cat "$T/out.pdq")" ',100,.*names/com,ma\.png$'
t_is "tsv: one line per file and the header" "$(wc -l <"$T/out.tsv" | tr -d ' ')" \
    $((good + ctrl + 1))
t_is "jsonl: one line per file" "$(wc -l <"$T/out.jsonl" | tr -d ' ')" $((good + ctrl))

# A pdq line whose name has a backslash that starts no escape: an error.
H=e64cc9d91c623882f8d1f1d9a398e78c9f199b3bd83924f2b7e11e0bf861b064
printf '%s,100,C:\\imgs\\a.jpg\n%s,100,ok\\\\x\\x41\n' "$H" "$H" >"$T/esc.pdq"
"$PHMATCH" index create "$T/esc.phmi" >/dev/null
"$PHMATCH" index import --skip-bad --source s "$T/esc.phmi" "$T/esc.pdq" \
    >"$T/esc.out" 2>"$T/esc.err"
t_like "pdq: an unknown escape is refused, naming it" "$(cat "$T/esc.err")" \
    "esc.pdq:1: invalid escape '.img' in the name"
t_is "pdq: a doubled backslash and xHH escapes are read" "$(ids "$T/esc.phmi")" 'ok\\xA'

# vPDQ files: a video whose name holds a control character is refused a
# file in --output-dir (its name would be the id), with a reason.
VID=$ROOT/tests/data/vpdq/videos/chair-19-sd-bar.mp4
if [ -f "$VID" ] && "$PHMATCH" hash -q -f vpdq --seconds-per-hash 0 "$VID" \
    >/dev/null 2>&1; then
    mkdir "$T/vids" "$T/vout"
    cp "$VID" "$T/vids/$(printf 'bad\nname.mp4')"
    cp "$VID" "$T/vids/good.mp4"
    "$PHMATCH" hash -q -f vpdq --seconds-per-hash 0 --output-dir "$T/vout" "$T/vids" \
        2>"$T/vout.err"
    t_is "--output-dir: only the video with a clean name is written" \
        "$(ls "$T/vout")" "good.txt"
    t_like "--output-dir: the other is refused with a reason" "$(cat "$T/vout.err")" \
        "the name holds control characters"
else
    t_skip "--output-dir names" "no video backend or sample video"
    t_skip "--output-dir names (reason)" "no video backend or sample video"
fi

t_done

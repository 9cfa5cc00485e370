#!/bin/sh
# trim.sh - border trimming and --robust at query time (docs/ROBUST.md):
# `phmatch match` finds a letterboxed, pillarboxed (blurred fill),
# letterboxed (stretched fill) and
# screenshotted copy of a known photo through its trimmed content
# (variant "trimmed", in tsv, csv and jsonl), not with --no-trim; --robust
# finds a rotated letterboxed copy (orientation and variant both set); the
# plain pdq column is the file's own hash either way; a photo without a
# border and an unrelated one match nothing. Then phmatchd over a real
# socket: POST /v1/match trims by default, ?trim=0 does not, ?robust=1
# adds the orientations. Copies made with ImageMagick's convert. TAP.
. "$(dirname "$0")/lib.sh"

case $BUILD in
/*) D=$BUILD ;;
*) D=$ROOT/$BUILD ;;
esac
PHMATCHD=$D/phmatchd

if ! t_have convert; then
    echo "1..0 # SKIP needs ImageMagick's convert (make deps installs it)"
    exit 0
fi
trap 'svc_kill_all; t_cleanup' EXIT

# The known photo and its copies.
K=$T/known.jpg
convert "$IMAGES/bridge-mods/aaa-orig.jpg" -resize 400x400 -quality 90 "$K"
convert "$K" -background black -gravity center -extent 400x330 -quality 85 "$T/lb-black.jpg"
convert "$K" \( +clone -resize 480x266\! -blur 0x16 \) +swap -gravity center -composite \
    -quality 85 "$T/pb-blur.jpg"
# A letterbox filled with the image shrunk to a sixteenth, blurred and
# stretched (as tools/mkqueries' letterbox-blur): its edge a weak one.
# (The known photo is 400x251: bars of 25 lines in all.)
convert "$K" \( +clone -resize 6.25% -blur 0x1.5 -resize 400x276\! \) +swap \
    -gravity center -composite -quality 85 "$T/lb-stretch.jpg"
convert -size 400x560 xc:'#f2f2f2' -fill '#202020' -draw 'rectangle 0,0 400,40' \
    \( "$K" -resize 300x200\! \) -gravity center -composite -quality 90 "$T/screen.jpg"
convert "$K" -rotate 90 -background white -gravity center -extent 320x460 -quality 85 \
    "$T/rot-lb.jpg"
cp "$IMAGES/reg-test-input/labelme-subset/q2821.jpg" "$T/unrelated.jpg"
"$PHMATCH" index create "$T/k.phmi" >/dev/null &&
    "$PHMATCH" hash -q -f pdq "$K" | awk -F, -v OFS=, '{ print $1, $2, "bridge" }' |
    "$PHMATCH" index import --source lab "$T/k.phmi" - >/dev/null
t_is "an index of the known photo" "$?" 0
mkdir "$T/q" && cp "$K" "$T/lb-black.jpg" "$T/pb-blur.jpg" "$T/screen.jpg" "$T/unrelated.jpg" \
    "$T/lb-stretch.jpg" "$T/q/"

# row QUERY NAME FILE - NAME of the first line whose path ends in /QUERY.
row() {
    awk -F '\t' -v q="$1" -v name="$2" '
        NR == 1 { for (i = 1; i <= NF; i++) if ($i == name) c = i; next }
        $1 ~ ("/" q "$") { print $c; exit }' "$3"
}

"$PHMATCH" match -q --index "$T/k.phmi" "$T/q" >"$T/trim.tsv"
t_is "match (trimming by default): exit 0" "$?" 0
t_is "the photo itself: plain match" \
    "$(row known.jpg id "$T/trim.tsv") $(row known.jpg distance "$T/trim.tsv")/$(row known.jpg variant "$T/trim.tsv")" \
    "bridge 0/"
for q in lb-black pb-blur lb-stretch screen; do
    t_is "$q: matched through variant trimmed" \
        "$(row $q.jpg id "$T/trim.tsv") $(row $q.jpg variant "$T/trim.tsv") $(row $q.jpg orientation "$T/trim.tsv")" \
        "bridge trimmed original"
    d=$(row $q.jpg distance "$T/trim.tsv")
    t_ok "$q: at a distance within 31 ($d)" test "${d:-99}" -le 31
done
t_is "unrelated: no match" "$(row unrelated.jpg match_count "$T/trim.tsv")" 0

"$PHMATCH" match -q --no-trim --index "$T/k.phmi" "$T/q" >"$T/notrim.tsv"
t_is "--no-trim: the copies do not match" \
    "$(row lb-black.jpg match_count "$T/notrim.tsv") $(row pb-blur.jpg match_count "$T/notrim.tsv") $(row screen.jpg match_count "$T/notrim.tsv")" \
    "0 0 0"
"$PHMATCH" hash -q "$T/q" >"$T/hash.tsv"
t_is "the pdq column is the file's own hash, with and without trimming" \
    "$(tsv_col pdq "$T/trim.tsv" | sort | tr '\n' ' ')" \
    "$(tsv_col pdq "$T/hash.tsv" | sort | tr '\n' ' ')"
t_is "... and --no-trim's" \
    "$(tsv_col pdq "$T/notrim.tsv" | sort | tr '\n' ' ')" \
    "$(tsv_col pdq "$T/hash.tsv" | sort | tr '\n' ' ')"

"$PHMATCH" match -q -f csv --index "$T/k.phmi" "$T/lb-black.jpg" >"$T/lb.csv"
t_like "csv: the variant column" "$(sed -n 2p "$T/lb.csv")" ',original,trimmed,,'
"$PHMATCH" match -q -f jsonl --index "$T/k.phmi" "$T/lb-black.jpg" >"$T/lb.jsonl"
t_like "jsonl: \"variant\":\"trimmed\"" "$(cat "$T/lb.jsonl")" \
    '"id":"bridge".*"orientation":"original","variant":"trimmed","known_variant":null'

"$PHMATCH" match -q -f jsonl --index "$T/k.phmi" "$T/rot-lb.jpg" >"$T/rot.jsonl"
t_like "rotated and letterboxed: no match without --robust" "$(cat "$T/rot.jsonl")" \
    '"matches":\[\]'
"$PHMATCH" match -q -f jsonl --robust --index "$T/k.phmi" "$T/rot-lb.jpg" >"$T/rot.jsonl"
t_like "--robust: found, with orientation and variant" "$(cat "$T/rot.jsonl")" \
    '"id":"bridge".*"orientation":"rot[0-9]*","variant":"trimmed"'
"$PHMATCH" match -q -f jsonl --robust --no-trim --index "$T/k.phmi" "$T/rot-lb.jpg" \
    >"$T/rot2.jsonl"
t_like "--robust --no-trim: orientations only, not found" "$(cat "$T/rot2.jsonl")" \
    '"matches":\[\]'

# ------------------------------------------------------------------
# phmatchd

svc_need_phmatchd
svc_match_start "$T/k.phmi"
t_is "phmatchd started" "$?" 0
t_is "POST /v1/match: a letterboxed copy, 200" "$(svc_post "$T/lb-black.jpg" "")" 200
t_like "... matched through variant trimmed" "$(cat "$T/out")" \
    '"id":"bridge".*"orientation":"original","variant":"trimmed"'
t_is "?trim=0: 200" "$(svc_post "$T/lb-black.jpg" "?trim=0")" 200
t_like "... no match" "$(cat "$T/out")" '"matches":\[\]'
t_is "?trim=2: 400" "$(svc_post "$T/lb-black.jpg" "?trim=2")" 400
t_is "?robust=1: a rotated letterboxed copy, 200" "$(svc_post "$T/rot-lb.jpg" "?robust=1")" 200
t_like "... matched with orientation and variant" "$(cat "$T/out")" \
    '"id":"bridge".*"orientation":"rot[0-9]*","variant":"trimmed"'
t_is "?robust=1&trim=0: 200" "$(svc_post "$T/rot-lb.jpg" "?robust=1&trim=0")" 200
t_like "... no match" "$(cat "$T/out")" '"matches":\[\]'
t_is "the photo itself: 200" "$(svc_post "$K" "")" 200
t_like "... plain match, variant null" "$(cat "$T/out")" \
    '"id":"bridge".*"distance":0,"orientation":"original","variant":null'
svc_stop "$PID"
t_is "phmatchd stops on SIGTERM" "$RC" 0
t_done

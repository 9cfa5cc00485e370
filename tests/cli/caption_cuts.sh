#!/bin/sh
# caption_cuts.sh - the caption cuts and the low-quality search of issue 15
# (wt-edits): copies with a caption band drawn by ImageMagick over their
# lower (or upper) third are missed at 31 by the plain hash and found with
# --cuts (and --robust) through the cut-bottom (cut-top) hash of the query
# and the stored variant of the same name; a low-contrast copy (quality
# below 50) is not searched by default and is found, within the distance
# asked, with --low-quality-distance, and a near-blank one (under 10) with
# --flat-distance as well; --augment stores the cut variants.
. "$(dirname "$0")/lib.sh"
t_need_phmatch
P=$PHMATCH
case $BUILD in
/*) D=$BUILD ;;
*) D=$ROOT/$BUILD ;;
esac
PHMATCHD=$D/phmatchd
if ! t_have convert || ! t_have identify; then
    t_skip "caption cuts" "ImageMagick convert not installed"
    t_done
fi
trap 'svc_kill_all; t_cleanup' EXIT
cd "$T" || exit 1
mkdir img
cp "$ROOT"/data/photos/*.jpg img/
"$P" index create k.phmi > /dev/null
out=$("$P" index add --images --source k --variants cut-bottom,cut-top k.phmi img 2>&1)
t_is "add with --variants cut-bottom,cut-top: exit 0" "$?" 0
t_like "... stores them" "$out" "6 images, 1[0-2] stored variants"
"$P" index create aug.phmi > /dev/null
"$P" index add --images --augment --source k aug.phmi img/labelme-q0291.jpg > /dev/null 2>&1
names=$("$P" index export --format jsonl aug.phmi | grep -o '"cut-[a-z]*":"[0-9a-f]\{64\}"' |
    sed 's/":.*//; s/"//' | sort | tr '\n' ' ')
t_is "--augment stores the three cuts" "$names" "cut-bottom cut-middle cut-top "

# A caption band: a white bar (75 % opaque) with a dark one inside, over
# 70-80 % of the height (cut-bottom) or 20-30 % (cut-top).
caption() { # IN OUT FROM_PERCENT
    wh=$(identify -format '%w %h' "$1")
    w=${wh% *} h=${wh#* }
    y0=$((h * $3 / 100)) y1=$((h * ($3 + 10) / 100))
    convert "$1" -fill 'rgba(255,255,255,0.75)' -draw "rectangle $((w / 8)),$y0 $((w * 7 / 8)),$y1" \
        -fill 'rgba(0,0,0,0.6)' \
        -draw "rectangle $((w / 5)),$((y0 + (y1 - y0) / 3)) $((w * 4 / 5)),$((y0 + (y1 - y0) * 2 / 3))" "$2"
}
caption img/labelme-q0291.jpg low.jpg 70
caption img/labelme-q0746.jpg top.jpg 20
for f in low top; do
    d=$("$P" match --index k.phmi -f jsonl --no-trim -r 256 $f.jpg 2>/dev/null |
        grep -o '"distance":[0-9]*' | head -n 1)
    t_ok "$f caption: the plain hash is farther than 31 (${d#*:})" test "${d#*:}" -gt 31
    m=$("$P" match --index k.phmi -f jsonl --no-trim $f.jpg 2>/dev/null)
    t_like "$f caption: no match at 31 without --cuts" "$m" '"matches":\[\]'
done
m=$("$P" match --index k.phmi -f jsonl --cuts low.jpg 2>/dev/null)
t_like "--cuts: the lower caption matched through cut-bottom" "$m" \
    '"id":"img/labelme-q0291.jpg".*"variant":"cut-bottom","known_variant":"cut-bottom"'
m=$("$P" match --index k.phmi -f jsonl --robust top.jpg 2>/dev/null)
t_like "--robust: the upper caption matched through cut-top" "$m" \
    '"id":"img/labelme-q0746.jpg".*"variant":"cut-top","known_variant":"cut-top"'
# A caption across the middle (wt-shot): found through cut-middle.
"$P" index create mid.phmi > /dev/null
"$P" index add --images --source k --variants cut-middle mid.phmi img > /dev/null 2>&1
caption img/labelme-q0291.jpg mid.jpg 45
m=$("$P" match --index mid.phmi -f jsonl --no-trim mid.jpg 2>/dev/null)
t_like "middle caption: no match at 31 without --cuts" "$m" '"matches":\[\]'
m=$("$P" match --index mid.phmi -f jsonl --robust mid.jpg 2>/dev/null)
t_like "--robust: the middle caption matched through cut-middle" "$m" \
    '"id":"img/labelme-q0291.jpg".*"variant":"cut-middle","known_variant":"cut-middle"'
m=$("$P" match --index k.phmi -f jsonl --cuts img/bridge.jpg 2>/dev/null)
t_like "--cuts: an unchanged image still matches by its own hash at 0" "$m" \
    '"id":"img/bridge.jpg",[^}]*"distance":0,"orientation":"original","variant":null'


# Low contrast: PDQ quality below 50, the hash near the original's.
convert img/labelme-q1050.jpg +level 47%,53% -quality 95 flat.jpg
q=$("$P" hash -q flat.jpg | tail -n 1 | cut -f 9)
t_ok "the low-contrast copy is of quality 20..49 ($q)" test "$q" -ge 20 -a "$q" -lt 50
m=$("$P" match --index k.phmi -f jsonl --no-trim flat.jpg 2>/dev/null)
t_like "below the quality gate: flagged, not searched" "$m" \
    '"flags":\["low_quality"\],"kind":"image","match_count":null'
m=$("$P" match --index k.phmi -f jsonl --no-trim --low-quality-distance 16 flat.jpg 2>/dev/null)
t_like "--low-quality-distance 16: searched, found" "$m" \
    '"low_quality"\].*"id":"img/labelme-q1050.jpg"'
d=$(printf '%s\n' "$m" | grep -o '"distance":[0-9]*' | head -n 1)
t_ok "... within 16 (${d#*:})" test "${d#*:}" -le 16
m=$("$P" match --index k.phmi -f jsonl --no-trim --low-quality-distance "$((${d#*:} - 1))" \
    flat.jpg 2>/dev/null)
t_like "... and not within one less" "$m" '"match_count":0,"matches":\[\]'
"$P" match --index k.phmi --low-quality-distance 300 flat.jpg > /dev/null 2>&1
t_is "--low-quality-distance 300 refused (exit 2)" "$?" 2

# --robust's floors and reaches (sessions 29-30): a copy dimmed to quality
# 10..19 is searched within 24 bits; one under 10 (near blank) within 16
# when its hash is no pattern; a blank picture (its hash a pattern) is not
# searched.
convert img/labelme-q0746.jpg +level 48%,52% -quality 95 dim.jpg
convert img/bridge.jpg +level 49%,51% -quality 95 near.jpg
convert -size 160x120 xc:'#808080' -quality 95 blank.jpg
q=$("$P" hash -q dim.jpg near.jpg blank.jpg | tail -n +2 | cut -f 9 | tr '\n' ' ')
t_like "the dimmed copy of quality 10..19, the near-blank one and the blank one under 10 ($q)" \
    "$q" '^1[0-9] [0-9] [0-9] $'
m=$("$P" match --index k.phmi -f jsonl --robust dim.jpg 2>/dev/null)
t_like "--robust: the dimmed copy searched and found" "$m" \
    '"low_quality"\].*"id":"img/labelme-q0746.jpg"'
d=$(printf '%s\n' "$m" | grep -o '"distance":[0-9]*' | head -n 1)
t_ok "... beyond 16 and within 24 (${d#*:})" test "${d#*:}" -gt 16 -a "${d#*:}" -le 24
m=$("$P" match --index k.phmi -f jsonl --robust near.jpg 2>/dev/null)
t_like "--robust: the near-blank copy searched and found" "$m" \
    '"low_quality"\].*"id":"img/bridge.jpg"'
d=$(printf '%s\n' "$m" | grep -o '"distance":[0-9]*' | head -n 1)
t_ok "... within 16 (${d#*:})" test "${d#*:}" -le 16
m=$("$P" match --index k.phmi -f jsonl --robust --flat-distance "$((${d#*:} - 1))" near.jpg \
    2>/dev/null)
t_like "... and not with --flat-distance one less" "$m" '"match_count":0,"matches":\[\]'
m=$("$P" match --index k.phmi -f jsonl --robust --flat-distance 0 near.jpg 2>"$T/err")
t_like "--robust --flat-distance 0: not searched" "$m" \
    '"flags":\["low_quality"\],"kind":"image","match_count":null'
t_like "... the summary names the floor" "$(cat "$T/err")" '1 not searched (quality < 10);'
m=$("$P" match --index k.phmi -f jsonl --robust blank.jpg 2>"$T/err")
t_like "--robust: the blank one not searched" "$m" '"flags":\["low_quality"\],"kind":"image","match_count":null'
t_like "... the summary says why" "$(cat "$T/err")" '1 not searched (quality < 10 and blank)'
m=$("$P" match --index k.phmi -f jsonl --robust --low-quality-distance 0 near.jpg 2>"$T/err")
t_like "--robust --low-quality-distance 0: neither search, not refused" "$m" \
    '"flags":\["low_quality"\],"kind":"image","match_count":null'
t_like "... the summary names the gate" "$(cat "$T/err")" '1 not searched (quality < 50);'
"$P" match --index k.phmi --flat-distance 8 near.jpg > /dev/null 2>"$T/err"
t_is "--flat-distance without the low-quality search refused (exit 2)" "$?" 2
t_like "... saying what it needs" "$(cat "$T/err")" 'needs --low-quality-distance'
"$P" match --index k.phmi --robust --flat-distance 300 near.jpg > /dev/null 2>"$T/err"
t_is "--flat-distance 300 refused (exit 2)" "$?" 2
t_like "... naming the range" "$(cat "$T/err")" "invalid value '300' for --flat-distance: must be 0..256"

# phmatchd: ?robust=1 does the cuts and the low-quality search too.
svc_need_phmatchd
svc_match_start "$T/k.phmi"
t_is "phmatchd started" "$?" 0
t_is "POST /v1/match, the lower caption: 200" "$(svc_post low.jpg "")" 200
t_like "... no match without ?robust=1" "$(cat "$T/out")" '"matches":\[\]'
t_is "?robust=1: 200" "$(svc_post low.jpg "?robust=1")" 200
t_like "... matched through cut-bottom" "$(cat "$T/out")" \
    '"id":"img/labelme-q0291.jpg".*"variant":"cut-bottom"'
t_is "the low-contrast copy: 200" "$(svc_post flat.jpg "")" 200
t_like "... not searched without ?robust=1" "$(cat "$T/out")" '"not_matched":"low_quality"'
t_is "?robust=1: 200" "$(svc_post flat.jpg "?robust=1")" 200
t_like "... found within 16" "$(cat "$T/out")" '"id":"img/labelme-q1050.jpg"'
t_is "the copy of quality 10..19, ?robust=1: 200" "$(svc_post dim.jpg "?robust=1")" 200
t_like "... found" "$(cat "$T/out")" '"id":"img/labelme-q0746.jpg"'
t_is "the near-blank copy: 200" "$(svc_post near.jpg "")" 200
t_like "... not searched without ?robust=1" "$(cat "$T/out")" '"not_matched":"low_quality"'
t_is "?robust=1: 200" "$(svc_post near.jpg "?robust=1")" 200
t_like "... found" "$(cat "$T/out")" '"id":"img/bridge.jpg"'
t_is "the blank one, ?robust=1: 200" "$(svc_post blank.jpg "?robust=1")" 200
t_like "... not searched" "$(cat "$T/out")" '"not_matched":"low_quality"'
svc_stop "$PID"
t_is "phmatchd stops on SIGTERM" "$RC" 0
t_done

#!/bin/sh
# rotation_corners.sh - a query whose hash is a rotation's corners
# (docs/ROBUST.md, "Rotation corners"): a flat picture turned by 5 degrees
# on its canvas (tools/mkqueries rot5-fill, black corners) hashes over the
# quality gate on its corners alone. An entry whose stored rot+5 variant
# is that very hash is not matched by it, in phmatch match (with and
# without --robust, as JPEG and PNM) and in phmatchd's /v1/match and HMA's
# POST /m/lookup; the same
# hash stored as a crop variant, or as an entry's own hash, still is. A
# busy picture turned the same way still matches through rot+5, and one
# turned on a grown canvas through its de-rotation (--robust, ?robust=1),
# a drawing on white turned on a white one through rot+5-grown; a
# 60-pixel picture turned on a grown canvas is turned back by the angle
# its corners' edges show.
# Stripes PDQ aliases, turned, do not meet other such stripes' stored
# rotations.
. "$(dirname "$0")/lib.sh"
t_need_phmatch
P=$PHMATCH
MKQ=$ROOT/$BUILD/tools/mkqueries
case $BUILD in /*) MKQ=$BUILD/tools/mkqueries ;; esac
if [ ! -x "$MKQ" ]; then
    t_fail "built: $MKQ"
    t_done
fi
cd "$T" || exit 1

# A flat 600 x 400 picture (grey 150), and its copy turned by 5 degrees.
{ printf 'P6\n600 400\n255\n'; head -c 720000 /dev/zero | tr '\000' '\226'; } > flat.ppm
"$MKQ" -t rot5-fill q flat.ppm > /dev/null 2>&1
t_ok "mkqueries made the turned copy" test -s q/flat-rot5-fill.jpg
cp "$ROOT"/data/photos/bridge.jpg busy.jpg
"$MKQ" -t rot5-fill q busy.jpg > /dev/null 2>&1

"$P" hash -f tsv q/flat-rot5-fill.jpg > h.tsv 2>/dev/null
fh=$(tsv_col pdq h.tsv) fq=$(tsv_col quality h.tsv)
t_ok "the turned flat picture hashes over the gate on its corners (quality $fq)" \
    test "${fq:-0}" -ge 50
# the own hash of the entries below: another picture's
other=f0a5e102f1ccc0bd945308720fff038de34ef1e8ada9a956d2967ade5ea91a50

# Entries holding that hash as a rot+5, as a crop5-c, as an own hash.
list() { # VARIANT - one jsonl entry "e" whose VARIANT is the flat copy's hash
    printf '{"hash":"%s","quality":90,"source":"s","id":"e","variants":{"%s":"%s"}}\n' \
        "$other" "$1" "$fh"
}
"$P" index create rot.phmi && list rot+5 > rot.jsonl && "$P" index import rot.phmi rot.jsonl
t_is "an entry with that hash as its rot+5: imported" "$?" 0
"$P" index create crop.phmi && list crop5-c > crop.jsonl &&
    "$P" index import crop.phmi crop.jsonl
t_is "... and one with it as its crop5-c" "$?" 0
"$P" index create own.phmi && printf '%s\n' "$fh" > own.txt && "$P" index import --source s own.phmi own.txt
t_is "... and one with it as its own hash" "$?" 0

# The copy also as a PNM (djpeg, libjpeg-turbo-progs): decoded whole, as
# every format but JPEG is.
files=q/flat-rot5-fill.jpg
if t_have djpeg && djpeg -pnm q/flat-rot5-fill.jpg > flat-rot5.ppm 2>/dev/null; then
    files="$files flat-rot5.ppm"
else
    t_skip "the turned copy as PNM" "djpeg not installed (make deps installs it)"
fi
for f in $files; do
    for opt in "" --robust; do
        m=$("$P" match --index rot.phmi -f jsonl $opt "$f" 2>/dev/null)
        t_like "$f $opt: no match through the stored rot+5" "$m" '"matches":\[\]'
    done
done
m=$("$P" match --index crop.phmi -f jsonl --robust q/flat-rot5-fill.jpg 2>/dev/null)
t_like "... a crop5-c of the same hash still matches" "$m" '"known_variant":"crop5-c"'
m=$("$P" match --index own.phmi -f jsonl q/flat-rot5-fill.jpg 2>/dev/null)
t_like "... and an own hash" "$m" '"distance":0'

# A busy picture turned the same way: its corners do not make its hash.
# (busy.phmi also holds rot.phmi's entry, for phmatchd below.)
"$P" index create busy.phmi
"$P" index add --images --source k --variants rot+5 busy.phmi busy.jpg > /dev/null 2>&1
"$P" index import busy.phmi rot.jsonl > /dev/null 2>&1
m=$("$P" match --index busy.phmi -f jsonl --robust q/busy-rot5-fill.jpg 2>/dev/null)
t_like "... (the entry with the flat copy's rot+5 is in that index too)" \
    "$("$P" match --index busy.phmi -f jsonl q/flat-rot5-fill.jpg 2>/dev/null)" '"matches":\[\]' 
t_like "a turned busy picture matches through rot+5" "$m" '"known_variant":"rot+5"'

# Turned on a canvas grown to hold it (ImageMagick's -rotate; mkqueries
# rot5-grow, white corners, and rotm5-grow, black): no stored variant is
# near it, and --robust turns it back by the angle its corners show (docs/ROBUST.md,
# "Rotations on a grown canvas"). Only the picture itself is stored here.
"$MKQ" -t rot5-grow,rotm5-grow q busy.jpg > /dev/null 2>&1
"$P" index create grow.phmi
"$P" index add --images --source g grow.phmi busy.jpg > /dev/null 2>&1
for g in rot5-grow rotm5-grow; do
    m=$("$P" match --index grow.phmi -f jsonl "q/busy-$g.jpg" 2>/dev/null)
    t_like "$g: no match without --robust" "$m" '"matches":\[\]'
    m=$("$P" match --index grow.phmi -f jsonl --robust "q/busy-$g.jpg" 2>/dev/null)
    t_like "$g --robust: the picture, turned back" "$m" '"variant":"derotated","known_variant":null'
done

# A 60-pixel picture turned on a grown canvas (docs/ROBUST.md, "De-rotation
# of small pictures"): its turn is read off its corners' edges to a
# fraction of a pixel. Read off whole-pixel runs, mkqueries' 5 degrees
# came out 6.1 and ImageMagick's 4 came out 5.1, and turned back by that
# the picture was 20 and 46 bits from itself.
if t_have convert; then
    convert busy.jpg -resize '60x60!' icon.png
    "$MKQ" -t rotm5-grow q icon.png > /dev/null 2>&1
    convert icon.png -background black -rotate 4 q/icon-im4.jpg
    "$P" index create icon.phmi
    "$P" index add --images --source g icon.phmi icon.png > /dev/null 2>&1
    for g in rotm5-grow im4; do
        m=$("$P" match --index icon.phmi -f jsonl --robust "q/icon-$g.jpg" 2>/dev/null)
        d=$(printf '%s' "$m" |
            sed -n 's/.*"distance":\([0-9]*\),"orientation":"[a-z0-9]*","variant":"derotated".*/\1/p')
        t_ok "a 60-pixel picture, $g: turned back within 12 bits (${d:-no match})" \
            test "${d:-99}" -le 12
    done
else
    t_skip "60-pixel turns" "ImageMagick convert not installed"
fi

# A drawing on white turned on a white canvas grown to hold it (mkqueries
# rot5-grow): no corners show, so --robust has no angle to turn it back
# by; only the stored turn on such a canvas (rot+5-grown, --augment's
# default set; docs/ROBUST.md, "Turned drawings on white") reaches it.
awk 'BEGIN { printf "P6\n300 240\n255\n";
    for (y = 0; y < 240; y++) for (x = 0; x < 300; x++) {
        v = 255; dx = x - 200; dy = y - 90
        if (x > 30 && x < 30 + (y - 20) * 0.8 && y > 20 && y < 200) v = 50
        else if (dx * dx + dy * dy < 1600) v = dx * dx + dy * dy < 300 ? 90 : 170
        else if (x > 130 && x < 270 && (y % 16) < 4 && y > 150 && y < 215) v = 70
        printf "%c%c%c", v, v, (v < 255 ? v / 2 : 255) } }' > drawing.ppm
"$MKQ" -t rot5-grow q drawing.ppm > /dev/null 2>&1
t_ok "mkqueries turned the drawing on a grown white canvas" test -s q/drawing-rot5-grow.jpg
"$P" index create draw.phmi && "$P" index add --images --source d draw.phmi drawing.ppm \
    > /dev/null 2>&1
m=$("$P" match --index draw.phmi -f jsonl --robust q/drawing-rot5-grow.jpg 2>/dev/null)
t_like "the turned drawing: no match with the picture alone stored, even --robust" "$m" \
    '"matches":\[\]'
"$P" index create drawaug.phmi &&
    "$P" index add --images --augment --source d drawaug.phmi drawing.ppm > /dev/null 2>&1
t_is "the drawing added with --augment" "$?" 0
m=$("$P" match --index drawaug.phmi -f jsonl q/drawing-rot5-grow.jpg 2>/dev/null)
t_like "... then it matches through rot+5-grown" "$m" '"known_variant":"rot+5-grown"'

# Stripes PDQ aliases (docs/ROBUST.md, "Rotation corners on busy
# pictures"): turned by 5 degrees, their filled copy hashes over the gate
# (the alias), but their hash is about the corners alone, as is the stored
# rot+5 of other such stripes. The copy of one meets four others' stored
# rotations at 16-30 bits on the build before; none now.
stripes() { # FREQ - 600 x 400 sinusoid stripes as P6
    awk -v f="$1" 'BEGIN { printf "P6\n600 400\n255\n";
        for (y = 0; y < 400; y++) for (x = 0; x < 600; x++) {
            v = int(128 + 90 * sin((x * 0.97 + y * 0.26) * f));
            printf "%c%c%c", v, int(v * 0.8) + 20, 200 - int(v / 2) } }'
}
for f in 0.50 0.55 0.70 0.85 0.90; do stripes $f > s$f.ppm; done
"$MKQ" -t rot5-fill q s0.85.ppm > /dev/null 2>&1
"$P" index create stripes.phmi
"$P" index add --images --augment --source s stripes.phmi s0.50.ppm s0.55.ppm s0.70.ppm \
    s0.90.ppm > /dev/null 2>&1
t_is "four stripe pictures added with their variants" "$?" 0
m=$("$P" match --index stripes.phmi -f jsonl --robust q/s0.85-rot5-fill.jpg 2>/dev/null)
t_like "a fifth one's turned copy meets none of their stored rotations" "$m" '"matches":\[\]'

# phmatchd: the same answers over its socket.
svc_need_phmatchd
svc_match_start "$T/busy.phmi"
t_ok "phmatchd started" test -n "$PORT"
for q in "" "?robust=1"; do
    code=$(svc_post q/flat-rot5-fill.jpg "$q")
    t_is "/v1/match$q: 200" "$code" 200
    t_like "/v1/match$q: no match through the stored rot+5" "$(cat "$T/out")" \
        '"matches": *\[\]'
done
code=$(svc_post q/busy-rot5-fill.jpg "?robust=1")
t_like "/v1/match?robust=1: the turned busy picture through rot+5" "$(cat "$T/out")" \
    '"known_variant": *"rot+5"'
code=$(svc_post q/busy-rotm5-grow.jpg "?robust=1")
t_like "/v1/match?robust=1: turned on a grown canvas, turned back" "$(cat "$T/out")" \
    '"variant": *"derotated"'
# HMA's image lookup (POST /m/lookup, multipart) keeps the rule too.
hma() { # FILE - the body of POST /m/lookup with FILE as its photo
    curl -s -m 20 -H "Authorization: Bearer $TOKEN" -F "photo=@$1" \
        "http://127.0.0.1:$PORT/m/lookup"
}
t_is "POST /m/lookup, the turned flat copy: no bank matched" "$(hma q/flat-rot5-fill.jpg)" \
    '{"pdq":{}}'
t_like "POST /m/lookup, the turned busy picture: its bank" "$(hma q/busy-rot5-fill.jpg)" \
    '"k"'
svc_stop "$PID"
t_done

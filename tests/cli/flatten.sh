#!/bin/sh
# flatten.sh - pictures with transparency as a viewer sees them
# (docs/ROBUST.md, "Pictures with transparency"). A drawing made in its
# alpha channel alone (black under every pixel, as a quarter of Debian's
# openclipart PNGs are) hashes to all zeros at quality 0 with alpha dropped,
# as the PDQ reference drops it; a sticker (a photo cut to a disc by its
# alpha) hashes as the whole rectangle. Their copies saved over white as
# JPEGs (what a browser, an editor or a platform's conversion gives) are
# checked against them:
#   - index add --images --augment stores the reference hash and
#     flat-white; the JPEG copies match through it;
#   - the transparent pictures as queries find an index of their copies
#     through variant flattened-white (tsv and jsonl), by default and in
#     --robust; with --no-flatten the drawing is flagged low_quality and
#     not searched; the pdq column is phmatch hash's either way;
#   - so do an animated WebP whose first frame is the drawing and the
#     drawing as HEIC, AVIF and JPEG XL (8 and 16 bits) with alpha, as
#     TIFF (unassociated and associated alpha) and as a 32-bit BMP;
#   - another drawing, the same all-zero reference hash, matches neither;
#   - phmatchd: POST /v1/match flattens by default, ?flatten=0 does not,
#     ?flatten=2 is refused.
# Pictures made with ImageMagick's convert. TAP.
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

mkdir "$T/k" "$T/c"
# A drawing in alpha alone: black shapes on a transparent (0,0,0,0) canvas.
convert -size 320x240 xc:none -fill black -draw 'circle 100,110 100,40' \
    -draw 'rectangle 180,30 300,90' -draw 'polygon 190,220 300,120 310,230' \
    -stroke black -strokewidth 6 -draw 'line 20,20 300,200' "$T/k/drawing.png"
# Another, as different as two drawings are.
convert -size 320x240 xc:none -fill black -draw 'rectangle 20,140 140,230' \
    -draw 'circle 230,80 230,20' -stroke black -strokewidth 8 \
    -draw 'line 10,120 310,10' "$T/other.png"
# A sticker: a photo cut to a disc, its colours kept under the clear part.
convert "$IMAGES/bridge-mods/aaa-orig.jpg" -resize 300x200\! \
    \( -size 300x200 xc:black -fill white -draw 'circle 150,100 150,8' \) \
    -alpha off -compose CopyOpacity -composite "$T/k/sticker.png"
for p in drawing sticker; do
    convert "$T/k/$p.png" -background white -alpha remove -alpha off -quality 85 \
        "$T/c/$p-white.jpg"
done

"$PHMATCH" hash -q "$T/k/drawing.png" "$T/k/sticker.png" "$T/other.png" >"$T/hash.tsv"
t_is "with alpha dropped both drawings hash to all zeros at quality 0" \
    "$(awk -F '\t' 'NR > 1 && $1 !~ /sticker/ { print $8 ":" $9 }' "$T/hash.tsv" | sort -u)" \
    "0000000000000000000000000000000000000000000000000000000000000000:0"

# row QUERY NAME FILE - NAME of the first line whose path ends in /QUERY.
row() {
    awk -F '\t' -v q="$1" -v name="$2" '
        NR == 1 { for (i = 1; i <= NF; i++) if ($i == name) c = i; next }
        $1 ~ ("/" q "$") { print $c; exit }' "$3"
}

# The known pictures augmented: their copies over white found.
"$PHMATCH" index create "$T/k.phmi" >/dev/null &&
    "$PHMATCH" index add --images --augment --source lab "$T/k.phmi" "$T/k" >/dev/null 2>&1
t_is "index add --images --augment of the transparent pictures" "$?" 0
"$PHMATCH" index export --format jsonl "$T/k.phmi" >"$T/k.jsonl" 2>/dev/null ||
    "$PHMATCH" index export "$T/k.phmi" >"$T/k.jsonl"
t_like "the drawing's entry keeps the all-zero reference hash" \
    "$(grep drawing "$T/k.jsonl")" "0000000000000000000000000000000000000000000000000000000000000000"
t_like "... and stores flat-white" "$(grep drawing "$T/k.jsonl")" "flat-white"
"$PHMATCH" match -q --index "$T/k.phmi" "$T/c" "$T/other.png" >"$T/copies.tsv"
t_is "match of the copies: exit 0" "$?" 0
for p in drawing sticker; do
    t_is "$p over white (JPEG) finds the $p" \
        "$(row $p-white.jpg id "$T/copies.tsv" | sed 's|.*/||')" "$p.png"
    d=$(row $p-white.jpg distance "$T/copies.tsv")
    t_ok "... within 31 ($d, known_variant $(row $p-white.jpg known_variant "$T/copies.tsv"))" \
        test "${d:-99}" -le 31
done
t_is "the other drawing matches nothing" "$(row other.png match_count "$T/copies.tsv")" 0

# A plain index of the copies (a hash list of what viewers saw): the
# transparent pictures as queries.
"$PHMATCH" index create "$T/c.phmi" >/dev/null &&
    "$PHMATCH" index add --images --source seen "$T/c.phmi" "$T/c" >/dev/null 2>&1
t_is "a plain index of the copies over white" "$?" 0
mkdir "$T/q" && cp "$T/k/drawing.png" "$T/k/sticker.png" "$T/other.png" "$T/q/"
"$PHMATCH" match -q --index "$T/c.phmi" "$T/q" >"$T/flat.tsv"
t_is "match (flattening by default): exit 0" "$?" 0
for p in drawing sticker; do
    t_is "the $p finds its copy through variant flattened-white" \
        "$(row $p.png id "$T/flat.tsv" | sed 's|.*/||') $(row $p.png variant "$T/flat.tsv")" \
        "$p-white.jpg flattened-white"
done
t_is "the drawing is searched (no low_quality flag)" "$(row drawing.png flags "$T/flat.tsv")" ""
t_is "the other drawing matches nothing" "$(row other.png match_count "$T/flat.tsv")" 0
t_is "the pdq column is phmatch hash's" \
    "$(tsv_col pdq "$T/flat.tsv" | sort | tr '\n' ' ')" \
    "$(tsv_col pdq "$T/hash.tsv" | sort | tr '\n' ' ')"
# An animated sticker: the drawing as the first frame of an animated WebP
# (the image phmatch hashes is that frame on the animation's canvas).
convert -size 320x240 xc:none -fill black -draw 'circle 160,120 160,20' "$T/frame2.png"
convert -delay 20 "$T/k/drawing.png" "$T/frame2.png" -loop 0 "$T/anim.webp"
# found_white WHAT FILE... - each FILE, matched against the copies' index,
# finds the drawing's copy over white through variant flattened-white.
found_white() {
    what=$1
    shift
    "$PHMATCH" match -q --index "$T/c.phmi" "$@" >"$T/found.tsv"
    for f; do
        b=$(basename "$f")
        t_is "$b ($what) finds the drawing's copy over white" \
            "$(row "$b" id "$T/found.tsv" | sed 's|.*/||') $(row "$b" variant "$T/found.tsv")" \
            "drawing-white.jpg flattened-white"
    done
}
found_white "an animated sticker: its first frame" "$T/anim.webp"
# The drawing as HEIC and AVIF with alpha (a phone's sticker or cut-out),
# where heif-enc is installed (make deps installs libheif-examples).
if t_have heif-enc; then
    heif-enc -q 90 "$T/k/drawing.png" -o "$T/drawing.heic" >/dev/null 2>&1
    heif-enc -A -q 90 "$T/k/drawing.png" -o "$T/drawing.avif" >/dev/null 2>&1
    found_white alpha "$T/drawing.heic" "$T/drawing.avif"
    t_is "... their pdq column is the reference's, all zeros" \
        "$(tsv_col pdq "$T/found.tsv" | sort -u)" \
        "0000000000000000000000000000000000000000000000000000000000000000"
else
    for f in drawing.heic drawing.avif "their pdq column"; do
        t_skip "$f" "heif-enc not installed"
    done
fi
# ... and as JPEG XL with alpha, 8- and 16-bit (cjxl, libjxl-tools).
if t_have cjxl; then
    cjxl "$T/k/drawing.png" "$T/drawing.jxl" -d 1 >/dev/null 2>&1
    convert "$T/k/drawing.png" -depth 16 "PNG64:$T/drawing16.png"
    cjxl "$T/drawing16.png" "$T/drawing16.jxl" -d 0 >/dev/null 2>&1
    found_white alpha "$T/drawing.jxl" "$T/drawing16.jxl"
else
    t_skip drawing.jxl "cjxl not installed"
    t_skip drawing16.jxl "cjxl not installed"
fi
# ... and as TIFF, grey and alpha unassociated and associated, and as a
# BMP (ImageMagick writes a 32-bit V4 one with an alpha mask).
convert "$T/k/drawing.png" "$T/drawing.tif"
convert "$T/k/drawing.png" -define tiff:alpha=associated "$T/drawing-assoc.tif"
convert "$T/k/drawing.png" "$T/drawing.bmp"
found_white alpha "$T/drawing.tif" "$T/drawing-assoc.tif" "$T/drawing.bmp"
"$PHMATCH" match -q -f jsonl --robust --index "$T/c.phmi" "$T/k/drawing.png" >"$T/r.jsonl"
t_like "--robust: found, jsonl variant flattened-white" "$(cat "$T/r.jsonl")" \
    '"variant":"flattened-white"'
"$PHMATCH" match -q --robust --index "$T/c.phmi" "$T/other.png" >"$T/r.tsv"
t_is "--robust: the other drawing matches nothing" "$(row other.png match_count "$T/r.tsv")" 0
"$PHMATCH" match -q --no-flatten --index "$T/c.phmi" "$T/q" >"$T/noflat.tsv"
t_is "--no-flatten: the drawing is low_quality, not searched" \
    "$(row drawing.png flags "$T/noflat.tsv")/$(row drawing.png match_count "$T/noflat.tsv")" \
    "low_quality/"
t_is "--no-flatten: the sticker's own hash misses its copy" \
    "$(row sticker.png match_count "$T/noflat.tsv")" 0

# ------------------------------------------------------------------
# phmatchd

svc_need_phmatchd
svc_match_start "$T/c.phmi"
t_is "phmatchd started" "$?" 0
t_is "POST /v1/match: the drawing, 200" "$(svc_post "$T/k/drawing.png" "")" 200
t_like "... matched through variant flattened-white" "$(cat "$T/out")" \
    '"id":"[^"]*drawing-white.jpg".*"variant":"flattened-white"'
t_like "... its all-zero hash, not low quality (as it looks)" "$(cat "$T/out")" \
    '"pdq":"0000000000000000000000000000000000000000000000000000000000000000","quality":0,.*"low_quality":false'
t_is "?flatten=0: 200" "$(svc_post "$T/k/drawing.png" "?flatten=0")" 200
t_like "... not searched: low quality" "$(cat "$T/out")" '"low_quality":true.*"not_matched":"low_quality"'
t_is "?flatten=2: 400" "$(svc_post "$T/k/drawing.png" "?flatten=2")" 400
t_is "the other drawing: 200" "$(svc_post "$T/other.png" "")" 200
t_like "... no match" "$(cat "$T/out")" '"matches":\[\]'
svc_stop "$PID"
t_is "phmatchd stops on SIGTERM" "$RC" 0
t_done

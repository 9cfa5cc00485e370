#!/bin/sh
# format_tiff.sh - TIFF conformance (issue 13): TIFFs made here by
# ImageMagick and libtiff's tools from data/known and data/photos, every
# variant phmatch reads (grey 1/4/8/16 bits, MinIsWhite, palettes, RGB 8
# and 16 bits, CMYK, JPEG in RGB and YCbCr, LZW, Deflate, PackBits, CCITT,
# predictor, tiles, separate planes, alpha, big-endian, several pages).
# Each file's `phmatch hash` (hash and quality) must equal, bit for bit,
# that of ImageMagick's decode: `convert 'F[0]' -alpha off png24:ref.png`.
# Then damaged files (corrupt, the batch goes on; a damaged later strip is
# recovered as ImageMagick recovers it), a header claiming a huge size
# (too_large at once), and phmatchd taking image/tiff. The pixels
# themselves are checked byte for byte in tests/unit/test_decode_tiff.c.
# TAP on stdout. Needs ImageMagick (convert) and libtiff-tools (tiffcp).
. "$(dirname "$0")/lib.sh"
t_need_phmatch

if ! t_have convert || ! t_have tiffcp; then
    echo "1..0 # SKIP ImageMagick or libtiff-tools missing (make deps installs them)"
    exit 0
fi

K=$ROOT/data/known
P=$ROOT/data/photos

# hq FILE - "FORMAT PDQ QUALITY" of phmatch's record for FILE.
hq() {
    "$PHMATCH" hash -f jsonl "$1" 2>/dev/null |
        sed -n 's/.*"format":"\([a-z]*\)".*"pdq":"\([0-9a-f]*\)","quality":\([0-9]*\).*/\1 \2 \3/p'
}

# conform NAME FILE - FILE's hash and quality are those of ImageMagick's
# decode, and its format is tiff.
conform() {
    rm -f "$T/ref.png"
    convert "$2[0]" -alpha off "png24:$T/ref.png" 2>/dev/null
    _want=$(hq "$T/ref.png")
    _got=$(hq "$2")
    if [ -z "$_want" ]; then
        t_fail "$1: ImageMagick decodes it"
        return
    fi
    t_is "$1: hash and quality of ImageMagick's decode" "$_got" "tiff ${_want#png }"
}

# im NAME SOURCE ARGS... - a TIFF written by ImageMagick, then conform.
im() {
    _n=$1 _s=$2
    shift 2
    if convert "$_s" "$@" "$T/$_n.tif" 2>/dev/null; then
        conform "$_n ($*)" "$T/$_n.tif"
    else
        t_fail "$_n: convert $*"
    fi
}

# cp NAME FROM ARGS... - a TIFF rewritten by tiffcp ARGS, then conform.
cp_tiff() {
    _n=$1 _f=$2
    shift 2
    if tiffcp "$@" "$T/$_f.tif" "$T/$_n.tif" 2>/dev/null; then
        conform "$_n (tiffcp $*)" "$T/$_n.tif"
    else
        t_fail "$_n: tiffcp $*"
    fi
}

# ---------------------------------------------------------------------------
# ImageMagick's TIFFs.
im rgb-none "$K/phone.jpg" -compress None
im rgb-lzw "$K/bridge.jpg" -compress LZW
im rgb-zip "$P/labelme-q1050.jpg" -compress Zip
im rgb-packbits "$K/pen-and-coaster.jpg" -compress RLE
im rgb-jpeg "$K/misc-c.jpg" -compress JPEG
im rgb16 "$K/bridge.jpg" -resize 90% -depth 16 -compress Zip
im rgb16-msb "$P/labelme-q2821.jpg" -resize 90% -depth 16 -endian MSB -compress LZW
im grey "$K/phone.jpg" -colorspace Gray
im grey16 "$K/bridge.jpg" -colorspace Gray -depth 16
im grey4 "$P/labelme-q0746.jpg" -colorspace Gray -depth 4
im bilevel-g4 "$K/pen-and-coaster.jpg" -monochrome -compress Group4
im bilevel-fax "$K/phone.jpg" -monochrome -compress Fax
im miniswhite "$K/bridge.jpg" -colorspace Gray -define quantum:polarity=min-is-white
im miniswhite16 "$P/labelme-q1050.jpg" -colorspace Gray -depth 16 \
    -define quantum:polarity=min-is-white
im palette "$K/phone.jpg" -type Palette
im palette4 "$K/bridge.jpg" -colors 16 -type Palette
im palette-cmap16 "$P/labelme-q0291.jpg" -depth 16 -resize 90% -colors 100 -type Palette
im cmyk "$K/pen-and-coaster.jpg" -colorspace CMYK
im cmyk-lzw "$K/phone.jpg" -colorspace CMYK -compress LZW
im cmyk16 "$K/bridge.jpg" -resize 90% -colorspace CMYK -depth 16
im cmyk-planes "$P/labelme-q0122.jpg" -colorspace CMYK -interlace Plane
im rgb-planes "$K/misc-c.jpg" -interlace Plane -compress LZW
im tiles "$K/phone.jpg" -define tiff:tile-geometry=64x64
im tiles16 "$K/bridge.jpg" -resize 90% -depth 16 -define tiff:tile-geometry=64x64 -compress Zip
im grey-alpha "$P/grey-alpha.png" -compress LZW
im grey-alpha-associated "$P/grey-alpha.png" -define tiff:alpha=associated
im rgb-alpha-associated "$P/grey-alpha.png" -type TrueColorAlpha -define tiff:alpha=associated
im rgb-alpha "$K/misc-c.jpg" -alpha set -compress Zip
im photo "$P/bridge.jpg" -compress LZW

# Several pages: the first is hashed.
convert "$K/phone.jpg" "$K/bridge.jpg" "$T/pages.tif" 2>/dev/null
conform "two pages (first hashed)" "$T/pages.tif"
t_is "... the first page's hash (phone.jpg's), not the second's" \
    "$(hq "$T/pages.tif" | cut -d ' ' -f 2)" "$(hq "$T/rgb-none.tif" | cut -d ' ' -f 2)"

# libtiff's tools, for what ImageMagick does not write.
cp_tiff predictor-lzw rgb-none -c lzw:2
cp_tiff predictor-zip16 rgb16 -c zip:2
cp_tiff tiles-32x48 rgb-none -t -w 32 -l 48 -c packbits
cp_tiff planes-packbits rgb-alpha-associated -p separate -c packbits
# Grey with alpha in separate planes (only tiffcp writes these): ImageMagick
# 6.9.11 reads the alpha plane into green and takes the luma of (grey,
# alpha, grey) as the picture, a bug phmatch does not copy: it gives the
# contiguous file's pixels. The distance to ImageMagick's decode is pinned.
tiffcp -p separate -c packbits "$T/grey-alpha-associated.tif" "$T/grey-planes.tif"
convert "$T/grey-planes.tif[0]" -alpha off "png24:$T/grey-planes.png" 2>/dev/null
t_is "grey + alpha, separate planes: the contiguous file's hash" \
    "$(hq "$T/grey-planes.tif")" "$(hq "$T/grey-alpha-associated.tif")"
if t_python; then
    t_is "... at distance 108 from ImageMagick's (its alpha-into-green bug)" \
        "$(python3 -c 'import sys; print(bin(int(sys.argv[1], 16) ^ int(sys.argv[2], 16)).count("1"))' \
            "$(hq "$T/grey-planes.tif" | cut -d ' ' -f 2)" "$(hq "$T/grey-planes.png" | cut -d ' ' -f 2)")" \
        108
else
    t_skip "... distance to ImageMagick's" "no python3"
fi
cp_tiff jpeg-ycbcr rgb-none -c jpeg -r 16
cp_tiff bilevel-g3 bilevel-g4 -c g3
cp_tiff cmyk-tiles cmyk -t -w 64 -l 64 -c zip

# ---------------------------------------------------------------------------
# Damaged files: one record each, the batch goes on, exit 1.
convert "$K/phone.jpg" -compress LZW -define tiff:rows-per-strip=16 "$T/strips.tif"
size=$(wc -c <"$T/strips.tif")
head -c $((size / 2)) "$T/strips.tif" >"$T/cut.tif" # the directory is at the end
printf 'II*\000\010\000\000\000\377\377' >"$T/header.tif"
# damage IN OUT N - OUT is IN with bytes 20 to 420 of strip or tile N
# overwritten (0xFF: LZW codes that are not in the table).
damage() {
    python3 - "$@" <<'EOF' 2>/dev/null || cp "$1" "$2"
import subprocess, sys
d = bytearray(open(sys.argv[1], "rb").read())
out = subprocess.run(["tiffinfo", "-s", sys.argv[1]], capture_output=True, text=True).stdout
blocks = [l.split("[")[1] for l in out.splitlines() if l.strip().startswith(sys.argv[3] + ":")]
off = int(blocks[0].split(",")[0])
for i in range(off + 20, off + 420):
    d[i] = 0xFF
open(sys.argv[2], "wb").write(d)
EOF
}
damage "$T/strips.tif" "$T/damaged.tif" 3
"$PHMATCH" hash -f jsonl "$T/cut.tif" "$T/header.tif" "$T/damaged.tif" "$T/rgb-none.tif" \
    >"$T/bad.jsonl" 2>"$T/bad.err"
t_is "damaged files: exit 1" "$?" 1
t_is "... one record per input, the batch goes on" "$(grep -c '"status":"ok"' "$T/bad.jsonl")/$(wc -l <"$T/bad.jsonl")" 1/4
t_like "cut short: corrupt, naming libtiff's complaint" "$(grep cut.tif "$T/bad.jsonl")" \
    '"status":"corrupt".*"error":"[A-Za-z].*TIFF directory'
t_like "a header and nothing else: corrupt" "$(grep header.tif "$T/bad.jsonl")" '"status":"corrupt"'
t_like "a damaged fourth strip: corrupt (recovered, not accepted)" \
    "$(grep damaged.tif "$T/bad.jsonl")" '"status":"corrupt".*rows from 48 left black'
convert "$T/damaged.tif[0]" -alpha off "png24:$T/damaged.png" 2>/dev/null
t_is "... --accept-recovered: ImageMagick's partial image (rows after the damage black)" \
    "$("$PHMATCH" hash -f jsonl --accept-recovered "$T/damaged.tif" 2>/dev/null |
        sed -n 's/.*"pdq":"\([0-9a-f]*\)","quality":\([0-9]*\),"flags":\["recovered"\].*/\1 \2/p')" \
    "$(hq "$T/damaged.png" | cut -d ' ' -f 2,3)"

# A damaged tile: ImageMagick blackens it and the rest of its row of tiles
# and goes on with the next row; so does phmatch.
convert "$K/phone.jpg" -compress LZW -define tiff:tile-geometry=64x64 "$T/tiles-lzw.tif"
damage "$T/tiles-lzw.tif" "$T/damaged-tile.tif" 13
convert "$T/damaged-tile.tif[0]" -alpha off "png24:$T/damaged-tile.png" 2>/dev/null
"$PHMATCH" hash -f jsonl --accept-recovered "$T/damaged-tile.tif" >"$T/dt.jsonl" 2>/dev/null
t_like "a damaged tile: recovered" "$(cat "$T/dt.jsonl")" \
    '"flags":\["recovered"\].*1 damaged tiles, the first in rows from 64'
t_is "... ImageMagick's partial image (the rest of that row of tiles black)" \
    "$(sed -n 's/.*"pdq":"\([0-9a-f]*\)","quality":\([0-9]*\).*/\1 \2/p' "$T/dt.jsonl")" \
    "$(hq "$T/damaged-tile.png" | cut -d ' ' -f 2,3)"

# A header claiming 100000 x 100000 pixels: too_large before any pixel
# memory (the check comes before the first strip is read).
cp "$T/grey.tif" "$T/huge.tif"
tiffset -s 256 100000 "$T/huge.tif" 2>/dev/null
tiffset -s 257 100000 "$T/huge.tif" 2>/dev/null
"$PHMATCH" hash -f jsonl "$T/huge.tif" >"$T/huge.jsonl" 2>/dev/null
t_like "100000 x 100000 claimed: too_large" "$(cat "$T/huge.jsonl")" \
    '"status":"too_large".*100000x100000 pixels is over the limit'
if [ -x /usr/bin/time ]; then
    /usr/bin/time -f '%M' "$PHMATCH" hash "$T/huge.tif" >/dev/null 2>"$T/huge.time"
    t_ok "... with under 64 MB of memory ($(tail -1 "$T/huge.time") KB)" \
        test "$(tail -1 "$T/huge.time")" -lt 65536
else
    t_skip "... memory" "no /usr/bin/time"
fi

# ---------------------------------------------------------------------------
# phmatchd: POST /v1/hash with Content-Type image/tiff.
case $BUILD in
/*) PHMATCHD=$BUILD/phmatchd ;;
*) PHMATCHD=$ROOT/$BUILD/phmatchd ;;
esac
if ! t_have curl || [ ! -x "$PHMATCHD" ]; then
    t_skip "phmatchd: image/tiff" "curl or phmatchd missing"
else
    TOKEN=admin-token-0123456789abcdef
    printf 'ops admin %s\n' "$TOKEN" >"$T/tokens"
    chmod 600 "$T/tokens"
    trap 'svc_kill_all; t_cleanup' EXIT
    if svc_start tiff --socket '' --listen 127.0.0.1:0 --tokens "$T/tokens" --threads 1; then
        code=$(curl -s -m 20 -o "$T/svc.out" -w '%{http_code}' \
            -H "Authorization: Bearer $TOKEN" -H 'Content-Type: image/tiff' \
            --data-binary @"$T/cmyk16.tif" "http://127.0.0.1:$PORT/v1/hash")
        want=$(hq "$T/cmyk16.tif" | cut -d ' ' -f 2)
        t_is "phmatchd: POST /v1/hash image/tiff: 200 and phmatch's hash" \
            "$code $(grep -o '"pdq":"[0-9a-f]*"' "$T/svc.out")" "200 \"pdq\":\"$want\""
        t_like "... format tiff" "$(cat "$T/svc.out")" '"format":"tiff"'
        svc_stop "$PID"
    else
        t_fail "phmatchd starts"
        t_diag "$(cat "$T/tiff.log")"
    fi
fi

t_done

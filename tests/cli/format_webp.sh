#!/bin/sh
# format_webp.sh - WebP images against ImageMagick's decode of the same
# file: each variant, made here by ImageMagick (webpmux for what it cannot
# write), hashes bit for bit (hash and quality) as the PNG that
# `convert 'F[0]' -alpha off png24:` makes of it. Then damaged and hostile
# files (truncated, over the pixel limit, a header lying about the size),
# and one POST /v1/hash of a WebP to phmatchd. TAP on stdout.
. "$(dirname "$0")/lib.sh"

t_need_phmatch
if ! t_have convert || ! convert -list format 2>/dev/null | grep -q 'WEBP.* rw'; then
    echo "1..0 # SKIP ImageMagick with WebP not installed (make deps installs it)"
    exit 0
fi

K=$ROOT/data/known
P=$ROOT/data/photos
W=$T/webp
mkdir -p "$W"

# ------------------------------------------------------------------
# Variants

# A fake but well-formed ICC header (no tags): ImageMagick stores it as it
# is, in an ICCP chunk; nobody applies it.
# 132 bytes: size, CMM, version 2.1, class, colour space, PCS, date,
# 'acsp', zeros, no tags.
{
    printf '\000\000\000\204none\002\020\000\000mntrRGB XYZ '
    head -c 12 /dev/zero
    printf 'acsp'
    head -c 92 /dev/zero
} >"$T/fake.icc"
printf '%s' '<x:xmpmeta xmlns:x="adobe:ns:meta/"></x:xmpmeta>' >"$T/meta.xmp"

convert "$K/phone.jpg" -resize 160x120 -quality 75 "$W/lossy.webp"
convert "$K/bridge.jpg" -resize 96x64 -quality 10 "$W/lossy-q10.webp"
convert "$K/bridge.jpg" -resize 150x100 -define webp:lossless=true "$W/lossless.webp"
convert "$K/misc-c.jpg" -resize 140x100 -alpha set -channel A -fx 'i/w' +channel \
    -quality 80 "$W/alpha-lossy.webp"
convert "$K/misc-c.jpg" -resize 140x100 -alpha set -channel A -fx 'j/h' +channel \
    -define webp:lossless=true "$W/alpha-lossless.webp"
# Transparent pixels keep their colour (exact), which ImageMagick shows
# once alpha is off.
convert "$K/pen-and-coaster.jpg" -resize 130x97 -alpha set -channel A -fx 'i<40?0:1' \
    +channel -define webp:exact=true -quality 85 "$W/alpha-exact.webp"
convert "$P/grey-alpha.png" -resize 120x120 -quality 60 "$W/grey-alpha.webp"
# Extended: EXIF (kept from the JPEG), XMP, ICC.
convert "$P/bridge.jpg" -resize 120x90 -profile "$T/meta.xmp" -profile "$T/fake.icc" \
    -quality 70 "$W/extended.webp"
# Animated, three frames of different sizes and delays.
convert "$K/phone.jpg" -resize 200x150 "$T/a.png"
convert "$K/bridge.jpg" -resize 120x80 "$T/b.png"
convert "$K/misc-c.jpg" -resize 160x100 "$T/c.png"
convert -delay 10 "$T/a.png" -delay 25 "$T/b.png" -delay 40 "$T/c.png" -loop 0 \
    "$W/anim.webp"
# Animated with a first frame smaller than the canvas, at an offset:
# ImageMagick cannot write that, webpmux (Debian's webp) can.
if t_have webpmux; then
    convert "$T/a.png" -resize 80x60 -quality 80 "$T/f1.webp"
    convert "$T/b.png" -define webp:lossless=true "$T/f2.webp"
    convert "$T/c.png" -quality 80 "$T/f3.webp"
    webpmux -frame "$T/f1.webp" +100+10+20+0-b -frame "$T/f2.webp" +150+30+40+1+b \
        -frame "$T/f3.webp" +200+0+0+0+b -loop 0 -bgcolor 255,0,0,255 \
        -o "$W/anim-offset.webp" >/dev/null 2>&1
fi

check_chunk() { # FILE TAG - the file has a chunk TAG (a variant really is one)
    grep -q "$2" "$1"
}
t_ok "lossless.webp is VP8L" check_chunk "$W/lossless.webp" VP8L
t_ok "alpha-lossy.webp has ALPH" check_chunk "$W/alpha-lossy.webp" ALPH
t_ok "extended.webp has EXIF and ICCP" sh -c "grep -q EXIF '$W/extended.webp' && grep -q ICCP '$W/extended.webp'"
t_ok "anim.webp has ANMF" check_chunk "$W/anim.webp" ANMF

for f in "$W"/*.webp; do
    b=${f##*/}
    convert "$f[0]" -alpha off "png24:$T/ref-$b.png" 2>/dev/null
    want=$("$PHMATCH" hash -q -f pdq "$T/ref-$b.png" | cut -d , -f 1,2)
    got=$("$PHMATCH" hash -q -f jsonl "$f")
    pdq=$(printf '%s' "$got" | sed -n 's/.*"pdq":"\([0-9a-f]*\)","quality":\([0-9]*\).*/\1,\2/p')
    t_is "$b: hash and quality of ImageMagick's decode" "$pdq" "$want"
    t_like "$b: format webp, status ok" "$got" '"status":"ok","size":[0-9]*,"format":"webp"'
done
if [ -f "$W/anim-offset.webp" ]; then
    t_like "anim-offset.webp: the canvas size (ImageMagick's)" \
        "$("$PHMATCH" hash -q -f jsonl "$W/anim-offset.webp")" '"width":160,"height":115'
else
    t_skip "anim-offset.webp" "webpmux not installed"
fi

# ------------------------------------------------------------------
# Damage and limits

# Half of a lossless file: libwebp's incremental decoder gets the first rows.
head -c $(($(wc -c <"$W/lossless.webp") / 2)) "$W/lossless.webp" >"$T/cut-lossless.webp"
head -c 700 "$W/lossy.webp" >"$T/cut-lossy.webp"
head -c 3000 "$W/anim.webp" >"$T/cut-anim.webp"
head -c 20 "$W/lossy.webp" >"$T/cut-header.webp"
"$PHMATCH" hash -q -f jsonl "$T/cut-lossless.webp" "$W/lossy.webp" "$T/cut-anim.webp" \
    "$T/cut-header.webp" "$W/lossless.webp" >"$T/cut.jsonl" 2>"$T/cut.err"
rc=$?
t_ok "truncated files: exit non-zero ($rc)" test "$rc" -ne 0
t_is "one record per input" "$(wc -l <"$T/cut.jsonl" | tr -d ' ')" 5
t_like "truncated lossless: corrupt" "$(sed -n 1p "$T/cut.jsonl")" '"status":"corrupt"'
t_like "... the batch goes on" "$(sed -n 2p "$T/cut.jsonl")" '"status":"ok"'
t_like "truncated animation: corrupt" "$(sed -n 3p "$T/cut.jsonl")" \
    '"status":"corrupt".*truncated WebP container'
t_like "cut in the header: corrupt, naming libwebp's status" "$(sed -n 4p "$T/cut.jsonl")" \
    '"status":"corrupt".*VP8_STATUS_NOT_ENOUGH_DATA'
t_like "... and the next file is hashed" "$(sed -n 5p "$T/cut.jsonl")" '"status":"ok"'
out=$("$PHMATCH" hash -q -f jsonl --accept-recovered "$T/cut-lossless.webp")
t_like "--accept-recovered: the rows libwebp decoded, flagged recovered" "$out" \
    '"status":"ok".*"flags":\["recovered"\].*"error":"truncated WebP image, [1-9][0-9]* of 94 rows decoded"'

out=$("$PHMATCH" hash -q -f jsonl --max-pixels 10000 "$W/lossy.webp" "$W/anim.webp")
t_like "--max-pixels: a still over it is too_large" "$(echo "$out" | sed -n 1p)" \
    '"status":"too_large"'
t_like "... an animation's canvas too" "$(echo "$out" | sed -n 2p)" '"status":"too_large"'

# A lossy header saying 16383 x 16383 (over the 100 MP default) on a few
# bytes: refused from the header, before any pixel memory.
if t_python; then
python3 - "$W/lossy.webp" "$T/huge.webp" "$T/liar.webp" <<'EOF'
import sys
d = bytearray(open(sys.argv[1], 'rb').read())
assert d[12:16] == b'VP8 ' and d[23:26] == b'\x9d\x01\x2a'
h = bytearray(d)
h[26:30] = (16383).to_bytes(2, 'little') * 2
open(sys.argv[2], 'wb').write(h)
# VP8X canvas of 4000 x 3000 around a 160 x 120 bitstream: a lie.
vp8x = b'VP8X' + (10).to_bytes(4, 'little') + bytes(4) + \
    (3999).to_bytes(3, 'little') + (2999).to_bytes(3, 'little')
body = b'WEBP' + vp8x + bytes(d[12:])
open(sys.argv[3], 'wb').write(b'RIFF' + len(body).to_bytes(4, 'little') + body)
EOF
out=$("$PHMATCH" hash -q -f jsonl "$T/huge.webp" "$T/liar.webp")
t_like "a 16383x16383 header: too_large" "$(echo "$out" | sed -n 1p)" \
    '"status":"too_large".*16383x16383'
t_like "a VP8X canvas larger than the image: corrupt" "$(echo "$out" | sed -n 2p)" \
    '"status":"corrupt".*VP8_STATUS_BITSTREAM_ERROR'
else
    t_skip "hostile headers" "python3 not installed"
    t_skip "hostile headers" "python3 not installed"
fi

# ------------------------------------------------------------------
# phmatchd

case $BUILD in
/*) PHMATCHD=$BUILD/phmatchd ;;
*) PHMATCHD=$ROOT/$BUILD/phmatchd ;;
esac
if t_have curl && [ -x "$PHMATCHD" ]; then
    trap 'svc_kill_all; t_cleanup' EXIT
    if svc_start webp --socket "$T/s.sock" --threads 1; then
        want=$("$PHMATCH" hash -q -f pdq "$W/lossy.webp" | cut -d , -f 1)
        body=$(curl -s -m 20 --unix-socket "$T/s.sock" -H 'Content-Type: image/webp' \
            --data-binary @"$W/lossy.webp" http://localhost/v1/hash)
        t_like "phmatchd: POST /v1/hash image/webp gives phmatch's pdq" "$body" \
            "\"pdq\":\"$want\".*\"format\":\"webp\""
        svc_stop "$PID"
    else
        t_fail "phmatchd starts"
        t_diag "$(cat "$T/webp.log")"
    fi
else
    t_skip "phmatchd POST /v1/hash" "curl or phmatchd missing"
fi

t_done

#!/bin/sh
# format_jxl.sh - JPEG XL (issue 13): files made here by cjxl hash bit for
# bit, in hash and quality, as djxl's PNG of the same file (`djxl F ref.png`,
# then `phmatch hash ref.png`: Debian's ImageMagick 6 cannot read JPEG XL).
# Lossless and lossy, 16-bit input, grey, alpha, a recompressed JPEG, an
# EXIF-rotated JPEG (the orientation applied) and an animation (its first
# frame). Also: truncated and corrupt files are corrupt and the batch goes
# on, the pixel limit, and phmatchd hashes an image/jxl upload. TAP on
# stdout. Needs cjxl and djxl (libjxl-tools) and ImageMagick; `make deps`
# installs them.
. "$(dirname "$0")/lib.sh"
t_need_phmatch

if ! t_have cjxl || ! t_have djxl || ! t_have convert; then
    echo "1..0 # SKIP cjxl, djxl or ImageMagick not installed (make deps)"
    exit 0
fi
SRC=$ROOT/data/known/phone.jpg

# same F W H - F's hash and quality equal those of djxl's PNG, its format
# jxl, its size W x H.
same() {
    _ref=$T/$(basename "$1").ref.png
    if ! djxl "$1" "$_ref" --quiet >/dev/null 2>"$T/djxl.err"; then
        t_fail "$(basename "$1"): djxl decodes it"
        t_diag "$(cat "$T/djxl.err")"
        return
    fi
    same_as_ref "$1" "$_ref" jxl "$2" "$3"
}
field() { jsonl_field "$@"; }

enc() {
    _out=$1
    shift
    cjxl "$@" "$T/$_out" >/dev/null 2>&1 || t_diag "cjxl $* failed"
}

convert "$SRC" -resize 256x192 -depth 8 "$T/src.png"
convert "$SRC" -resize 99x77! -depth 16 "$T/deep.png"
convert "$T/src.png" -colorspace gray -depth 8 "$T/grey.png"
convert "$T/src.png" -alpha set -channel A -fx 'i/w' +channel "$T/alpha.png"
convert "$T/src.png" -flip "$T/flip.png"
convert -delay 10 "$T/flip.png" "$T/src.png" -loop 0 "$T/anim.gif"

enc lossless.jxl "$T/src.png" -d 0
enc lossy.jxl "$T/src.png" -d 1
enc lossy-e3.jxl "$T/src.png" -d 2.5 -e 3
enc alpha.jxl "$T/alpha.png" -d 1
enc anim.jxl "$T/anim.gif"
for f in lossless lossy lossy-e3 alpha anim; do same "$T/$f.jxl" 256 192; done
enc deep-lossless.jxl "$T/deep.png" -d 0
enc deep-lossy.jxl "$T/deep.png" -d 1
for f in deep-lossless deep-lossy; do same "$T/$f.jxl" 99 77; done
enc grey-lossless.jxl "$T/grey.png" -d 0
enc grey-lossy.jxl "$T/grey.png" -d 1
for f in grey-lossless grey-lossy; do same "$T/$f.jxl" 256 192; done
t_is "a grey file stays one channel (luma = grey)" \
    "$("$PHMATCH" hash -f jsonl "$T/grey-lossy.jxl" 2>/dev/null | grep -c '"status":"ok"')" 1
enc jpeg.jxl "$SRC"
same "$T/jpeg.jxl" 640 480
# EXIF orientation 6 (rotate 90 clockwise) becomes the JPEG XL header's
# orientation, which libjxl applies, as djxl does: 320x240 shows as 240x320.
convert "$ROOT/tests/data/pdq/images/reg-test-input/exif-rotn/exif-rotn-6.jpg" \
    -resize 320x240 "$T/rot6.jpg"
enc rot6.jxl "$T/rot6.jpg"
enc rot6-pixels.jxl "$T/rot6.jpg" -j 0 -d 1
same "$T/rot6.jxl" 240 320
same "$T/rot6-pixels.jxl" 240 320
# The animation's first frame is the flipped picture, not the second one.
a=$("$PHMATCH" hash -f jsonl "$T/anim.jxl" 2>/dev/null)
b=$("$PHMATCH" hash -f jsonl "$T/lossless.jxl" 2>/dev/null)
t_ok "the animation gives its first frame" test "$(field pdq "$a")" != "$(field pdq "$b")"

# ---------------------------------------------------------------------------
# Hostile and broken input.
n=$(wc -c <"$T/lossy.jxl")
head -c $((n / 2)) "$T/lossy.jxl" >"$T/cut-half.jxl"
head -c $((n - 1)) "$T/lossy.jxl" >"$T/cut-end.jxl"
head -c 10 "$T/lossy.jxl" >"$T/cut-head.jxl"
{ head -c 40 "$T/lossy.jxl"; head -c 600 /dev/zero; } >"$T/garbage.jxl"
corrupt_batch "$T/lossy.jxl" "$T/cut-half.jxl" "$T/cut-end.jxl" "$T/cut-head.jxl" \
    "$T/garbage.jxl"
t_like "... a cut file: premature end of data" "$(cat "$T/bad.err")" \
    "cannot hash '.*cut-end.jxl': premature end of data"
"$PHMATCH" hash -q -f tsv --max-pixels 40000 "$T/lossy.jxl" "$T/deep-lossy.jxl" \
    >"$T/big.tsv" 2>"$T/big.err"
t_is "--max-pixels 40000: 256x192 too_large, 99x77 ok" \
    "$(tsv_col status "$T/big.tsv" | tr '\n' ' ')" "too_large ok "
t_like "... with the size" "$(cat "$T/big.err")" "256x192 pixels is over the limit of 40000"

# ---------------------------------------------------------------------------
# phmatchd: POST /v1/hash with Content-Type image/jxl.
case $BUILD in
/*) PHMATCHD=$BUILD/phmatchd ;;
*) PHMATCHD=$ROOT/$BUILD/phmatchd ;;
esac
if t_have curl && [ -x "$PHMATCHD" ]; then
    trap 'svc_kill_all; t_cleanup' EXIT
    if svc_start jxl --socket "$T/jxl.sock"; then
        code=$(curl -s -m 30 --unix-socket "$T/jxl.sock" -o "$T/out" -w '%{http_code}' \
            -H "Content-Type: image/jxl" --data-binary @"$T/lossy.jxl" http://localhost/v1/hash)
        cli=$("$PHMATCH" hash -f jsonl "$T/lossy.jxl" 2>/dev/null)
        t_is "phmatchd: POST /v1/hash image/jxl: 200 and phmatch's hash" \
            "$code $(grep -o '"pdq":"[0-9a-f]*"' "$T/out")" "200 \"pdq\":\"$(field pdq "$cli")\""
        svc_stop "$PID"
    else
        t_fail "phmatchd starts"
        t_diag "$(cat "$T/jxl.log")"
    fi
else
    t_skip "phmatchd: POST /v1/hash image/jxl" "no curl or no phmatchd"
fi

t_done

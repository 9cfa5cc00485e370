#!/bin/sh
# format_bmp.sh - BMP conformance (issue 13): every BMP variant phmatch reads
# hashes, bit for bit and in quality, as ImageMagick's decode of the same
# file does (`convert 'F[0]' -alpha off png24:ref.png`, then `phmatch hash
# ref.png`). Files come from ImageMagick (bmp2 = OS/2 1.x, bmp3, bmp4, bmp;
# palettes, 16 and 2 colours, RLE8, RGB565/RGB555/ARGB4444/ARGB1555, 32-bit
# with alpha) and from tests/cli/mkbmp.py for what ImageMagick cannot write
# (top-down, RLE4, deltas, odd bit fields, OS/2 2.x and 52/56-byte headers).
# Hostile files: each refused or recovered with a message, the batch goes
# on, exit non-zero. One POST /v1/hash with Content-Type image/bmp.
# TAP on stdout. Needs ImageMagick's convert and python3.
. "$(dirname "$0")/lib.sh"

if ! t_have convert || ! t_python; then
    echo "1..0 # SKIP needs ImageMagick's convert and python3 (make deps installs them)"
    exit 0
fi
t_need_phmatch

# rec FILE [OPTIONS] - "pdq quality status format flags" of phmatch's
# record ("None" for an empty field but flags). Read from the tsv output
# with awk: a python3 start per file was most of this test's time.
rec() {
    _f=$1
    shift
    "$PHMATCH" hash -f tsv "$@" "$_f" 2>/dev/null | awk -F '\t' '
        NR == 1 { for (i = 1; i <= NF; i++) c[$i] = i; next }
        NR == 2 { n = split("pdq quality status format flags", k, " ")
            for (i = 1; i <= n; i++) {
                v = $(c[k[i]])
                if (v == "" && i < n) v = "None"
                printf "%s%s", v, (i < n ? " " : "\n")
            } }'
}

# ref FILE - "pdq quality" of ImageMagick's decode. ImageMagick reads the
# bytes after a 52-byte or OS/2 2.x header as gamma and chromaticities,
# which libpng then refuses to write into gAMA: those files get the same
# pixels without the chunk.
# ImageMagick's exit status is 1 when it warns (a damaged file) even though
# it writes the image, so the test is whether the PNG is there.
ref() {
    rm -f "$T/ref.png"
    convert "$1[0]" -alpha off png24:"$T/ref.png" 2>/dev/null
    if [ ! -s "$T/ref.png" ]; then
        rm -f "$T/ref.png"
        convert "$1[0]" -alpha off -define png:exclude-chunk=gAMA,cHRM \
            png24:"$T/ref.png" 2>/dev/null
    fi
    if [ ! -s "$T/ref.png" ]; then
        echo "no ImageMagick image"
        return
    fi
    rec "$T/ref.png" | cut -d ' ' -f 1-2
}

# same NAME FILE [OPTION] - FILE's phmatch hash and quality equal
# ImageMagick's, status ok, format bmp.
same() {
    _got=$(rec "$2" ${3:-} | cut -d ' ' -f 1-4)
    _want=$(ref "$2")
    t_is "$1" "$_got" "$_want ok bmp"
}

# ---------------------------------------------------------------------------
# Files ImageMagick writes.
mkdir -p "$T/im"
# Each variant from a 97x61 copy of two photos (odd width: row padding),
# and from one photo at full size.
convert "$ROOT/data/known/phone.jpg" -resize '97x61!' "$T/im/phone-small.png"
convert "$ROOT/data/photos/labelme-q0291.jpg" -resize '97x61!' "$T/im/labelme-small.png"
for src in "$T/im/phone-small.png" "$T/im/labelme-small.png" "$ROOT/data/known/bridge.jpg"; do
    for s in "$src"; do
        n=$(basename "$s" | sed 's/\..*//')
        convert "$s" bmp3:"$T/im/$n-bmp3.bmp"
        convert "$s" bmp2:"$T/im/$n-bmp2.bmp"
        convert "$s" -define bmp:format=bmp4 bmp:"$T/im/$n-bmp4.bmp"
        convert "$s" bmp:"$T/im/$n-bmp.bmp"
        convert "$s" -type palette bmp3:"$T/im/$n-palette.bmp"
        convert "$s" -type palette -compress none bmp3:"$T/im/$n-palette-raw.bmp"
        convert "$s" -type palette -compress RLE bmp3:"$T/im/$n-palette-rle.bmp"
        convert "$s" -colors 16 -depth 4 bmp3:"$T/im/$n-colors16.bmp"
        convert "$s" -colors 2 -depth 1 bmp3:"$T/im/$n-colors2.bmp"
        convert "$s" -colors 2 -depth 1 bmp2:"$T/im/$n-colors2-os2.bmp"
        convert "$s" -colorspace gray -type grayscale bmp3:"$T/im/$n-grey.bmp"
        for st in RGB565 RGB555; do
            convert "$s" -define bmp:subtype=$st bmp:"$T/im/$n-$st.bmp"
        done
        for st in ARGB4444 ARGB1555; do
            convert "$s" -alpha set -define bmp:subtype=$st bmp:"$T/im/$n-$st.bmp"
        done
        convert "$s" -alpha set -channel A -fx 0.5 +channel bmp:"$T/im/$n-alpha32.bmp"
    done
done
for f in "$T"/im/*.bmp; do
    same "ImageMagick's $(basename "$f"): hash and quality of its decode" "$f"
done
# The subtypes must really be what they say (16 bits with those masks).
t_is "RGB565 is 16-bit BI_BITFIELDS with a 6-bit green" \
    "$(od -An -tu2 -j28 -N2 "$T/im/phone-small-RGB565.bmp" | tr -d ' ')/$(od -An -tx4 -j58 -N4 "$T/im/phone-small-RGB565.bmp" | tr -d ' ')" \
    "16/000007e0"
t_is "RLE8 is compression 1" "$(od -An -tu4 -j30 -N4 "$T/im/phone-small-palette-rle.bmp" | tr -d ' ')" 1
t_is "bmp2 is an OS/2 1.x header (12 bytes)" \
    "$(od -An -tu4 -j14 -N4 "$T/im/phone-small-bmp2.bmp" | tr -d ' ')" 12

# ---------------------------------------------------------------------------
# Files packed by mkbmp.py.
convert "$ROOT/data/known/pen-and-coaster.jpg" -resize '97x61!' -depth 8 "$T/src.ppm"
convert "$T/src.ppm" -colors 16 -depth 8 "$T/src16.ppm"
convert "$T/src.ppm" -colors 200 -depth 8 "$T/src256.ppm"
python3 "$ROOT/tests/cli/mkbmp.py" "$T/src.ppm" "$T/src16.ppm" "$T/src256.ppm" "$T/g" ||
    t_fail "mkbmp.py ran"
for f in "$T"/g/ok-*.bmp; do
    same "$(basename "$f"): hash and quality of ImageMagick's decode" "$f"
done
while read -r a b; do
    t_is "$a (ImageMagick 6.9.11 cannot read it): the pixels of $b" \
        "$(rec "$T/g/$a.bmp" | cut -d ' ' -f 1-4)" "$(ref "$T/g/$b.bmp") ok bmp"
done <"$T/g/pairs"
for f in "$T"/g/rec-*.bmp; do
    n=$(basename "$f")
    t_is "$n: without --accept-recovered, an error" "$(rec "$f" | cut -d ' ' -f 1,3)" \
        "None corrupt"
    same "$n: --accept-recovered gives ImageMagick's pixels" "$f" --accept-recovered
    t_like "... flagged recovered" "$(rec "$f" --accept-recovered)" "recovered"
done

# ---------------------------------------------------------------------------
# Hostile files: one record each, a message, the batch goes on, exit 1.
"$PHMATCH" hash -f jsonl "$T"/g/bad-*.bmp "$T"/g/big-*.bmp "$T/g/ok-rle4.bmp" \
    >"$T/bad.jsonl" 2>"$T/bad.err"
t_is "hostile batch: exit 1" "$?" 1
t_is "... one record per file" "$(wc -l <"$T/bad.jsonl" | tr -d ' ')" \
    "$(ls "$T"/g/bad-*.bmp "$T"/g/big-*.bmp "$T/g/ok-rle4.bmp" | wc -l | tr -d ' ')"
t_like "... the good file after them is hashed" "$(cat "$T/bad.jsonl")" \
    'ok-rle4.bmp","status":"ok"'
status_of() {
    python3 -c 'import json, sys
for l in sys.stdin:
    r = json.loads(l)
    if r["path"].endswith("/" + sys.argv[1] + ".bmp"):
        print(r["status"], r["error"])' "$1" <"$T/bad.jsonl"
}
t_like "truncated: corrupt, saying so" "$(status_of bad-truncated)" \
    "^corrupt BMP truncated: [0-9]* of the [0-9]* bytes its header declares"
t_like "truncated, no file size: corrupt" "$(status_of bad-truncated-nosize)" \
    "^corrupt BMP pixel data truncated"
t_like "pixel offset past the end: corrupt" "$(status_of bad-offset)" \
    "^corrupt BMP pixel data offset [0-9]* is outside the file"
t_like "overlapping masks: corrupt" "$(status_of bad-overlap-masks)" "^corrupt BMP masks overlap"
t_like "a mask in two pieces: corrupt" "$(status_of bad-split-mask)" \
    "^corrupt BMP red mask 0x00ff00ff is not one run of bits"
t_like "7 bits per pixel: corrupt" "$(status_of bad-bpp)" "^corrupt 7 bits per pixel is not valid"
t_like "RLE8 with 24 bits: corrupt" "$(status_of bad-rle-bpp)" "^corrupt 24 bits per pixel is not valid with BMP compression 1"
t_like "17 colours for 4 bits: corrupt" "$(status_of bad-colors)" "^corrupt BMP palette of 17 colours"
t_like "RLE rows over 256 times the file: corrupt" "$(status_of bad-rle-sparse)" \
    "^corrupt BMP of 8205x7 pixels in 223 bytes of RLE: too little data"
t_is "... ImageMagick refuses it too" \
    "$(convert "$T/g/bad-rle-sparse.bmp" ppm:- 2>/dev/null | head -c 2)" ""
t_like "1 MB claiming 100000x100000: too_large" "$(status_of big-huge)" \
    "^too_large 100000x100000 pixels is over the limit"
t_like "RLE runs past the image: recovered, saying so" \
    "$("$PHMATCH" hash "$T/g/rec-rle-overrun.bmp" 2>&1 >/dev/null)" \
    "BMP RLE data runs past the end of the image"
t_like "RLE cut short: recovered, saying so" \
    "$("$PHMATCH" hash "$T/g/rec-rle8-cut.bmp" 2>&1 >/dev/null)" "BMP RLE data ends early"
# too_large comes from the header, before any allocation: a 1 MB file and a
# 1000-pixel limit must fail alike, in little memory.
t_like "a 1000-pixel limit: too_large, from the header" \
    "$("$PHMATCH" hash --max-pixels 1000 -f jsonl "$T/g/ok-pal4.bmp" 2>/dev/null)" \
    '"status":"too_large"'
# Every prefix of a good file: no crash, a record each.
f=$T/g/ok-rle8-delta.bmp
size=$(wc -c <"$f" | tr -d ' ')
mkdir -p "$T/cut"
for n in 1 2 14 17 18 30 54 60 $((size / 3)) $((size - 3)) $((size - 1)); do
    head -c "$n" "$f" >"$T/cut/$n.bmp"
done
"$PHMATCH" hash --accept-recovered -f jsonl "$T"/cut/*.bmp >"$T/cut.jsonl" 2>/dev/null
t_is "prefixes of an RLE8 file: a record each, no crash" "$?/$(wc -l <"$T/cut.jsonl" | tr -d ' ')" \
    "1/$(ls "$T"/cut | wc -l | tr -d ' ')"

# ---------------------------------------------------------------------------
# phmatchd: POST /v1/hash with Content-Type image/bmp.
case $BUILD in
/*) D=$BUILD ;;
*) D=$ROOT/$BUILD ;;
esac
PHMATCHD=$D/phmatchd
if ! t_have curl || [ ! -x "$PHMATCHD" ]; then
    t_skip "phmatchd POST /v1/hash image/bmp" "needs curl and phmatchd"
    t_done
fi
TOKEN=lookup-token-0123456789abcdef
printf 'bmp lookup %s\n' "$TOKEN" >"$T/tokens"
chmod 600 "$T/tokens"
trap 'svc_kill_all; t_cleanup' EXIT
if svc_start bmp --socket '' --listen 127.0.0.1:0 --tokens "$T/tokens" --threads 1; then
    f=$T/im/phone-small-RGB565.bmp
    want=$(rec "$f" | cut -d ' ' -f 1)
    code=$(curl -s -m 20 -o "$T/out" -w '%{http_code}' -H "Authorization: Bearer $TOKEN" \
        -H 'Content-Type: image/bmp' --data-binary @"$f" "http://127.0.0.1:$PORT/v1/hash")
    t_is "POST /v1/hash (image/bmp): 200" "$code" 200
    t_like "... the hash of phmatch hash, format bmp" "$(cat "$T/out")" \
        "\"pdq\":\"$want\".*\"format\":\"bmp\""
    svc_stop "$PID"
else
    t_fail "phmatchd started"
    t_diag "$(cat "$T/bmp.log")"
fi
t_done

#!/bin/sh
# format_gif.sh - GIF images and animations (issue 13). GIFs are made here
# with ImageMagick (from data/known and data/photos: palettes, interlaced,
# transparency, animations with delays, a first frame smaller than and
# offset in the screen, disposal methods) and with FFmpeg (mandelbrot).
# Each one's hash must equal, bit for bit and in quality, the hash of
# ImageMagick's decode of its first frame (`convert 'F[0]' -alpha off
# png24:ref.png`); with --animation frames, every frame's hash must equal
# that of ImageMagick's -coalesce of the animation. Then frame selection by
# the delays, vPDQ lines, compare and match against the MP4 a GIF was made
# from, damage, limits and phmatchd. TAP on stdout.
. "$(dirname "$0")/lib.sh"

if ! t_have convert; then
    echo "1..0 # SKIP ImageMagick's convert not installed (make deps)"
    exit 0
fi
K=$ROOT/data/known
PH=$ROOT/data/photos
cd "$T" || exit 1

# The pdq and quality of the one record of `phmatch hash -f jsonl FILE`.
hq() {
    "$PHMATCH" hash -q -f jsonl "$1" 2>/dev/null | grep -o '"pdq":"[0-9a-f]*","quality":[0-9]*'
}

# ------------------------------------------------------------------
# Still and first-frame conformance against ImageMagick

convert "$K/phone.jpg" -colors 64 pal64.gif
convert "$K/pen-and-coaster.jpg" -colors 7 pal7.gif
convert "$K/bridge.jpg" -interlace GIF interlaced.gif
convert "$K/misc-c.jpg" -resize 300x -fuzz 10% -transparent white transparent.gif
convert "$PH/labelme-q0291.jpg" -colors 200 -transparent black photo.gif
convert "$PH/grey-alpha.png" grey.gif
convert -delay 10 "$K/phone.jpg" -delay 50 "$K/bridge.jpg" -delay 200 "$K/misc-c.jpg" \
    anim.gif
convert "$K/phone.jpg" -resize 160x120 small.png
convert "$K/bridge.jpg" -resize 320x240! big.png
convert -delay 20 -page 320x240+40+30 small.png -page 320x240+0+0 big.png offset.gif
convert -page 320x240+100+50 small.png offset1.gif
convert -dispose Previous -delay 20 -page 320x240+0+0 big.png -dispose None \
    -page 320x240+30+20 small.png -dispose Background -page 320x240+150+100 small.png \
    -page 320x240+10+10 transparent.gif disposal.gif
gifs="pal64 pal7 interlaced transparent photo grey anim offset offset1 disposal"
if t_have ffmpeg; then
    ff() { ffmpeg -nostdin -v error -y "$@"; }
    ff -f lavfi -i mandelbrot=size=160x120:rate=25 -t 2 -vf fps=10 mb.gif
    ff -f lavfi -i mandelbrot=size=160x120:rate=25 -t 2 -c:v libx264 -preset ultrafast \
        -pix_fmt yuv420p mb.mp4
    gifs="$gifs mb"
fi
t_like "transparent.gif has a transparent colour" \
    "$(identify -verbose transparent.gif | grep -i 'transparent color')" 'Transparent color'
t_like "interlaced.gif is interlaced" "$(identify -verbose interlaced.gif)" 'Interlace: GIF'
t_like "offset1.gif's image is smaller than its screen, at an offset" \
    "$(identify offset1.gif)" 'GIF 160x120 320x240.100.50'

for g in $gifs; do
    convert "$g.gif[0]" -alpha off "png24:$g.ref.png"
    want=$(hq "$g.ref.png")
    got=$(hq "$g.gif")
    if [ -n "$want" ] && [ "$got" = "$want" ]; then
        t_pass "$g.gif: hash and quality = ImageMagick's first frame ($want)"
    else
        t_fail "$g.gif: hash and quality = ImageMagick's first frame"
        t_diag "got  $got" "want $want"
    fi
    "$PHMATCH" hash -q -f jsonl "$g.gif" >"$g.jsonl"
    t_like "$g.gif: one image record, format gif" \
        "$(wc -l <"$g.jsonl")/$(cat "$g.jsonl")" \
        '^1/{"path":"[^"]*","status":"ok","size":[0-9]*,"format":"gif",.*"kind":"image"'
done
"$PHMATCH" hash -q offset1.gif >offset1.tsv
t_is "an image smaller than its screen: its own size, as ImageMagick reads it" \
    "$(tsv_col width offset1.tsv)x$(tsv_col height offset1.tsv)" "160x120"

# ------------------------------------------------------------------
# --animation frames: composition, selection by delays, vPDQ

for g in anim offset disposal mb; do
    [ -f "$g.gif" ] || continue
    rm -f c-*.png
    convert "$g.gif" -coalesce -alpha off png24:c-%03d.png
    for c in c-*.png; do hq "$c"; done | sed 's/"pdq":"\([0-9a-f]*\)".*/\1/' >"$g.want"
    "$PHMATCH" hash -q -f tsv --no-header --animation frames --seconds-per-hash 0 "$g.gif" |
        awk -F '\t' '$11 == "frame" { print $8 }' >"$g.got"
    if [ -s "$g.want" ] && cmp -s "$g.got" "$g.want"; then
        t_pass "$g.gif: every frame = ImageMagick's -coalesce ($(wc -l <"$g.want") frames)"
    else
        t_fail "$g.gif: every frame = ImageMagick's -coalesce"
        t_diag "$(paste "$g.got" "$g.want")"
    fi
done

# Delays 0.1, 0.5 and 2 s, one hash a second: frames 0 (0 s) and 2 (0.6 s).
"$PHMATCH" hash -q -f tsv --animation frames anim.gif >anim.tsv
t_is "--animation frames: the image record, then two frame records" \
    "$(tsv_col kind anim.tsv | tr '\n' ' ')" "image frame frame "
t_is "... frames 0 and 2 (frame 1 shows from 0.1 to 0.6 s, no sampling time)" \
    "$(tsv_col frame anim.tsv | tr '\n' ' ')" " 0 2 "
t_is "... at their start times" "$(tsv_col timestamp anim.tsv | tr '\n' ' ')" " 0.000 0.600 "
t_is "... the image record counts the frames hashed" "$(tsv_col frames anim.tsv | head -1)" 2
t_is "... and keeps the first frame's hash" "$(tsv_col pdq anim.tsv | head -1)" \
    "$(hq anim.ref.png | sed 's/"pdq":"\([0-9a-f]*\)".*/\1/')"
"$PHMATCH" hash -q -f tsv --animation frames --seconds-per-hash 0.5 anim.gif >anim5.tsv
t_is "--seconds-per-hash 0.5: all three (0.5 s falls in frame 1)" \
    "$(tsv_col timestamp anim5.tsv | tr '\n' ' ')" " 0.000 0.100 0.600 "
"$PHMATCH" hash -q -f tsv --animation frames offset1.gif pal64.gif >still.tsv
t_is "--animation frames: a one-frame GIF stays one image record" \
    "$(tsv_col kind still.tsv | tr '\n' ' ')" "image image "
"$PHMATCH" hash -q -f tsv --animation first anim.gif >first.tsv
t_is "--animation first (the default): one record" "$(tsv_col kind first.tsv)" image
"$PHMATCH" hash -q --animation all anim.gif >/dev/null 2>&1
t_is "--animation all: usage error (2)" "$?" 2

if [ -f mb.gif ]; then
    "$PHMATCH" hash -q -f vpdq --animation frames mb.gif >mb.vpdq
    t_is "-f vpdq: the frames at 0 and 1 s of a 2 s GIF at 10 fps" \
        "$(cut -d , -f 1,2,4 mb.vpdq | tr '\n' ' ')" "0,100,0.000 10,100,1.000 "
    t_ok "... as vPDQ lines" grep -qE '^10,100,[0-9a-f]{64},1\.000$' mb.vpdq
    "$PHMATCH" hash -q -f pdq --animation frames mb.gif >mb.pdq
    t_is "-f pdq: the image's line, then the frames'" "$(wc -l <mb.pdq)" 3

    "$PHMATCH" compare -q mb.gif mb.mp4 >cmp.out
    t_is "compare: the GIF matches the MP4 made from the same source (exit 0)" "$?" 0
    t_like "... all its frames" "$(cat cmp.out)" '^query_match 100\.000 2 2 '
    "$PHMATCH" hash -q -f vpdq mb.mp4 >mb-mp4.vpdq
    "$PHMATCH" index create idx
    "$PHMATCH" index import --source ref idx mb-mp4.vpdq >/dev/null
    "$PHMATCH" match -q -i idx -f jsonl --animation frames mb.gif >m.jsonl
    t_like "match --animation frames: the known video, compared as a video" "$(cat m.jsonl)" \
        '"kind":"image","match_count":1,"matches":\[{"entry":1,"source":"ref","id":"mb-mp4","category":"[^"]*","kind":"video",.*"query_percent":100\.000'
    "$PHMATCH" match -q -i idx -f jsonl mb.gif >m1.jsonl
    t_like "match without it: the first frame as an image hash" "$(cat m1.jsonl)" \
        '"kind":"video",.*"query_percent":null'
else
    for n in 1 2 3 4 5 6 7; do t_skip "mb.gif $n" "ffmpeg not installed (make deps)"; done
fi

# ------------------------------------------------------------------
# Damage and limits: one record each, the batch goes on

size=$(wc -c <pal64.gif)
head -c $((size / 2)) pal64.gif >cut.gif
head -c 12 pal64.gif >header.gif
cp pal64.gif lzw.gif
printf '\377\377\377\377\377\377\377\377\377\377\377\377' |
    dd of=lzw.gif bs=1 seek=3000 conv=notrunc 2>/dev/null
"$PHMATCH" hash -q -f tsv cut.gif header.gif lzw.gif pal64.gif >bad.tsv 2>bad.err
t_is "damaged GIFs: exit 1" "$?" 1
t_is "... corrupt, corrupt, corrupt, then ok" "$(tsv_col status bad.tsv | tr '\n' ' ')" \
    "corrupt corrupt corrupt ok "
t_like "... a cut file: premature end, in giflib's words" "$(tsv_col error bad.tsv | head -1)" \
    '^row [0-9]* of 480: premature end of data (giflib: Failed to read from given file)$'
t_like "... an LZW error: giflib's message" "$(tsv_col error bad.tsv | sed -n 3p)" \
    'Image is defective, decoding aborted'
"$PHMATCH" hash -q -f tsv --accept-recovered cut.gif >rec.tsv
t_is "--accept-recovered: still corrupt (ImageMagick refuses a cut GIF too)" \
    "$(tsv_col status rec.tsv)" corrupt
asize=$(wc -c <anim.gif)
head -c $((asize - 2000)) anim.gif >anim-cut.gif
"$PHMATCH" hash -q -f tsv anim-cut.gif >ac.tsv
t_is "an animation cut in its last frame: the first frame is fine" "$(tsv_col status ac.tsv)" ok
"$PHMATCH" hash -q -f tsv --animation frames --seconds-per-hash 0 anim-cut.gif >acf.tsv
t_is "... with --animation frames: corrupt, the frames before kept" \
    "$(tsv_col status acf.tsv | tr '\n' ' ')/$(tsv_col kind acf.tsv | tr '\n' ' ')" \
    "corrupt ok ok /image frame frame "
"$PHMATCH" hash -q -f tsv --max-pixels 1000 pal64.gif >big.tsv
t_is "--max-pixels 1000: too_large" "$(tsv_col status big.tsv)" too_large
"$PHMATCH" hash -q -f tsv --animation frames --max-frames 2 anim.gif >mf.tsv
t_is "--max-frames 2: too_large, with the frames before" \
    "$(tsv_col status mf.tsv | tr '\n' ' ')" "too_large ok "

# ------------------------------------------------------------------
# phmatchd

case $BUILD in
/*) PHMATCHD=$BUILD/phmatchd ;;
*) PHMATCHD=$ROOT/$BUILD/phmatchd ;;
esac
if ! t_have curl; then
    t_skip "phmatchd: POST /v1/hash image/gif" "curl not installed"
elif svc_start gif --socket "$T/s.sock"; then
    trap 'svc_kill_all; t_cleanup' EXIT
    code=$(curl -s -m 20 -o post.out -w '%{http_code}' --unix-socket "$T/s.sock" \
        -H 'Content-Type: image/gif' --data-binary @pal64.gif http://localhost/v1/hash)
    want=$(hq pal64.ref.png | sed 's/"pdq":"\([0-9a-f]*\)".*/\1/')
    t_like "phmatchd: POST /v1/hash image/gif: 200, the hash of ImageMagick's decode" \
        "$code/$(cat post.out)" "^200/.*\"pdq\":\"$want\".*\"format\":\"gif\""
    svc_stop "$PID"
else
    t_fail "phmatchd starts"
    t_diag "$(cat "$T/gif.log")"
fi

t_done

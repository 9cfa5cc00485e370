#!/bin/sh
# video.sh - videos in `phmatch hash` and `phmatch compare`: the vPDQ
# reference's lines, frame selection, every output format, --output-dir,
# Y4M on standard input (GIFs: format_gif.sh), damaged and hostile files, limits,
# and synthetic videos made here with FFmpeg's mandelbrot and testsrc
# sources (cut, re-encoded and scaled copies match; unrelated sources do
# not). Conformance of every frame with the reference's outputs is in
# tests/unit/test_video_ref.c. TAP on stdout.
. "$(dirname "$0")/lib.sh"

t_need_phmatch
VIDEOS=$ROOT/tests/data/vpdq/videos
EXPECTED=$ROOT/tests/data/vpdq/expected
DOOR=$VIDEOS/doorknob-hd-no-bar.mp4
# Small and quick for everything but conformance: 160x120, 25 fps, 4 s.
CLIP=$ROOT/tests/data/vpdq/synthetic/mandelbrot-160x120.mp4

out=$("$PHMATCH" --version)
t_like "--version names the FFmpeg libraries" "$out" '^video: libavformat .*libswscale'
out=$("$PHMATCH" help compare)
t_like "help compare shows usage" "$out" '^usage: phmatch compare'

# ------------------------------------------------------------------
# The reference's lines

"$PHMATCH" hash -q -f vpdq --seconds-per-hash 0 "$DOOR" >"$T/door.vpdq"
t_is "vpdq: exit 0" "$?" 0
t_is "vpdq: frame numbers and timestamps are the reference's" \
    "$(cut -d, -f1,4 "$T/door.vpdq" | md5sum)" \
    "$(cut -d, -f1,4 "$EXPECTED/doorknob-hd-no-bar.txt" | md5sum)"
t_is "vpdq: lines of frame,quality,64 hex digits,timestamp" \
    "$(grep -cvE '^[0-9]+,[0-9]+,[0-9a-f]{64},[0-9]+\.[0-9]{3}$' "$T/door.vpdq")" 0
out=$("$PHMATCH" compare "$T/door.vpdq" "$EXPECTED/doorknob-hd-no-bar.txt")
t_is "compare: our hash file matches the reference's (exit 0)" "$?" 0
t_like "compare: both percentages printed" "$out" '^compared_match [0-9.]* '
q=$(printf '%s\n' "$out" | awk '$1 == "query_match" { print ($2 >= 95) }')
c=$(printf '%s\n' "$out" | awk '$1 == "compared_match" { print ($2 >= 95) }')
t_is "compare: >= 95% both ways against the reference's file" "$q$c" 11

"$PHMATCH" hash -q -f vpdq --seconds-per-hash 0 --size 128 "$DOOR" \
    >"$T/door128.vpdq"
t_is "--size 128: frame numbers and timestamps are the reference's -s 128" \
    "$(cut -d, -f1,4 "$T/door128.vpdq" | md5sum)" \
    "$(cut -d, -f1,4 "$EXPECTED/doorknob-hd-no-bar-128x128.txt" | md5sum)"

# Default: one frame a second, from the average frame rate (30 fps).
"$PHMATCH" hash -q "$DOOR" >"$T/door.tsv"
awk -F '\t' '$11 == "frame" { print $12 "," $9 "," $8 "," $13 }' \
    "$T/door.tsv" >"$T/door1.vpdq"
t_is "default --seconds-per-hash 1: frames 0 30 60 90" \
    "$(cut -d, -f1 "$T/door1.vpdq" | tr '\n' ' ')" "0 30 60 90 "
t_is "... with the same hashes as at every frame" \
    "$(awk -F, '$1 % 30 == 0' "$T/door.vpdq")" "$(cat "$T/door1.vpdq")"
"$PHMATCH" hash -q -f vpdq --seconds-per-hash 0 "$CLIP" >"$T/clip0.vpdq"
"$PHMATCH" hash -q -f vpdq --seconds-per-hash 0.5 "$CLIP" >"$T/clip05.vpdq"
t_is "--seconds-per-hash 0.5 at 25 fps: every 12th frame" \
    "$(cut -d, -f1 "$T/clip05.vpdq" | tr '\n' ' ')" "0 12 24 36 48 60 72 84 96 "
t_is "... with the same hashes as at every frame" \
    "$(awk -F, '$1 % 12 == 0' "$T/clip0.vpdq")" "$(cat "$T/clip05.vpdq")"

# ------------------------------------------------------------------
# Records in every format

cp "$CLIP" "$T/clip.mp4"
cp "$ROOT/tests/data/pdq/images/misc-images/wee.jpg" "$T/a.jpg"
"$PHMATCH" hash -q "$T/a.jpg" "$T/clip.mp4" >"$T/mixed.tsv"
t_is "tsv: exit 0" "$?" 0
t_is "tsv: header has the video columns" \
    "$(head -n 1 "$T/mixed.tsv" | cut -f 11-)" \
    "$(printf 'kind\tframe\ttimestamp\tfps\tframes\terror')"
t_is "tsv: every line has the header's columns" \
    "$(awk -F '\t' '{ print NF }' "$T/mixed.tsv" | sort -u)" 16
t_is "tsv: image, video summary, 4 frames" \
    "$(tsv_col kind "$T/mixed.tsv" | tr '\n' ' ')" \
    "image video frame frame frame frame "
t_is "tsv: the summary: container/codec, size, fps, seconds, frames" \
    "$(awk -F '\t' '$11 == "video" { print $4, $3, $5 "x" $6, $14, $13, $15 }' "$T/mixed.tsv")" \
    "mov/h264 $(wc -c <"$CLIP") 160x120 25 4.000 4"
t_is "tsv: frame records: number and timestamp" \
    "$(awk -F '\t' '$11 == "frame" { printf "%s@%s ", $12, $13 }' "$T/mixed.tsv")" \
    "0@0.000 25@1.000 50@2.000 75@3.000 "
t_is "tsv: frame hashes are the vpdq lines' hashes" \
    "$(awk -F '\t' '$11 == "frame" { print $8 }' "$T/mixed.tsv")" \
    "$(awk -F, '$1 % 25 == 0 { print $3 }' "$T/clip0.vpdq")"
t_like "tsv: low-quality frames are flagged" \
    "$(awk -F '\t' '$11 == "frame" && $9 < 50 { print $10 }' "$T/door.tsv")" \
    '^low_quality$'

"$PHMATCH" hash -q -f csv "$T/clip.mp4" >"$T/clip.csv"
t_is "csv: summary and 4 frames" "$(($(wc -l <"$T/clip.csv") - 1))" 5
"$PHMATCH" hash -q -f jsonl --digest md5 "$T/clip.mp4" >"$T/clip.jsonl"
t_is "jsonl: 5 objects" "$(grep -c '^{.*}$' "$T/clip.jsonl")" 5
t_like "jsonl: the summary has the file's md5" "$(head -n 1 "$T/clip.jsonl")" \
    "\"md5\":\"$(md5sum <"$CLIP" | cut -c1-32)\""
t_like "jsonl: timestamps are numbers" "$(sed -n 3p "$T/clip.jsonl")" \
    '"kind":"frame","frame":25,"timestamp":1.000,'
if t_python; then
    out=$(python3 -c '
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
assert rows[0]["kind"] == "video" and rows[0]["frames"] == 4
assert [r["frame"] for r in rows[1:]] == [0, 25, 50, 75]
assert all(r["md5"] is None for r in rows[1:])
print("ok")' "$T/clip.jsonl" 2>&1)
    t_is "jsonl: valid JSON, keys as documented" "$out" ok
else
    t_skip "jsonl: valid JSON, keys as documented" "no python3"
fi
"$PHMATCH" hash -q -f pdq "$T/clip.mp4" >"$T/clip.pdq"
t_is "pdq: hash,quality,path,frame,timestamp per frame" \
    "$(cut -d, -f3- "$T/clip.pdq" | tr '\n' ' ')" \
    "$T/clip.mp4,0,0.000 $T/clip.mp4,25,1.000 $T/clip.mp4,50,2.000 $T/clip.mp4,75,3.000 "
"$PHMATCH" hash -q -f vpdq --seconds-per-hash 0 "$T/a.jpg" "$T/clip.mp4" \
    >"$T/mixed.vpdq"
t_ok "vpdq: images give no lines" cmp -s "$T/mixed.vpdq" "$T/clip0.vpdq"

# Order with videos among images does not depend on the threads.
mkdir "$T/mix"
cp "$T/a.jpg" "$T/mix/1.jpg"
cp "$CLIP" "$T/mix/2.mp4"
cp "$T/a.jpg" "$T/mix/3.jpg"
cp "$CLIP" "$T/mix/4.mp4"
"$PHMATCH" hash -q -j 1 "$T/mix" >"$T/mix1.tsv"
"$PHMATCH" hash -q -j 2 --window 2 "$T/mix" >"$T/mix2.tsv"
t_ok "-j 2 output equals -j 1 output, videos included" \
    cmp -s "$T/mix1.tsv" "$T/mix2.tsv"

# ------------------------------------------------------------------
# --output-dir

mkdir "$T/out" "$T/other"
"$PHMATCH" hash -q -f vpdq --seconds-per-hash 0 --output-dir "$T/out" \
    "$CLIP" >"$T/dir.stdout"
t_ok "--output-dir: writes NAME.txt, the vpdq lines" \
    cmp -s "$T/out/mandelbrot-160x120.txt" "$T/clip0.vpdq"
t_is "--output-dir with -f vpdq: nothing on stdout" "$(wc -c <"$T/dir.stdout")" 0
cp "$CLIP" "$T/other/mandelbrot-160x120.mkv"
"$PHMATCH" hash -q --output-dir "$T/out" "$CLIP" \
    "$T/other/mandelbrot-160x120.mkv" >/dev/null 2>"$T/dir.err"
t_is "--output-dir: two videos of one name: exit 1" "$?" 1
t_like "--output-dir: ... and a message naming the second" "$(cat "$T/dir.err")" \
    "cannot write the vPDQ file of '$T/other/mandelbrot-160x120.mkv'"
t_is "--output-dir: no temporary file left" \
    "$(find "$T/out" -name '.*' -type f | wc -l)" 0
"$PHMATCH" hash -q --output-dir "$T/nonexistent" "$CLIP" >/dev/null 2>&1
t_is "--output-dir: a missing directory is a usage error" "$?" 2

# ------------------------------------------------------------------
# Synthetic videos (FFmpeg's sources) and standard input

if ! t_have ffmpeg; then
    for n in 1 2 3 4 5 6 7 8 9 10 11; do
        t_skip "synthetic video $n" "ffmpeg not installed (make deps)"
    done
else
    ff() { ffmpeg -nostdin -v error -y "$@"; }
    ff -f lavfi -i mandelbrot=size=160x120:rate=25 -t 8 -c:v libx264 \
        -preset ultrafast -pix_fmt yuv420p "$T/mb.mp4"
    ff -i "$T/mb.mp4" -c:v mpeg4 -q:v 8 "$T/mb-reenc.avi"
    ff -i "$T/mb.mp4" -vf scale=320:240 -c:v libx264 -preset ultrafast \
        -crf 30 "$T/mb-scaled.mkv"
    ff -ss 3 -i "$T/mb.mp4" -t 4 -c:v libx264 -preset ultrafast "$T/mb-cut.mp4"
    ff -f lavfi -i testsrc=size=160x120:rate=25 -t 8 -c:v libx264 \
        -preset ultrafast -pix_fmt yuv420p "$T/ts.mp4"

    for copy in mb-reenc.avi mb-scaled.mkv; do
        "$PHMATCH" compare -q "$T/mb.mp4" "$T/$copy" >"$T/cmp.out"
        t_is "compare: $copy matches the original (exit 0)" "$?" 0
    done
    "$PHMATCH" compare -q "$T/mb-cut.mp4" "$T/mb.mp4" >"$T/cmp.out"
    t_is "compare: a 4 s cut matches the 8 s original (exit 0)" "$?" 0
    t_like "compare: ... though only half the original is in it" \
        "$(cat "$T/cmp.out")" '^compared_match [4-6][0-9]\.'
    "$PHMATCH" compare -q "$T/mb.mp4" "$T/ts.mp4" >"$T/cmp.out"
    t_is "compare: mandelbrot and testsrc do not match (exit 1)" "$?" 1
    t_like "compare: ... no frame in common" "$(cat "$T/cmp.out")" \
        '^query_match 0\.000 0 '

    ff -i "$CLIP" -f yuv4mpegpipe - 2>/dev/null |
        "$PHMATCH" hash -q --stdin-video --seconds-per-hash 0 >"$T/y4m.tsv"
    t_is "--stdin-video: Y4M from a pipe hashes as the file does" \
        "$(awk -F '\t' '$11 == "frame" { print $12 "," $9 "," $8 "," $13 }' "$T/y4m.tsv")" \
        "$(cat "$T/clip0.vpdq")"
    t_is "--stdin-video: the record's path is '-'" \
        "$(awk -F '\t' '$11 == "video" { print $1, $4 }' "$T/y4m.tsv")" \
        "- yuv4mpegpipe/rawvideo"
fi

# ------------------------------------------------------------------
# Damaged and hostile files, limits

head -c 30000 "$CLIP" >"$T/trunc.mp4"
"$PHMATCH" hash -q --seconds-per-hash 0 "$T/trunc.mp4" >"$T/trunc.tsv" \
    2>"$T/trunc.err"
t_is "truncated video: exit 1" "$?" 1
t_like "truncated video: corrupt, with how far decoding got" \
    "$(awk -F '\t' '$11 == "video" { print $2 ": " $16 }' "$T/trunc.tsv")" \
    '^corrupt: decoding stopped at frame [0-9]* ([0-9.]* s): '
n=$(awk -F '\t' '$11 == "frame"' "$T/trunc.tsv" | wc -l)
t_ok "truncated video: the frames before are reported ($n)" [ "$n" -gt 10 ]
t_is "truncated video: ... with the hashes of the whole file" \
    "$(awk -F '\t' '$11 == "frame" { print $12 "," $9 "," $8 "," $13 }' "$T/trunc.tsv")" \
    "$(head -n "$n" "$T/clip0.vpdq")"
t_like "truncated video: stderr names the file" "$(cat "$T/trunc.err")" \
    "cannot hash '$T/trunc.mp4': decoding stopped"

head -c 3000 "$DOOR" >"$T/head.mp4"
printf 'not a video, not an image\n' >"$T/text.bin"
: >"$T/empty.mp4"
cp "$EXPECTED/doorknob-hd-no-bar.txt" "$T/hashes.txt"
"$PHMATCH" hash -q "$T/head.mp4" "$T/text.bin" "$T/empty.mp4" \
    "$T/hashes.txt" >"$T/bad.tsv" 2>/dev/null
t_is "hostile files: exit 1" "$?" 1
t_is "hostile files: one record each, reasons" \
    "$(awk -F '\t' 'NR > 1 { printf "%s/%s ", $2, $11 }' "$T/bad.tsv")" \
    "corrupt/video unsupported_format/image corrupt/image unsupported_format/image "

"$PHMATCH" hash -q --seconds-per-hash 0 --max-frames 10 "$CLIP" \
    >"$T/lim.tsv" 2>/dev/null
t_is "--max-frames: exit 1" "$?" 1
t_is "--max-frames: too_large, and the 10 frames before" \
    "$(awk -F '\t' '$11 == "video" { print $2, $15 }' "$T/lim.tsv")" "too_large 10"
"$PHMATCH" hash -q --max-duration 2 "$CLIP" >"$T/lim.tsv" 2>/dev/null
t_is "--max-duration 2: frames 0 and 25, stopped at 2 s" \
    "$(awk -F '\t' '$11 == "frame" { printf "%s ", $12 } $11 == "video" { v = $2 " " $13 } END { print v }' "$T/lim.tsv")" \
    "0 25 too_large 2.000"
"$PHMATCH" hash -q --max-pixels 10000 "$CLIP" >"$T/lim.tsv" 2>/dev/null
t_like "--max-pixels: larger frames refused" \
    "$(awk -F '\t' '$11 == "video" { print $2 ": " $16 }' "$T/lim.tsv")" \
    '^too_large: 160x120 frames are over the limit of 10000 pixels'
"$PHMATCH" hash -q --size 4 "$CLIP" >/dev/null 2>&1
t_is "--size 4: usage error" "$?" 2
"$PHMATCH" hash -q --seconds-per-hash -1 "$CLIP" >/dev/null 2>&1
t_is "--seconds-per-hash -1: usage error" "$?" 2
"$PHMATCH" hash -q --stdin-video - </dev/null >/dev/null 2>&1
t_is "--stdin-video and '-' together: usage error" "$?" 2

# ------------------------------------------------------------------
# compare: exit statuses

"$PHMATCH" compare "$CLIP" >/dev/null 2>&1
t_is "compare: one operand is a usage error (2)" "$?" 2
"$PHMATCH" compare "$CLIP" "$T/missing.mp4" >/dev/null 2>"$T/cmp.err"
t_is "compare: a missing file exits 2" "$?" 2
t_like "compare: ... naming it" "$(cat "$T/cmp.err")" "missing.mp4"
"$PHMATCH" compare "$CLIP" "$T/text.bin" >/dev/null 2>&1
t_is "compare: not a video exits 2" "$?" 2
"$PHMATCH" compare --query-threshold 101 "$CLIP" "$CLIP" >/dev/null 2>&1
t_is "compare: threshold over 100 is a usage error" "$?" 2
"$PHMATCH" compare --seconds-per-hash 0.5 "$CLIP" "$T/clip05.vpdq" >"$T/cmp.out"
t_is "compare: a video and its own hash file match at 100%" \
    "$(awk '{ print $1, $2 }' "$T/cmp.out" | tr '\n' ' ')" \
    "query_match 100.000 compared_match 100.000 verdict match "
"$PHMATCH" compare "$T/trunc.mp4" "$CLIP" >"$T/cmp.out" 2>"$T/cmp.err"
t_is "compare: a truncated copy still compares (exit 0)" "$?" 0
t_like "compare: ... with a warning" "$(cat "$T/cmp.err")" \
    'warning: .*comparing the [0-9]* frames hashed before'

t_done

#!/bin/sh
# index_video.sh - videos in the index: vPDQ files imported as video
# entries (idempotent, malformed lines refused with nothing stored),
# `phmatch match` on videos reporting the known videos they match with both
# percentages and the known images in their frames with frame numbers and
# timestamps, an image that is a frame of a known video, unrelated videos
# not matching, removal, and the export/import round trip. TAP on stdout.
. "$(dirname "$0")/lib.sh"

t_need_phmatch
VIDEOS=$ROOT/tests/data/vpdq/videos
EXPECTED=$ROOT/tests/data/vpdq/expected
REFS="chair-19-sd-bar chair-22-sd-grey-bar doorknob-hd-no-bar pattern-hd-no-bar test-padded-dimensions"
K=$T/k.phmi
TAB=$(printf '\t')

# The column of `name` in tsv output $2 (header on line 1), for rows where
# column `id` is $3 (or every row).
col_of() {
    awk -F '\t' -v name="$1" -v id="${3:-}" '
        NR == 1 { for (i = 1; i <= NF; i++) c[$i] = i; next }
        id == "" || $c["id"] == id { print $c[name] }' "$2"
}

# ------------------------------------------------------------------
# Import

"$PHMATCH" index create "$K"
files=
for r in $REFS; do files="$files $EXPECTED/$r.txt"; done
# shellcheck disable=SC2086
out=$("$PHMATCH" index import --source ref --category clips "$K" $files 2>&1)
t_is "import 5 vPDQ files: exit 0" "$?" 0
t_is "... one entry each" "$out" "added 5, unchanged 0, updated 0, removed 0"
# shellcheck disable=SC2086
out=$("$PHMATCH" index import --source ref --category clips "$K" $files 2>&1)
t_is "import again: nothing changes" "$out" "added 0, unchanged 5, updated 0, removed 0"
st=$("$PHMATCH" index stats "$K")
t_like "stats: 5 video entries" "$st" "^video_entries${TAB}5$"
frames=$(cat $files | wc -l | tr -d ' ')
t_like "stats: every frame line stored" "$st" "^video_frames${TAB}$frames$"
t_like "stats: no PDQ entries" "$st" "^pdq_entries${TAB}0$"
out=$("$PHMATCH" index verify "$K")
t_is "verify: ok" "$out" "$K: ok"

# Malformed: a bad hash on line 7 of one file; nothing of the import stored.
sed '7s/,[0-9a-f]\{64\},/,12zz,/' "$EXPECTED/doorknob-hd-no-bar.txt" >"$T/bad.txt"
cp "$EXPECTED/chair-19-sd-bar.txt" "$T/good.txt"
"$PHMATCH" index import --source new "$K" "$T/good.txt" "$T/bad.txt" >"$T/out" 2>"$T/err"
t_is "malformed vPDQ file: exit 1" "$?" 1
t_like "... names the file and the line" "$(cat "$T/err")" "bad.txt:7: invalid vPDQ line"
t_like "... nothing imported" "$(cat "$T/err")" "nothing imported"
t_like "... not even the good file" "$("$PHMATCH" index stats "$K")" "^video_entries${TAB}5$"
out=$("$PHMATCH" index import --skip-bad --source new "$K" "$T/good.txt" "$T/bad.txt" 2>/dev/null)
t_is "--skip-bad: the good file imported (exit 1)" "$?" 1
t_is "... as one entry" "$out" "added 1, unchanged 0, updated 0, removed 0"
out=$("$PHMATCH" index import "$K" "$T/good.txt" 2>&1)
t_is "a vPDQ file without --source: exit 1" "$?" 1
t_like "... says so" "$out" "names no source: give --source"
out=$("$PHMATCH" index import --source named --id my-video "$K" "$T/good.txt")
t_is "--id names the video" "$out" "added 1, unchanged 0, updated 0, removed 0"
"$PHMATCH" index export --format tsv "$K" >/dev/null 2>"$T/err"
t_is "export in tsv: videos cannot be written there (exit 1)" "$?" 1
t_like "... it says where they can" "$(cat "$T/err")" "a video's frames, which tsv cannot carry (jsonl or vPDQ files can)"
"$PHMATCH" index remove --source named --id my-video "$K" >/dev/null
"$PHMATCH" index remove --source new --id good "$K" >/dev/null
t_is "remove video entries: verify ok" "$("$PHMATCH" index verify "$K")" "$K: ok"

# ------------------------------------------------------------------
# Export and import again: the same files

mkdir "$T/exp" "$T/exp2"
out=$("$PHMATCH" index export --format vpdq --output-dir "$T/exp" "$K")
t_is "export --format vpdq: exit 0" "$?" 0
t_is "... 5 videos" "$out" "videos 5, not videos 0, failed 0"
same=0
for r in $REFS; do cmp -s "$EXPECTED/$r.txt" "$T/exp/$r.txt" && same=$((same + 1)); done
t_is "... each file as imported, byte for byte" "$same" 5
"$PHMATCH" index create "$T/k2.phmi"
"$PHMATCH" index import --source ref --category clips "$T/k2.phmi" "$T"/exp/*.txt >/dev/null
"$PHMATCH" index export --format vpdq --output-dir "$T/exp2" "$T/k2.phmi" >/dev/null
t_is "round trip: the second export is the first" "$(cd "$T/exp" && md5sum ./*)" \
    "$(cd "$T/exp2" && md5sum ./*)"
"$PHMATCH" index export --format vpdq --output-dir "$T/exp" "$K" >/dev/null 2>"$T/err"
t_is "export over existing files: exit 1" "$?" 1
t_like "... never overwrites" "$(cat "$T/err")" "File exists"
"$PHMATCH" index export --format vpdq "$K" >/dev/null 2>&1
t_is "--format vpdq without --output-dir: usage error" "$?" 2

# jsonl: a video's frames in "vpdq", on one line, however long: a video of
# 4,000 frames (a line of about 340 KB) and the reference ones, with an image.
awk -F, '{ for (i = 0; i < 34; i++) printf "%d,%s,%s,%.3f\n", NR - 1 + i * 120, $2, $3, (NR - 1 + i * 120) / 30 }' \
    "$EXPECTED/doorknob-hd-no-bar.txt" | sort -t, -k1,1n >"$T/long.vpdq"
"$PHMATCH" index import --source long "$K" "$T/long.vpdq" >/dev/null
"$PHMATCH" index add "$K" --source img --id one --hash aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa >/dev/null
"$PHMATCH" index export --format jsonl "$K" >"$T/all.jsonl"
t_is "export in jsonl: exit 0" "$?" 0
t_ok "... one line of more than 300 KB" [ "$(awk '{ if (length($0) > m) m = length($0) } END { print m }' "$T/all.jsonl")" -gt 300000 ]
"$PHMATCH" index create "$T/k3.phmi"
out=$("$PHMATCH" index import "$T/k3.phmi" "$T/all.jsonl")
t_is "... imported again: every entry" "$out" "added 7, unchanged 0, updated 0, removed 0"
"$PHMATCH" index export --format jsonl "$T/k3.phmi" >"$T/all2.jsonl"
t_is "... and exported again: the same bytes" "$(md5sum <"$T/all2.jsonl")" "$(md5sum <"$T/all.jsonl")"
mkdir "$T/exp3"
"$PHMATCH" index export --format vpdq --output-dir "$T/exp3" "$T/k3.phmi" >/dev/null 2>&1
t_is "... the long video's vPDQ file as imported" "$(md5sum <"$T/exp3/long.txt")" "$(md5sum <"$T/long.vpdq")"
# a write that fails (the file size limit) leaves no truncated file, so
# that the export can be run again
mkdir "$T/exp4"
(
    trap '' XFSZ
    ulimit -f 8 2>/dev/null || exit 77
    exec "$PHMATCH" index export --format vpdq --output-dir "$T/exp4" "$T/k3.phmi"
) >/dev/null 2>"$T/err"
rc=$?
if [ "$rc" -eq 77 ]; then
    t_skip "export reaching the file size limit" "ulimit -f is not available"
    t_skip "... and again" "ulimit -f is not available"
else
    t_is "export reaching the file size limit: exit 1, no file left" "$rc:$(ls "$T/exp4" | grep -c long)" "1:0"
    "$PHMATCH" index export --format vpdq --output-dir "$T/exp4" "$T/k3.phmi" >/dev/null 2>&1
    t_is "... and again without it: the long video's file" "$(md5sum <"$T/exp4/long.txt")" "$(md5sum <"$T/long.vpdq")"
fi
"$PHMATCH" index remove --source long --id long "$K" >/dev/null
"$PHMATCH" index remove --source img --id one "$K" >/dev/null

# ------------------------------------------------------------------
# Matching the reference videos

for r in $REFS; do
    "$PHMATCH" match -q -i "$K" "$VIDEOS/$r.mp4" >"$T/m.tsv"
    # (by query_percent, then compared_percent: chair-22 is chair-19 with a
    # grey bar, and each matches all of the other's sampled frames)
    t_is "match $r: its own entry matches it best" \
        "$(awk -F '\t' 'NR > 1 { print $(NF - 2), $(NF - 1), $15 }' "$T/m.tsv" |
            sort -k1,1nr -k2,2nr | head -n 1 | cut -d' ' -f3)" "$r"
    t_is "... a known video" "$(col_of entry_kind "$T/m.tsv" "$r")" video
    t_is "... with >= 95% of its hashes matched" \
        "$(col_of query_percent "$T/m.tsv" "$r" | awk '{ print ($1 >= 95) }')" 1
done
# Every frame hashed: both videos are the same bag of hashes.
"$PHMATCH" match -q -i "$K" -f jsonl --seconds-per-hash 0 \
    "$VIDEOS/doorknob-hd-no-bar.mp4" >"$T/m.jsonl"
t_like "every frame: ~100% both ways (jsonl)" "$(cat "$T/m.jsonl")" \
    '"id":"doorknob-hd-no-bar","category":"clips","kind":"video",.*"query_percent":\(9[5-9]\|100\)\.[0-9]*,"compared_percent":\(9[5-9]\|100\)\.'
"$PHMATCH" match -q -i "$K" "$EXPECTED/doorknob-hd-no-bar.txt" >"$T/m.tsv"
t_is "a vPDQ file as the input: matched as its video, 100% both ways" \
    "$(col_of format "$T/m.tsv" doorknob-hd-no-bar) $(col_of query_percent "$T/m.tsv" doorknob-hd-no-bar) $(col_of compared_percent "$T/m.tsv" doorknob-hd-no-bar)" \
    "vpdq/text 100.000 100.000"
"$PHMATCH" match -q -i "$K" -f csv "$VIDEOS/doorknob-hd-no-bar.mp4" >"$T/m.csv"
t_like "csv: percentages in their columns" "$(cat "$T/m.csv")" \
    ',doorknob-hd-no-bar,clips,video,[0-9]*,original,,,[0-9]*,[0-9.]*,,[0-9.]*,[0-9.]*,$'
"$PHMATCH" match -q -i "$K" --query-threshold 100 --compared-threshold 90 \
    "$VIDEOS/doorknob-hd-no-bar.mp4" >"$T/m.tsv"
t_is "thresholds: sampled frames are not 90% of every frame" "$(col_of match_count "$T/m.tsv")" 0

# ------------------------------------------------------------------
# Synthetic videos: copies match, unrelated ones do not

if ! t_have ffmpeg; then
    for n in 1 2 3 4 5 6 7 8 9 10; do
        t_skip "synthetic video $n" "ffmpeg not installed (make deps)"
    done
else
    ff() { ffmpeg -nostdin -v error -y "$@"; }
    ff -f lavfi -i mandelbrot=size=160x120:rate=25 -t 8 -c:v libx264 \
        -preset ultrafast -pix_fmt yuv420p "$T/mb.mp4"
    ff -ss 3 -i "$T/mb.mp4" -t 4 -c:v libx264 -preset ultrafast "$T/mb-cut.mp4"
    ff -i "$T/mb.mp4" -c:v mpeg4 -q:v 8 "$T/mb-reenc.avi"
    ff -f lavfi -i testsrc=size=160x120:rate=25 -t 8 -c:v libx264 \
        -preset ultrafast -pix_fmt yuv420p "$T/ts.mp4"
    ff -ss 2 -i "$T/mb.mp4" -frames:v 1 "$T/mb-frame.png"
    "$PHMATCH" hash -q -f vpdq "$T/mb.mp4" >"$T/mb.vpdq"
    "$PHMATCH" index import --source synth "$K" "$T/mb.vpdq" >/dev/null
    "$PHMATCH" match -q -i "$K" "$T/mb-cut.mp4" "$T/mb-reenc.avi" >"$T/m.tsv"
    t_is "a cut and a re-encoded copy match the known video" \
        "$(col_of id "$T/m.tsv" mb | wc -l | tr -d ' ')" 2
    t_is "... the cut: all of its hashes, about half of the known video's" \
        "$(col_of query_percent "$T/m.tsv" mb | head -n 1 | awk '{ print ($1 >= 80) }')$(col_of compared_percent "$T/m.tsv" mb | head -n 1 | awk '{ print ($1 >= 35 && $1 <= 70) }')" 11
    "$PHMATCH" match -q -i "$K" --fail-on-match "$T/ts.mp4" >"$T/m.tsv"
    t_is "an unrelated video: exit 0 with --fail-on-match" "$?" 0
    t_is "... and no match" "$(col_of match_count "$T/m.tsv")" 0
    "$PHMATCH" match -q -i "$K" --fail-on-match "$T/mb-cut.mp4" >/dev/null
    t_is "--fail-on-match counts video matches (exit 4)" "$?" 4
    "$PHMATCH" match -q -i "$K" "$T/mb-frame.png" >"$T/m.tsv"
    t_is "an image that is a frame of a known video: reported" \
        "$(col_of id "$T/m.tsv")$(col_of entry_kind "$T/m.tsv")" mbvideo
    # ... and the same image, known, found in the video with its frame
    "$PHMATCH" hash -q -f pdq "$T/mb-frame.png" >"$T/frame.pdq"
    "$PHMATCH" index import --source stills "$K" "$T/frame.pdq" >/dev/null
    "$PHMATCH" match -q -i "$K" "$T/mb.mp4" >"$T/m.tsv"
    t_like "a known image in a video: the frames and timestamps" \
        "$(col_of frames "$T/m.tsv" "$T/mb-frame.png")" '\(^\| \)50@2\.000\( \|$\)'
    t_is "... entry_kind image" "$(col_of entry_kind "$T/m.tsv" "$T/mb-frame.png")" image
    "$PHMATCH" index remove --source synth --id mb "$K" >/dev/null
    "$PHMATCH" match -q -i "$K" "$T/mb-cut.mp4" >"$T/m.tsv"
    t_is "a removed video is not found" "$(col_of id "$T/m.tsv" mb | wc -l | tr -d ' ')" 0
fi
t_is "verify at the end: ok" "$("$PHMATCH" index verify "$K")" "$K: ok"
t_done

#!/bin/sh
# bench/unrelated_set.sh OUT [PATH...] - a larger set of benign images that
# are unrelated to the robustness benchmark's, for measuring how near an
# unrelated image comes to a known one through each robust measure
# (docs/ROBUST.md, "Edits at 0.99").
#
# Writes OUT/img/*.jpg: every image under PATH (files or directories,
# walked) re-encoded by tools/mkqueries (quality 85, at most 1024 pixels a
# side), and OUT/gen/*.jpg: UNRELATED_GEN (default 600) images made by
# ImageMagick from seeds 1..N: plasma fractals, blurred noise and gradients,
# some blurred hard and saved at low JPEG quality, so that there are many of
# PDQ quality below 50 (what a lower quality gate must be judged on).
# With UNRELATED_DIM=1, also OUT/dim/*.jpg: each real image as a badly taken
# or badly kept copy of it would look, all of it still there but little
# contrast left (blurred with sigma 5 and 12, darkened to 12 %, its levels
# squeezed to 42-58 %), and UNRELATED_GRAD (default 400) more generated:
# linear and radial gradients between two colours and blurred two-tone
# splits, what blank-looking pictures hash to (docs/ROBUST.md, "Low-quality
# copies"). Environment: BUILD (default build), UNRELATED_GEN, UNRELATED_DIM,
# UNRELATED_GRAD.
#
# The measurements of docs/ROBUST.md used the PNG clip art of Debian's
# openclipart-png and the backgrounds of mypaint-data-extras (extracted with
# `apt-get download` and `dpkg-deb -x`, nothing installed).
set -eu
[ $# -ge 1 ] || { echo "usage: bench/unrelated_set.sh OUT [PATH...]" >&2; exit 2; }
out=$1
shift
here=$(pwd)
cd "$(dirname "$0")/.."
case ${BUILD:-build} in
/*) mkq=$BUILD/tools/mkqueries ;;
*) mkq=$(pwd)/${BUILD:-build}/tools/mkqueries ;;
esac
[ -x "$mkq" ] || { echo "unrelated_set: no '$mkq': run 'make tools' first" >&2; exit 1; }
command -v convert >/dev/null 2>&1 || { echo "unrelated_set: ImageMagick's convert not found" >&2; exit 1; }
case $out in /*) ;; *) out=$here/$out ;; esac
ngen=${UNRELATED_GEN:-600}
mkdir -p "$out/img" "$out/gen" "$out/stage"

# Real images: names made unique from the path (mkqueries names by basename).
i=0
for p in "$@"; do
    case $p in /*) ;; *) p=$here/$p ;; esac
    find "$p" -type f | grep -iE '\.(jpe?g|png)$' || true
done | LC_ALL=C sort -u | while IFS= read -r f; do
    i=$((i + 1))
    ln -sf "$f" "$out/stage/$(printf 'R%05d' "$i").${f##*.}"
done
if ls "$out"/stage/R* >/dev/null 2>&1; then
    find "$out/stage" -name 'R*' | LC_ALL=C sort | xargs "$mkq" -t same -m 1024 "$out/img" 2>"$out/mkqueries.log" ||
        echo "unrelated_set: some images could not be read (see $out/mkqueries.log)" >&2
fi

# Generated images: the seed picks the kind, size, blur and quality.
s=1
while [ "$s" -le "$ngen" ]; do
    f=$out/gen/$(printf 'G%05d' "$s").jpg
    w=$((320 + (s * 37) % 700)) h=$((240 + (s * 53) % 500))
    q=$((20 + (s * 7) % 70))
    blur=$(((s * 3) % 13))
    case $((s % 4)) in
    0) src="plasma:fractal" ;;
    1) src="plasma:" ;;
    2) src="xc: +noise Random -virtual-pixel tile -blur 0x$((2 + s % 9)) -normalize" ;;
    3) src="gradient: -function Sinusoid $((1 + s % 5)),$((s % 90))" ;;
    esac
    # shellcheck disable=SC2086 # $src: an image and its operators
    convert -seed "$s" -size "${w}x${h}" $src -blur "0x$blur" -quality "$q" "$f" 2>/dev/null ||
        echo "unrelated_set: convert failed for seed $s" >&2
    s=$((s + 1))
done

if [ "${UNRELATED_DIM:-0}" = 1 ]; then
    mkdir -p "$out/dim"
    find "$out/img" -name '*.jpg' | LC_ALL=C sort | while IFS= read -r f; do
        b=$out/dim/$(basename "$f" .jpg)
        convert "$f" -blur 0x5 -quality 85 "$b-blur5.jpg" &&
            convert "$f" -blur 0x12 -quality 85 "$b-blur12.jpg" &&
            convert "$f" -evaluate multiply 0.12 -quality 85 "$b-dark.jpg" &&
            convert "$f" +level 42%,58% -quality 85 "$b-lowcon.jpg" ||
            echo "unrelated_set: convert failed for $f" >&2
    done
    s=1
    while [ "$s" -le "${UNRELATED_GRAD:-400}" ]; do
        f=$out/dim/$(printf 'D%05d' "$s").jpg
        w=$((320 + (s * 41) % 704)) h=$((320 + (s * 67) % 704))
        c1=$(printf '#%06x' $(((s * 2654435761) % 16777216)))
        c2=$(printf '#%06x' $(((s * 40503 + 12345) % 16777216)))
        q=$((70 + s % 26))
        case $((s % 3)) in
        0) convert -size $((w * 2))x$((h * 2)) "gradient:$c1-$c2" -rotate $(((s * 29) % 360)) \
               -gravity center -crop "${w}x${h}+0+0" +repage -quality "$q" "$f" ;;
        1) convert -size "${w}x${h}" "radial-gradient:$c1-$c2" -quality "$q" "$f" ;;
        *) convert -size "${w}x${h}" "xc:$c1" -fill "$c2" -draw "rectangle 0,0,$(((s * 13) % w)),$h" \
               -blur "0x$((2 + s % 19))" -quality "$q" "$f" ;;
        esac 2>/dev/null || echo "unrelated_set: convert failed for gradient $s" >&2
        s=$((s + 1))
    done
fi
rm -rf "$out/stage"
echo "unrelated_set: $(find "$out/img" -name '*.jpg' | wc -l) images, $(find "$out/gen" -name '*.jpg' | wc -l) generated, $(find "$out" -path '*/dim/*.jpg' | wc -l) dimmed or gradients in $out"

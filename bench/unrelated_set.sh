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
# Environment: BUILD (default build), UNRELATED_GEN.
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
mkq=$(pwd)/${BUILD:-build}/tools/mkqueries
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
rm -rf "$out/stage"
echo "unrelated_set: $(find "$out/img" -name '*.jpg' | wc -l) images, $(find "$out/gen" -name '*.jpg' | wc -l) generated in $out"

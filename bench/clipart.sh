#!/bin/sh
# bench/clipart.sh OUT [OFFSET...] - samples of benign clip art for the
# robustness benchmark (issue 15; docs/ROBUST.md, "Pictures that look the
# same turned a quarter"): graphics, which the photo and texture sets lack.
#
# Fetches Debian's openclipart-png (`apt-get download` into OUT/debs,
# `dpkg-deb -x`, nothing installed; a .deb already there is used as it is)
# and, for each OFFSET (default 7 29 18: the three samples measured), writes
# OUT/sample-OFFSET/: every CLIPART_STEP-th PNG (default 45) in path order
# from the OFFSET-th, at most CLIPART_N (default 180), flattened on white as a
# viewer shows them (`convert F -background white -alpha remove -alpha off`;
# phmatch, like the PDQ reference, hashes a PNG's colour channels with alpha
# dropped, which for a transparent clip art is often all black). A picture
# ImageMagick cannot read is skipped with a note. Then:
#     sh bench/robustness.sh OUT/sample-7
# Needs apt-get and dpkg-deb (or the .deb in OUT/debs) and ImageMagick's
# convert; about 400 MB of disk (130 MB the package) and a minute a sample.
set -eu
export LC_ALL=C
usage="usage: bench/clipart.sh OUT [OFFSET...]"
[ $# -ge 1 ] || { echo "$usage" >&2; exit 2; }
case $1 in -h | --help) echo "$usage"; exit 0 ;; -*) echo "$usage" >&2; exit 2 ;; esac
die() { echo "clipart: $*" >&2; exit 1; }
out=$1
shift
[ $# -gt 0 ] || set -- 7 29 18
step=${CLIPART_STEP:-45}
n=${CLIPART_N:-180}
for v in "$step" "$n" "$@"; do
    case $v in '' | *[!0-9]*) die "CLIPART_STEP, CLIPART_N and OFFSET must be numbers" ;; esac
done
[ "$step" -ge 1 ] || die "CLIPART_STEP must be at least 1"
command -v convert >/dev/null 2>&1 || die "ImageMagick's convert not found (apt-get install imagemagick)"
case $out in /*) ;; *) out=$(pwd)/$out ;; esac
mkdir -p "$out/debs"
if ! ls "$out"/debs/openclipart-png_*.deb >/dev/null 2>&1; then
    (cd "$out/debs" && apt-get download openclipart-png >/dev/null) ||
        die "apt-get download openclipart-png failed (no network or no apt sources?)"
fi
deb=$(ls "$out"/debs/openclipart-png_*.deb | head -n 1)
if [ ! -d "$out/x/usr/share/openclipart" ]; then
    rm -rf "$out/x"
    dpkg-deb -x "$deb" "$out/x" || die "cannot unpack '$deb'"
fi
# every PNG path, files and the package's links alike, as x/usr/share/...
(cd "$out" && find x -name '*.png' | sort) >"$out/all.list"
total=$(wc -l <"$out/all.list")
[ "$total" -gt 0 ] || die "no PNG in '$deb'"
for off in "$@"; do
    dir=$out/sample-$off
    rm -rf "$dir"
    mkdir -p "$dir"
    awk -v s="$step" -v o="$off" 'NR % s == o % s' "$out/all.list" | head -n "$n" |
        while IFS= read -r f; do
            name=$(printf '%s' "${f#x/usr/share/}" | tr '/' '_')
            convert "$out/$f" -background white -alpha remove -alpha off \
                -define png:exclude-chunks=date,time "$dir/$name" \
                2>/dev/null || echo "clipart: skipped '$f' (ImageMagick cannot read it)" >&2
        done
    echo "clipart: $dir: $(ls "$dir" | wc -l) pictures" >&2
done

#!/bin/sh
# bench/formats.sh [BUILD_DIR] - CPU time per image of `phmatch hash` on each
# image format of issue 13 against that format library's own command-line
# decoder (ImageMagick for BMP and GIF, as a yardstick), on the same 0.3, 2
# and 12 MP pictures. Not a test: it prints medians and ratios. Target:
# phmatch <= 1.2 x the library's own decode.
#
# The files are made by ImageMagick (cjxl for JPEG XL, which ImageMagick 6
# cannot write) from one photo, resized (upscaled for 12 MP), into
# BUILD_DIR/bench/formats/. Per format and size, both commands run
# BENCH_FORMATS_REPS times (default 5), interleaved, one process per run,
# through bench/runcpu (user + sys of the process and its threads, exec and
# start-up included, as bench/startup.sh measures). Yardsticks, each the
# closest the package offers to "decode and nothing else":
#   webp  dwebp FILE -ppm -o /dev/null         decode + a PPM write to /dev/null
#   heic  heif-convert FILE TMP.y4m            decode, raw YCbCr out (no RGB
#   avif                                       conversion, so a little less work)
#   jxl   djxl FILE TMP.ppm --num_threads=1    decode + PPM write
#   tiff  tiff2rgba -c none FILE TMP.tif       libtiff's RGBA decode + raw TIFF write
#   bmp   convert FILE ppm:/dev/null           ImageMagick: decode + PPM, and its
#   gif   convert FILE[0] ppm:/dev/null        own start-up (about 10 ms here)
# TMP is in /dev/shm (a tmpfs) when there is one, else BUILD_DIR. phmatch runs
# `phmatch hash -j 1 -q --no-progress --format pdq FILE`: decode and PDQ hash.
# A format phmatch does not decode on this build prints "n/a (<status>)".
#
# Environment: BENCH_FORMATS_REPS, BENCH_FORMATS_SIZES (default "0.3 2 12"),
# BENCH_FORMATS (default "webp heic avif jxl tiff bmp gif"), BENCH_SOURCE (the
# photo), BENCH_QUICK=1 (two runs at 0.3 MP: checks the script works).
set -eu
cd "$(dirname "$0")/.."

die() { echo "bench: $*" >&2; exit 1; }

build=${1:-build}
[ -x "$build/phmatch" ] || die "no '$build/phmatch': run 'make BUILD=$build all' first"
command -v convert >/dev/null 2>&1 || die "ImageMagick's convert not found: run 'make deps'"
CC=${CC:-cc}
reps=${BENCH_FORMATS_REPS:-5}
sizes=${BENCH_FORMATS_SIZES:-"0.3 2 12"}
formats=${BENCH_FORMATS:-"webp heic avif jxl tiff bmp gif"}
src=${BENCH_SOURCE:-data/photos/bridge.jpg}
if [ "${BENCH_QUICK:-0}" = 1 ]; then
    reps=2
    sizes=0.3
fi
case $reps in '' | *[!0-9]* | 0) die "BENCH_FORMATS_REPS must be a positive number" ;; esac
[ -f "$src" ] || die "no source photo '$src'"

out=$build/bench/formats
mkdir -p "$out"
runcpu=$out/runcpu
$CC -std=c11 -D_DEFAULT_SOURCE -O2 -o "$runcpu" bench/runcpu.c || die "cannot build $runcpu"
tmp=$out
[ -d /dev/shm ] && [ -w /dev/shm ] && tmp=$(mktemp -d /dev/shm/phmatch-bench.XXXXXX)
trap '[ "$tmp" = "$out" ] || rm -rf "$tmp"' EXIT

# make FMT BASE.png OUT - writes the picture in FMT.
make_file() {
    case $1 in
    jxl) cjxl -q 90 "$2" "$3" >/dev/null 2>&1 ;;
    tiff) convert "$2" -compress lzw "$3" ;;
    gif) convert "$2" -colors 256 "$3" ;;
    bmp) convert "$2" bmp3:"$3" ;;
    heic | avif) convert "$2" -quality 80 "$3" ;;
    webp) convert "$2" -quality 90 "$3" ;;
    esac
}

# yardstick FMT FILE - the library's own decoder, as one command line.
yardstick() {
    case $1 in
    webp) echo "dwebp $2 -ppm -o /dev/null" ;;
    heic | avif) echo "heif-convert --quiet $2 $tmp/y.y4m" ;;
    jxl) echo "djxl $2 $tmp/y.ppm --num_threads=1" ;;
    tiff) echo "tiff2rgba -c none $2 $tmp/y.tif" ;;
    bmp) echo "convert $2 ppm:/dev/null" ;;
    gif) echo "convert $2[0] ppm:/dev/null" ;;
    esac
}
tool_of() {
    case $1 in
    webp) echo dwebp ;; heic | avif) echo heif-convert ;; jxl) echo djxl ;;
    tiff) echo tiff2rgba ;; *) echo convert ;;
    esac
}

# The pictures: the photo resized to each size (4:3-ish as the photo is).
w0=$(identify -format '%w' "$src")
h0=$(identify -format '%h' "$src")
raw=$out/raw.tsv
: >"$raw"
results=$out/summary.tsv
: >"$results"
echo "phmatch hash against each format's own decoder, CPU per image (user + sys), median of $reps runs"
echo "source $src (${w0}x${h0}); load $(cut -d ' ' -f 1-3 /proc/loadavg 2>/dev/null || echo '?')"
printf '%-5s %5s %12s %12s %8s  %s\n' format MP phmatch yardstick ratio "yardstick command"
for mp in $sizes; do
    dims=$(awk -v mp="$mp" -v w="$w0" -v h="$h0" 'BEGIN {
        s = sqrt(mp * 1e6 / (w * h)); printf "%dx%d", int(w * s + 0.5), int(h * s + 0.5) }')
    base=$out/base-$mp.png
    [ -f "$base" ] || convert "$src" -resize "$dims!" "$base"
    for fmt in $formats; do
        f=$out/pic-$mp.$fmt
        if [ ! -f "$f" ]; then
            make_file "$fmt" "$base" "$f" 2>/dev/null || rm -f "$f"
        fi
        if [ ! -s "$f" ]; then
            printf '%-5s %5s %12s\n' "$fmt" "$mp" "n/a (cannot make the file)"
            continue
        fi
        st=$("$build/phmatch" hash -f jsonl -j 1 --no-progress "$f" 2>/dev/null |
            sed -n 's/.*"status":"\([a-z_]*\)".*/\1/p')
        if [ "$st" != ok ]; then
            printf '%-5s %5s %12s\n' "$fmt" "$mp" "n/a (${st:-no record})"
            continue
        fi
        y=$(yardstick "$fmt" "$f")
        if ! command -v "$(tool_of "$fmt")" >/dev/null 2>&1 || ! $y >/dev/null 2>&1; then
            printf '%-5s %5s %12s\n' "$fmt" "$mp" "n/a ($(tool_of "$fmt") missing or failed)"
            continue
        fi
        i=0
        while [ "$i" -lt "$reps" ]; do
            "$runcpu" "$build/phmatch" hash -j 1 -q --no-progress --format pdq "$f" |
                awk -v f="$fmt" -v m="$mp" '{ print f "\t" m "\tphmatch\t" $2 + $3 }' >>"$raw"
            # shellcheck disable=SC2086
            "$runcpu" $y 2>/dev/null |
                awk -v f="$fmt" -v m="$mp" '{ print f "\t" m "\tyard\t" $2 + $3 }' >>"$raw"
            i=$((i + 1))
        done
        med() {
            awk -F '\t' -v f="$fmt" -v m="$mp" -v t="$1" '$1 == f && $2 == m && $3 == t { print $4 }' \
                "$raw" | sort -g |
                awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
        }
        a=$(med phmatch)
        b=$(med yard)
        awk -v f="$fmt" -v m="$mp" -v a="$a" -v b="$b" -v y="$y" -v o="$out/" 'BEGIN {
            gsub(o, "", y)
            printf "%-5s %5s %9.1f ms %9.1f ms %7.2fx  %s\n", f, m, a * 1e3, b * 1e3, (b > 0 ? a / b : 0), y
        }'
        printf '%s\t%s\t%s\t%s\n' "$fmt" "$mp" "$a" "$b" >>"$results"
    done
done
echo "target: phmatch <= 1.2 x the library's own decode (ImageMagick, for BMP and GIF, is a yardstick,"
echo "its start-up included). phmatch's column includes the PDQ hash."

#!/bin/sh
# bench/startup.sh BUILD_DIR - whole-process CPU time of `phmatch hash` on one
# 0.3 MP JPEG against libjpeg-turbo's `djpeg` on the same file (issue 11,
# point 6: target phmatch <= 2 x djpeg). Not a test: it prints figures.
#
# What it measures: the CPU (user + sys, from wait4()) of a whole process,
# exec and dynamic loading included: what a pipeline that runs phmatch once
# per upload pays per file. Both commands run BENCH_STARTUP_REPS times
# (default 30), interleaved, one process per run, through bench/runcpu.
# Per run the kernel may account CPU in whole scheduler ticks, so besides
# the median of single runs it prints the mean of a batch of
# BENCH_STARTUP_BATCH runs (default 200; tick sampling is unbiased over
# many runs), and the ratio of both.
#
# The per-image figures of 0.3, 2 and 12 MP batches are bench/run.sh's.
set -eu
cd "$(dirname "$0")/.."

die() { echo "bench: $*" >&2; exit 1; }

build=${1:-build}
[ -x "$build/phmatch" ] || die "no '$build/phmatch': run 'make BUILD=$build all' first"
command -v djpeg >/dev/null 2>&1 ||
    die "djpeg not found: run 'make deps' (Debian package libjpeg-turbo-progs)"
CC=${CC:-cc}
reps=${BENCH_STARTUP_REPS:-30}
batch=${BENCH_STARTUP_BATCH:-200}
case $reps$batch in *[!0-9]*) die "BENCH_STARTUP_REPS and _BATCH must be numbers" ;; esac

out=$build/bench/startup
mkdir -p "$out"
runcpu=$out/runcpu
$CC -std=c11 -D_DEFAULT_SOURCE -O2 -o "$runcpu" bench/runcpu.c ||
    die "cannot build $runcpu"

# The image: 0.3 MP, made by tools/mkimages as bench/run.sh makes its own.
src=tests/data/pdq/images/bridge-mods/aaa-orig.jpg
mkimages=$build/tools/mkimages
[ -x "$mkimages" ] || die "no '$mkimages': run 'make BUILD=$build tools' first"
rm -rf "$out/img"
"$mkimages" -q 90 -s 1 -n 2 "$src" 0.3 1 "$out/img" >/dev/null 2>&1 ||
    die "mkimages failed"
img=$(find "$out/img" -name '*.jpg' | head -n 1)
[ -n "$img" ] || die "no image made"

cli="$build/phmatch hash -q --no-progress --format pdq"
# Warm up (page cache, and check that both work).
# shellcheck disable=SC2086
$cli "$img" | grep -q '^[0-9a-f]\{64\},' || die "phmatch hash failed on $img"
djpeg -outfile /dev/null "$img" || die "djpeg failed on $img"

# runcpu prints: runs user_s sys_s wall_s maxrss_kb
raw=$out/raw.tsv
: >"$raw"
i=0
while [ "$i" -lt "$reps" ]; do
    # shellcheck disable=SC2086
    "$runcpu" $cli "$img" | awk -v t=phmatch '{ print t "\t" $2 + $3 "\t" $4 "\t" $5 }' >>"$raw"
    "$runcpu" djpeg -outfile /dev/null "$img" |
        awk -v t=djpeg '{ print t "\t" $2 + $3 "\t" $4 "\t" $5 }' >>"$raw"
    i=$((i + 1))
done
median() { # tool column
    awk -F '\t' -v t="$1" -v c="$2" '$1 == t { print $c }' "$raw" | sort -g |
        awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
yes "$img" 2>/dev/null | head -n "$batch" >"$out/list" || true
# shellcheck disable=SC2086
b_cli=$("$runcpu" -f "$out/list" $cli | awk -v n="$batch" '{ print ($2 + $3) / n }')
b_djpeg=$("$runcpu" -f "$out/list" djpeg -outfile /dev/null | awk -v n="$batch" '{ print ($2 + $3) / n }')

m_cli=$(median phmatch 2)
m_djpeg=$(median djpeg 2)
w_cli=$(median phmatch 3)
w_djpeg=$(median djpeg 3)
r_cli=$(median phmatch 4)
r_djpeg=$(median djpeg 4)
echo "one $(basename "$img") ($(wc -c <"$img") bytes), one process per run; load $(cut -d ' ' -f 1-3 /proc/loadavg 2>/dev/null || echo '?')"
awk -v mc="$m_cli" -v md="$m_djpeg" -v bc="$b_cli" -v bd="$b_djpeg" \
    -v wc="$w_cli" -v wd="$w_djpeg" -v rc="$r_cli" -v rd="$r_djpeg" \
    -v reps="$reps" -v batch="$batch" 'BEGIN {
    printf "%-34s %10s %10s %7s\n", "", "phmatch", "djpeg", "ratio"
    printf "%-34s %8.2f ms %7.2f ms %6.2fx\n", "CPU, median of " reps " runs", mc * 1e3, md * 1e3, (md > 0 ? mc / md : 0)
    printf "%-34s %8.2f ms %7.2f ms %6.2fx\n", "CPU, mean of a batch of " batch, bc * 1e3, bd * 1e3, (bd > 0 ? bc / bd : 0)
    printf "%-34s %8.2f ms %7.2f ms %6.2fx\n", "wall, median", wc * 1e3, wd * 1e3, (wd > 0 ? wc / wd : 0)
    printf "%-34s %8d kB %7d kB\n", "peak RSS, median", rc, rd
    printf "target: phmatch <= 2 x djpeg (CPU)\n"
}'

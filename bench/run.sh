#!/bin/sh
# bench/run.sh BUILD_DIR - the hashing benchmark of issue 2 (`make bench`).
#
# Generates JPEGs of about 0.3, 2 and 12 megapixels with tools/mkimages, then,
# interleaved and repeated, measures per size:
#   - djpeg: libjpeg-turbo's own full decode, one process per file (the floor)
#   - phmatch: `phmatch hash -j 1 -q --no-progress --format pdq DIR`, full mode
#   - library: bench/hash_cpu, decode + hash in one process, and decode only
# and on the 2 MP set the wall-clock throughput of -j 2 against -j 1.
# Prints medians and ratios beside the targets of issue 2; the raw numbers go
# to BUILD_DIR/bench/raw.tsv and the medians to BUILD_DIR/bench/summary.tsv.
#
# Environment: BENCH_REPS (runs per measurement, default 7), BENCH_COUNTS
# (files per size, default "60 30 12"), BENCH_QUICK=1 (2 runs of few files: a
# check that the script works, not a measurement), BENCH_SOURCE (one photo to
# make every size from, instead of the defaults below).
set -eu
cd "$(dirname "$0")/.."

die() { echo "bench: $*" >&2; exit 1; }

[ $# -le 1 ] || die "usage: sh bench/run.sh [BUILD_DIR]"
build=${1:-build}
case $build in *[[:space:]]*) die "the build directory's path must not contain spaces" ;; esac
[ -d "$build" ] || die "no build directory '$build': run 'make BUILD=$build all' first"
[ -f "$build/libphmatch.a" ] || die "no '$build/libphmatch.a': run 'make BUILD=$build lib' first"
command -v djpeg >/dev/null 2>&1 ||
    die "djpeg not found: run 'make deps' (Debian package libjpeg-turbo-progs)"
command -v pkg-config >/dev/null 2>&1 || die "pkg-config not found: run 'make deps'"
CC=${CC:-cc}
command -v "$CC" >/dev/null 2>&1 || die "C compiler '$CC' not found: run 'make deps'"

reps=${BENCH_REPS:-7}
counts=${BENCH_COUNTS:-"60 30 12"}
if [ "${BENCH_QUICK:-0}" = 1 ]; then
    reps=2
    counts="6 4 2"
fi
case $reps in '' | *[!0-9]* | 0) die "BENCH_REPS must be a positive number" ;; esac
sizes="0.3 2 12"
# shellcheck disable=SC2086 # split on purpose
set -- $counts
[ $# -eq 3 ] || die "BENCH_COUNTS must be three numbers (0.3, 2 and 12 MP)"

# Sources: a sharp 1.6 MP landscape for the small sizes, a 12 MP phone photo
# for 12 MP, so that no size is a blurry enlargement. The phone photo is
# soft, so it gets more grain (-n 3). Both from the PDQ reference's test set.
src_small=tests/data/pdq/images/bridge-mods/aaa-orig.jpg
src_large=tests/data/pdq/images/reg-test-input/exif-rotn/exif-rotn-1.jpg
noise_small=2
noise_large=3
if [ -n "${BENCH_SOURCE:-}" ]; then
    src_small=$BENCH_SOURCE
    src_large=$BENCH_SOURCE
    noise_large=$noise_small
fi
for f in "$src_small" "$src_large"; do
    [ -f "$f" ] || die "source photo '$f' not found"
done

out=$build/bench
mkdir -p "$out"
log=$out/run.log
: >"$log"

# ---------------------------------------------------------------------------
# Helpers: built here with the Makefile's flags (the Makefile builds tools/
# only). mkimages comes from the build dir when `make all` made it.

pkgs=$(sed -n 's/^PKGS[[:space:]]*:=[[:space:]]*//p' Makefile)
[ -n "$pkgs" ] || pkgs="libturbojpeg libpng lmdb libcrypto"
cflags="-std=c11 -D_DEFAULT_SOURCE -D_FILE_OFFSET_BITS=64 -O2 -g -Wall -Wextra
 -Wshadow -Wconversion -Wstrict-prototypes -Wmissing-prototypes -Wpointer-arith
 -Wformat=2 -Wvla -Wundef -Iinclude"
# newer A B - A was modified after B ([ -nt ] is not POSIX).
newer() { [ -n "$(find "$1" -prune -newer "$2" 2>/dev/null)" ]; }

# shellcheck disable=SC2086
libs="$build/libphmatch.a -fopenmp -pthread $(pkg-config --libs $pkgs) -lgif -lm -ldl"

build_helper() { # name source...
    name=$1; shift
    # shellcheck disable=SC2046,SC2086
    $CC $cflags $(pkg-config --cflags $pkgs) -o "$out/$name" "$@" $libs \
        >>"$log" 2>&1 || { cat "$log" >&2; die "cannot build $out/$name"; }
}
build_helper runcpu bench/runcpu.c
build_helper hash_cpu bench/hash_cpu.c
mkimages=$build/tools/mkimages
if [ ! -x "$mkimages" ] || newer tools/mkimages.c "$mkimages"; then
    build_helper mkimages tools/mkimages.c
    mkimages=$out/mkimages
fi
runcpu=$out/runcpu
hash_cpu=$out/hash_cpu

# ---------------------------------------------------------------------------
# Images, regenerated only when the recipe changes.

imgdir=$out/images
for s in $sizes; do
    n=$1
    shift
    case $n in '' | *[!0-9]* | 0) die "BENCH_COUNTS: '$n' is not a positive number" ;; esac
    if [ "$s" = 12 ]; then src=$src_large noise=$noise_large; else src=$src_small noise=$noise_small; fi
    dir=$imgdir/$s
    recipe="$(cksum <tools/mkimages.c) $src $noise $n"
    if [ ! -f "$dir.recipe" ] || [ "$(cat "$dir.recipe")" != "$recipe" ]; then
        rm -rf "$dir"
        echo "bench: making $n images of $s MP from $src" >&2
        "$mkimages" -q 90 -s 1 -n "$noise" "$src" "$s" "$n" "$dir" >>"$log" 2>&1 ||
            { tail -n 5 "$log" >&2; die "mkimages failed for $s MP"; }
        echo "$recipe" >"$dir.recipe"
    fi
    find "$dir" -name '*.jpg' | sort >"$out/list-$s"
done
"$mkimages" -q 90 -n 0 "$src_small" 16x16 1 "$out/tiny" >>"$log" 2>&1 ||
    die "mkimages failed for the start-up probe image"
tiny=$(find "$out/tiny" -name '*.jpg' | head -n 1)
yes "$tiny" 2>/dev/null | head -n 50 >"$out/list-tiny" || true

# ---------------------------------------------------------------------------
# The CLI, if it works: a warm-up run per size that must print one pdq line
# per file (pdq format: hash,quality,path).

cli=$build/phmatch
cli_ok=1
cli_why=""
if [ ! -x "$cli" ]; then
    cli_ok=0
    cli_why="$cli not built"
fi
for s in $sizes; do
    [ "$cli_ok" = 1 ] || break
    want=$(wc -l <"$out/list-$s")
    if ! got=$("$cli" hash -j 1 -q --no-progress --format pdq "$imgdir/$s" 2>>"$log" |
        grep -c '^[0-9a-f]\{64\},[0-9]*,'); then
        got=0
    fi
    if [ "$got" -ne "$want" ]; then
        cli_ok=0
        cli_why="'phmatch hash' printed $got of $want pdq lines for $imgdir/$s (see $log)"
    fi
done
[ "$cli_ok" = 1 ] || echo "bench: phmatch CLI columns skipped: $cli_why" >&2
for s in $sizes; do # warm the page cache and the library path
    # shellcheck disable=SC2046 # one path a line, no spaces (checked above)
    "$hash_cpu" $(cat "$out/list-$s") >/dev/null 2>>"$log" ||
        die "hash_cpu failed on the $s MP images (see $log)"
done

# ---------------------------------------------------------------------------
# Measurements. raw.tsv: one row per run.
#   rep size tool files cpu_s user_s sys_s wall_s maxrss_kb decode_s hash_s

raw=$out/raw.tsv
printf 'rep\tsize\ttool\tfiles\tcpu_s\tuser_s\tsys_s\twall_s\tmaxrss_kb\tdecode_s\thash_s\n' >"$raw"

measure_cmd() { # rep size tool files command...  (via runcpu)
    r=$1 s=$2 t=$3 nf=$4; shift 4
    line=$("$runcpu" "$@" 2>>"$log") || die "$t failed on $s MP (see $log)"
    echo "$line" | awk -F '\t' -v r="$r" -v s="$s" -v t="$t" -v nf="$nf" -v OFS='\t' \
        '{ print r, s, t, nf, $2 + $3, $2, $3, $4, $5, "-", "-" }' >>"$raw"
}

measure_lib() { # rep size tool hash_cpu-args...
    r=$1 s=$2 t=$3; shift 3
    line=$("$hash_cpu" "$@" 2>>"$log") || die "hash_cpu failed on $s MP (see $log)"
    echo "$line" | awk -F '\t' -v r="$r" -v s="$s" -v t="$t" -v OFS='\t' \
        '{ print r, s, t, $1, $4, "-", "-", $5, "-", $2, $3 }' >>"$raw"
}

# shellcheck disable=SC2016 # expanded by the shell that runs it
spin='i=0; while [ $i -lt 250000 ]; do i=$((i + 1)); done'
load0=$(cut -d ' ' -f 1-3 /proc/loadavg 2>/dev/null || echo '?')
t_start=$(date +%s)
echo "bench: $reps runs of each measurement; this takes a few minutes" >&2
r=1
while [ "$r" -le "$reps" ]; do
    measure_cmd "$r" tiny djpeg-startup 50 -f "$out/list-tiny" djpeg -outfile /dev/null
    for s in $sizes; do
        list=$out/list-$s
        nf=$(wc -l <"$list")
        measure_cmd "$r" "$s" djpeg "$nf" -f "$list" djpeg -outfile /dev/null
        if [ "$cli_ok" = 1 ]; then
            measure_cmd "$r" "$s" phmatch-j1 "$nf" \
                "$cli" hash -j 1 -q --no-progress --format pdq "$imgdir/$s"
        fi
        # shellcheck disable=SC2046
        measure_lib "$r" "$s" lib-j1 $(cat "$list")
        # shellcheck disable=SC2046
        measure_lib "$r" "$s" lib-decode -d $(cat "$list")
        # shellcheck disable=SC2046
        measure_lib "$r" "$s" lib-onepass -1 $(cat "$list")
        if [ "$s" = 2 ]; then
            if [ "$cli_ok" = 1 ]; then
                measure_cmd "$r" "$s" phmatch-j2 "$nf" \
                    "$cli" hash -j 2 -q --no-progress --format pdq "$imgdir/$s"
            fi
            # shellcheck disable=SC2046
            measure_lib "$r" "$s" lib-j2 -j 2 $(cat "$list")
            # The machine's own ceiling at this moment: one CPU-bound shell
            # loop against two at once (other tenants take a core away).
            measure_cmd "$r" "$s" spin-1 1 sh -c "$spin"
            measure_cmd "$r" "$s" spin-2 1 sh -c "{ $spin; } & { $spin; }; wait"
        fi
    done
    r=$((r + 1))
done
t_end=$(date +%s)
load1=$(cut -d ' ' -f 1-3 /proc/loadavg 2>/dev/null || echo '?')

# ---------------------------------------------------------------------------
# Medians.

# med SIZE TOOL COLUMN [per-file] - median over runs of a raw.tsv column, in
# milliseconds per file when the 4th argument is given, else as is.
med() {
    awk -F '\t' -v s="$1" -v t="$2" -v c="$3" -v per="${4:-}" '
        NR == 1 { for (i = 1; i <= NF; i++) if ($i == c) col = i; next }
        $2 == s && $3 == t {
            if ($col == "-") exit
            print (per != "" ? 1000 * $col / $4 : $col)
        }' "$raw" | median
}

# paired SIZE NUM DEN COLUMN [FACTOR [STARTUP]] - median over runs of
# FACTOR * NUM / DEN, both per file and taken from the same run (measured
# seconds apart), so that a slow spell of the machine cancels out. With
# STARTUP, that run's djpeg start-up per file is taken off DEN first.
paired() {
    awk -F '\t' -v s="$1" -v n="$2" -v d="$3" -v c="$4" -v k="${5:-1}" -v st="${6:-}" '
        NR == 1 { for (i = 1; i <= NF; i++) if ($i == c) col = i; next }
        $3 == "djpeg-startup" { S[$1] = $5 / $4 }
        $2 == s && $3 == n && $col != "-" { N[$1] = $col / $4 }
        $2 == s && $3 == d && $col != "-" { D[$1] = $col / $4 }
        END {
            for (r in N) {
                if (!(r in D)) continue
                den = D[r] - (st != "" ? S[r] : 0)
                if (den > 0) print k * N[r] / den
            }
        }' "$raw" | median
}

# best SIZE TOOL - the fastest run's CPU ms per file: noise only ever adds time.
best() {
    awk -F '\t' -v s="$1" -v t="$2" 'NR > 1 && $2 == s && $3 == t { print 1000 * $5 / $4 }' "$raw" |
        sort -g | head -n 1 | awk 'END { print (NR ? $1 : "nan") }'
}

median() {
    sort -g | awk '
        { v[NR] = $1 }
        END {
            if (NR == 0) { print "nan"; exit }
            if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2
        }'
}

fmt() { awk -v v="$1" -v f="$2" 'BEGIN { if (v == "nan") print "n/a"; else printf f "\n", v }'; }
verdict() { # value op target
    awk -v v="$1" -v op="$2" -v t="$3" 'BEGIN {
        if (v == "nan") { print "n/a"; exit }
        v = sprintf("%.2f", v) + 0 # judge the figure as printed
        ok = (op == "<=") ? v <= t : v >= t
        print ok ? "met" : "MISSED"
    }'
}

summary=$out/summary.tsv
printf 'size\tmetric\tmedian\n' >"$summary"
note() { printf '%s\t%s\t%s\n' "$1" "$2" "$3" >>"$summary"; }

versions=$("$cli" --version 2>/dev/null | grep -v '^digests' | tr '\n' ';' |
    sed 's/;$//; s/;/; /g') || versions=""
[ -n "$versions" ] || versions="libjpeg-turbo $(djpeg -version 2>&1 | sed -n 's/.*version \([^ ]*\).*/\1/p' | head -n 1)"
cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo 2>/dev/null | head -n 1)
startup=$(med tiny djpeg-startup cpu_s per)
note tiny djpeg_startup_ms "$startup"

echo
echo "phmatch hashing benchmark: full mode, CPU = user+sys, median of $reps runs"
[ "${BENCH_QUICK:-0}" != 1 ] ||
    echo "  BENCH_QUICK=1: a check of the script on a few files; the figures mean nothing"
echo "  build: $build; $versions"
echo "  machine: ${cpu:-unknown CPU}, $(nproc 2>/dev/null || echo '?') cores;" \
    "load average $load0 before, $load1 after; $((t_end - t_start)) s"
echo
echo "CPU time per image, one thread (target: phmatch <= 1.2 x djpeg)"
printf '  %-7s %-10s %5s %7s %5s %9s %11s %6s  %-13s %7s\n' \
    size pixels files KB/img bpp "djpeg ms" "phmatch ms" ratio "target <= 1.2" ratio*
for s in $sizes; do
    first=$(head -n 1 "$out/list-$s")
    dims=$(basename "$first" | sed 's/^img-\([0-9]*x[0-9]*\)-.*/\1/')
    nf=$(wc -l <"$out/list-$s")
    bytes=0
    while read -r f; do
        bytes=$((bytes + $(wc -c <"$f")))
    done <"$out/list-$s"
    kb=$(awk -v b="$bytes" -v n="$nf" 'BEGIN { printf "%.0f", b / n / 1024 }')
    bpp=$(echo "$dims" | awk -F x -v b="$bytes" -v n="$nf" '{ printf "%.2f", 8 * b / n / ($1 * $2) }')
    dj=$(med "$s" djpeg cpu_s per)
    ph=$(med "$s" phmatch-j1 cpu_s per)
    q=$(paired "$s" phmatch-j1 djpeg cpu_s)
    q2=$(paired "$s" phmatch-j1 djpeg cpu_s 1 startup)
    note "$s" djpeg_ms "$dj"
    note "$s" phmatch_j1_ms "$ph"
    note "$s" phmatch_over_djpeg "$q"
    note "$s" phmatch_over_djpeg_less_startup "$q2"
    printf '  %-7s %-10s %5s %7s %5s %9s %11s %6s  %-13s %7s\n' "$s MP" "$dims" "$nf" \
        "$kb" "$bpp" "$(fmt "$dj" %.2f)" "$(fmt "$ph" %.2f)" "$(fmt "$q" %.2f)" \
        "$(verdict "$q" '<=' 1.2)" "$(fmt "$q2" %.2f)"
done
[ "$cli_ok" = 1 ] || echo "  (phmatch column skipped: $cli_why)"
bestline=""
for s in $sizes; do
    b=$(awk -v a="$(best "$s" phmatch-j1)" -v b="$(best "$s" djpeg)" \
        'BEGIN { if (a == "nan" || b == "nan" || b == 0) print "nan"; else print a / b }')
    note "$s" best_phmatch_over_best_djpeg "$b"
    bestline="$bestline $s MP $(fmt "$b" %.2f),"
done
echo "  best run / best run:${bestline%,} (noise only ever adds time)"
echo "  djpeg runs once per file, so its column includes a process start-up of" \
    "$(fmt "$startup" %.2f) ms"
echo "  (djpeg on a 16x16 JPEG). ratio* = phmatch / (djpeg - start-up): the stricter"
echo "  comparison, as if djpeg decoded every file in one process. Ratios are medians"
echo "  of each run's own ratio (phmatch and djpeg measured seconds apart), so they can"
echo "  differ a little from the ratio of the medians shown."
echo
echo "Library only, one thread (bench/hash_cpu: no process start-up, no output)"
printf '  %-7s %10s %10s %10s %12s %12s %10s %12s\n' size "decode ms" "hash ms" "total ms" \
    "total/djpeg" "total/decode" "1-pass ms" "1-pass/djpeg"
for s in $sizes; do
    dec=$(med "$s" lib-decode cpu_s per)
    tot=$(med "$s" lib-j1 cpu_s per)
    hsh=$(med "$s" lib-j1 hash_s per)
    one=$(med "$s" lib-onepass cpu_s per)
    note "$s" lib_decode_only_ms "$dec"
    note "$s" lib_decode_hash_ms "$tot"
    note "$s" lib_hash_step_ms "$hsh"
    note "$s" lib_one_pass_ms "$one"
    printf '  %-7s %10s %10s %10s %12s %12s %10s %12s\n' "$s MP" "$(fmt "$dec" %.2f)" \
        "$(fmt "$hsh" %.2f)" "$(fmt "$tot" %.2f)" \
        "$(fmt "$(paired "$s" lib-j1 djpeg cpu_s)" %.2f)" \
        "$(fmt "$(paired "$s" lib-j1 lib-decode cpu_s)" %.2f)" \
        "$(fmt "$one" %.2f)" "$(fmt "$(paired "$s" lib-onepass djpeg cpu_s)" %.2f)"
done
echo "  decode = phm_decode_file() only (TurboJPEG, accurate IDCT, fancy upsampling);"
echo "  hash = phm_hash_image() in full mode; total = user+sys of the whole run."
echo "  1-pass = phm_hash_file(): the JPEG rows stream from libjpeg-turbo into the"
echo "  hasher (what phmatch hash does); djpeg's column includes its start-up."
echo
echo "2-core scaling on the 2 MP set: wall-clock throughput (target: -j 2 / -j 1 >= 1.8)"
printf '  %-9s %14s %14s %9s  %s\n' "" "-j 1 files/s" "-j 2 files/s" speed-up "target >= 1.8"
nf=$(wc -l <"$out/list-2")
for t in phmatch lib; do
    w1=$(med 2 "$t-j1" wall_s)
    w2=$(med 2 "$t-j2" wall_s)
    f1=$(awk -v n="$nf" -v w="$w1" 'BEGIN { if (w == "nan") print "nan"; else print n / w }')
    f2=$(awk -v n="$nf" -v w="$w2" 'BEGIN { if (w == "nan") print "nan"; else print n / w }')
    sp=$(paired 2 "$t-j1" "$t-j2" wall_s)
    note 2 "${t}_j1_files_per_s" "$f1"
    note 2 "${t}_j2_files_per_s" "$f2"
    note 2 "${t}_speedup_j2" "$sp"
    label=$t
    [ "$t" = lib ] && label=library
    printf '  %-9s %14s %14s %9s  %s\n' "$label" "$(fmt "$f1" %.1f)" "$(fmt "$f2" %.1f)" \
        "$(fmt "$sp" %.2f)" "$(verdict "$sp" '>=' 1.8)"
done
ceiling=$(paired 2 spin-1 spin-2 wall_s 2)
note 2 machine_ceiling_j2 "$ceiling"
printf '  %-9s %14s %14s %9s  %s\n' machine "" "" "$(fmt "$ceiling" %.2f)" \
    "(ceiling: two CPU-bound loops vs one)"
echo "  (library: bench/hash_cpu -j 2, two threads each with its own decoder and hasher."
echo "  machine: what this machine gave two independent busy loops at the same moments;"
echo "  a figure well under 2 means other load shared the cores, and no program can"
echo "  scale past it here.)"
echo
echo "For context, not measured here: the reference PDQ command-line hasher is quoted in"
echo "issue 2 as taking 5-11 x djpeg's CPU time."
echo
echo "raw runs: $raw; medians: $summary; log: $log"

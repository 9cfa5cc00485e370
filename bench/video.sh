#!/bin/sh
# bench/video.sh [BUILD_DIR] - the video benchmark of issue 5 (not a test).
#
# Makes a 720p and a 1080p H.264 file of 10 s at 30 fps with FFmpeg's
# testsrc2 source (BENCH_VIDEO_SOURCE=mandelbrot for the other one; it takes
# minutes to render at 1080p), then, interleaved and repeated, measures per
# file:
#   - ffmpeg:     `ffmpeg -i f.mp4 -f null -`, FFmpeg's own full decode with
#                 its default threads: the floor, since phmatch must decode too
#   - phmatch r0: `phmatch hash -f vpdq --seconds-per-hash 0 f.mp4`, every
#                 frame converted and hashed (all cores: one video alone gets
#                 FFmpeg's decoding threads and hashing worker threads)
#   - phmatch r0 -j1: the same with one hashing thread (FFmpeg still decodes
#                 with its threads): what the hashing workers add
#   - phmatch r1: the default one frame a second
# and prints the medians: wall seconds, CPU seconds (user + sys of the
# process and its threads), frames hashed per second of wall time, and the
# ratio of phmatch r0 to the ffmpeg floor (target of issue 5: <= 1.3 in wall
# time). The machine is shared: read the CPU column beside the wall one.
#
# Environment: BENCH_REPS (runs per measurement, default 5), BENCH_QUICK=1
# (2 runs of 2 s files: checks the script, measures nothing),
# BENCH_VIDEO_SOURCE (testsrc2 or mandelbrot). Files and raw runs go to
# BUILD_DIR/bench-video/.
set -eu
cd "$(dirname "$0")/.."

die() { echo "bench: $*" >&2; exit 1; }

[ $# -le 1 ] || die "usage: sh bench/video.sh [BUILD_DIR]"
build=${1:-build}
case $build in *[[:space:]]*) die "the build directory's path must not contain spaces" ;; esac
cli=$build/phmatch
[ -x "$cli" ] || die "no '$cli': run 'make BUILD=$build all' first"
command -v ffmpeg >/dev/null 2>&1 || die "ffmpeg not found: run 'make deps'"
CC=${CC:-cc}

reps=${BENCH_REPS:-5}
seconds=10
if [ "${BENCH_QUICK:-0}" = 1 ]; then
    reps=2
    seconds=2
fi
case $reps in '' | *[!0-9]* | 0) die "BENCH_REPS must be a positive number" ;; esac
source=${BENCH_VIDEO_SOURCE:-testsrc2}
case $source in testsrc2 | testsrc | mandelbrot) ;; *) die "BENCH_VIDEO_SOURCE: testsrc2, testsrc or mandelbrot" ;; esac

out=$build/bench-video
mkdir -p "$out"
log=$out/run.log
: >"$log"
runcpu=$out/runcpu
$CC -std=c11 -D_DEFAULT_SOURCE -O2 -o "$runcpu" bench/runcpu.c >>"$log" 2>&1 ||
    die "cannot build $runcpu (see $log)"

# The files, made once per recipe.
for size in 1280x720 1920x1080; do
    f=$out/$source-$size-${seconds}s.mp4
    if [ ! -s "$f" ]; then
        echo "bench: making $f" >&2
        ffmpeg -nostdin -v error -y -f lavfi \
            -i "$source=size=$size:rate=30" -t "$seconds" -c:v libx264 \
            -preset fast -pix_fmt yuv420p "$f.tmp.mp4" >>"$log" 2>&1 ||
            die "ffmpeg could not make $f (see $log)"
        mv "$f.tmp.mp4" "$f"
    fi
done

raw=$out/raw.tsv
printf 'rep\tfile\ttool\tframes\tcpu_s\twall_s\tmaxrss_kb\n' >"$raw"

measure() { # rep size tool frames command...  (sh has no locals: m_*)
    m_r=$1 m_s=$2 m_t=$3 m_n=$4; shift 4
    m_line=$("$runcpu" "$@" 2>>"$log") || die "$m_t failed on $m_s (see $log)"
    echo "$m_line" | awk -F '\t' -v r="$m_r" -v f="$m_s" -v t="$m_t" -v n="$m_n" \
        -v OFS='\t' '{ print r, f, t, n, $2 + $3, $4, $5 }' >>"$raw"
}

load0=$(cut -d ' ' -f 1-3 /proc/loadavg 2>/dev/null || echo '?')
echo "bench: $reps runs of each measurement" >&2
for size in 1280x720 1920x1080; do # warm the page cache, count the frames
    f=$out/$source-$size-${seconds}s.mp4
    n=$("$cli" hash -q --no-progress -f vpdq --seconds-per-hash 0 "$f" | wc -l)
    echo "$n" >"$f.frames"
    n1=$("$cli" hash -q --no-progress -f vpdq "$f" | wc -l)
    echo "$n1" >"$f.frames1"
    ffmpeg -nostdin -v error -i "$f" -f null - >>"$log" 2>&1
done
r=1
while [ "$r" -le "$reps" ]; do
    for size in 1280x720 1920x1080; do
        f=$out/$source-$size-${seconds}s.mp4
        n=$(cat "$f.frames")
        n1=$(cat "$f.frames1")
        measure "$r" "$size" ffmpeg "$n" ffmpeg -nostdin -v error -i "$f" -f null -
        measure "$r" "$size" phmatch-r0 "$n" \
            "$cli" hash -q --no-progress -f vpdq --seconds-per-hash 0 "$f"
        measure "$r" "$size" phmatch-r0-j1 "$n" \
            "$cli" hash -j 1 -q --no-progress -f vpdq --seconds-per-hash 0 "$f"
        measure "$r" "$size" phmatch-r1 "$n1" \
            "$cli" hash -q --no-progress -f vpdq "$f"
    done
    r=$((r + 1))
done
load1=$(cut -d ' ' -f 1-3 /proc/loadavg 2>/dev/null || echo '?')

# Medians per (file, tool).
summary=$out/summary.tsv
awk -F '\t' -v OFS='\t' '
    NR == 1 { next }
    { k = $2 SUBSEP $3; n[k]++; cpu[k, n[k]] = $5; wall[k, n[k]] = $6;
      frames[k] = $4; if (!(k in seen)) { seen[k] = 1; order[++no] = k } }
    function median(a, k, m,   i, j, t, v) {
        for (i = 1; i <= m; i++) v[i] = a[k, i]
        for (i = 2; i <= m; i++) for (j = i; j > 1 && v[j - 1] > v[j]; j--) {
            t = v[j]; v[j] = v[j - 1]; v[j - 1] = t }
        return m % 2 ? v[(m + 1) / 2] : (v[m / 2] + v[m / 2 + 1]) / 2
    }
    END {
        print "file", "tool", "frames", "wall_s", "cpu_s"
        for (i = 1; i <= no; i++) {
            k = order[i]; split(k, p, SUBSEP)
            print p[1], p[2], frames[k], median(wall, k, n[k]), median(cpu, k, n[k])
        }
    }' "$raw" >"$summary"

echo
echo "Video hashing, $source, 30 fps, ${seconds} s, H.264 (medians of $reps runs)"
echo "load average before: $load0, after: $load1; $(nproc) cores"
echo
awk -F '\t' '
    NR == 1 { next }
    { w[$1, $2] = $4; c[$1, $2] = $5; n[$1, $2] = $3; files[$1] = 1 }
    END {
        printf "%-10s %-14s %7s %8s %8s %10s %9s %9s\n", "file", "tool",
            "frames", "wall_s", "cpu_s", "frames/s", "wall/ff", "cpu/ff"
        split("1280x720 1920x1080", order, " ")
        for (o = 1; o <= 2; o++) {
            f = order[o]
            if (!(f in files)) continue
            split("ffmpeg phmatch-r0 phmatch-r0-j1 phmatch-r1", tools, " ")
            for (t = 1; t <= 4; t++) {
                k = f SUBSEP tools[t]
                if (!(k in w)) continue
                printf "%-10s %-14s %7d %8.3f %8.3f %10.1f %9.2f %9.2f\n", f,
                    tools[t], n[k], w[k], c[k], (w[k] > 0 ? n[k] / w[k] : 0),
                    (w[k] / w[f, "ffmpeg"]), (c[k] / c[f, "ffmpeg"])
            }
        }
        print ""
        print "frames: frames hashed (ffmpeg: decoded). wall/ff, cpu/ff: over the"
        print "ffmpeg decode-only floor. Target (issue 5): phmatch-r0 wall/ff <= 1.3."
    }' "$summary"
echo
echo "raw runs: $raw; medians: $summary"

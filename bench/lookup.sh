#!/bin/sh
# bench/lookup.sh BUILD_DIR - `phmatch lookup` speed, issue 17's measure
# (not a test): one thread, an index of N clustered hashes (families of
# 1..20 near-duplicates, entries with a source, a 12-character id and a
# category: bench/search_bench.c gen + import spec), 20,000 queries (even
# lines an entry with 5..30 bits flipped, odd lines a random hash), JSON
# Lines out to /dev/null:
#
#     phmatch lookup -j 1 --format jsonl --index IDX QUERIES >/dev/null
#
# BENCH_LOOKUP_REPS runs (default 5) for each N (BENCH_LOOKUP_N, default
# "1000000 10000000"), timed by bench/runcpu (wall and CPU seconds of the
# whole process: start, open, read, search, output). Prints the median
# queries/s by the wall clock and per CPU second (user + sys; on a shared
# machine the wall clock also counts the time others hold the cores: the
# CPU figure is what one free core would give), and the peak RSS.
# BENCH_LOOKUP_OTHER=PATH also times another phmatch binary (say, one built
# before a change), its runs interleaved with BUILD_DIR's, and checks that
# both write the same bytes. With BENCH_LOOKUP_OTHER_OWN=1 that binary
# searches an index of its own, made by its own `index import` from this
# one's `index export` (the same entries), so that a build of an older
# index format can be compared: issue 17's "no loss at 10 M" against the
# last build of the format-4 layout the issue measured (798ea6a; its
# import takes ~2 minutes at 10 M). BENCH_LOOKUP_QUERIES (default 20000).
# Data under BENCH_LOOKUP_DIR (default BUILD_DIR/bench/lookup; ~310 MB per
# million hashes with the format-4 layout), removed afterwards unless
# BENCH_LOOKUP_KEEP=1; an existing data set of the same N is reused with
# BENCH_LOOKUP_REUSE=1.
set -eu
cd "$(dirname "$0")/.."

die() { echo "bench/lookup: $*" >&2; exit 1; }
build=${1:-build}
[ -f "$build/libphmatch.a" ] && [ -x "$build/phmatch" ] ||
    die "no '$build/libphmatch.a' or '$build/phmatch': run 'make BUILD=$build all' first"
sizes=${BENCH_LOOKUP_N:-"1000000 10000000"}
reps=${BENCH_LOOKUP_REPS:-5}
nq=${BENCH_LOOKUP_QUERIES:-20000}
other=${BENCH_LOOKUP_OTHER:-}
case $reps in '' | *[!0-9]* | 0) die "BENCH_LOOKUP_REPS must be a number >= 1" ;; esac
case $nq in '' | *[!0-9]* | 0) die "BENCH_LOOKUP_QUERIES must be a number >= 1" ;; esac
[ -z "$other" ] || [ -x "$other" ] || die "BENCH_LOOKUP_OTHER '$other' is not executable"

out=$build/bench/lookup
data=${BENCH_LOOKUP_DIR:-$out}
mkdir -p "$out" "$data"
log=$out/run.log
: >"$log"
pkgs=$(sed -n 's/^PKGS[[:space:]]*:=[[:space:]]*//p' Makefile)
# shellcheck disable=SC2046,SC2086
${CC:-cc} -std=c11 -D_DEFAULT_SOURCE -D_FILE_OFFSET_BITS=64 -O2 -g -fopenmp \
    -Iinclude -o "$out/search_bench" bench/search_bench.c "$build/libphmatch.a" \
    $(pkg-config --libs $pkgs) -lm >>"$log" 2>&1 &&
    ${CC:-cc} -std=c11 -D_DEFAULT_SOURCE -O2 -o "$out/runcpu" bench/runcpu.c >>"$log" 2>&1 ||
    { cat "$log" >&2; die "cannot build search_bench or runcpu"; }

# lookup B [RUNNER] BIN - the one-thread lookup of $dir's queries by BIN,
# binary number B (1: this build's, on idx.phmi; 2: the other, on
# $other_idx).
lookup() {
    _idx=$dir/idx.phmi
    [ "$1" = 1 ] || _idx=$other_idx
    shift
    "$@" lookup -j 1 --format jsonl --index "$_idx" "$dir/queries.txt"
}

runs=$out/runs.tsv
printf 'n\tbinary\trep\twall_s\tcpu_s\tmaxrss_kb\n' >"$runs"
echo "bench/lookup: $(nproc) cores, load $(cut -d ' ' -f 1-3 /proc/loadavg); sizes: $sizes; $reps runs each" >&2
for n in $sizes; do
    dir=$data/lookup-$n
    if [ "${BENCH_LOOKUP_REUSE:-0}" != 1 ] || [ ! -s "$dir/idx.phmi" ] || [ ! -s "$dir/queries.txt" ]; then
        need=$((n / 1000000 * 350 + 100))
        free_mb=$(df -Pm "$data" | awk 'NR == 2 { print $4 }')
        [ "$free_mb" -gt "$need" ] ||
            die "$n hashes need ~$need MB in $data, $free_mb MB free (BENCH_LOOKUP_DIR)"
        rm -rf "$dir"
        mkdir -p "$dir"
        echo "bench/lookup: $n: generating and importing" >&2
        "$out/search_bench" gen "$dir" "$n" clustered 1 2>>"$log" &&
            "$out/search_bench" import "$dir" spec >>"$log" 2>&1 &&
            "$out/search_bench" lookup-queries "$dir" "$nq" "$dir/queries.txt" 2>>"$log" ||
            die "cannot make the data set of $n (see $log)"
        rm -f "$dir/db.bin"
    fi
    bins=$build/phmatch
    [ -z "$other" ] || bins="$bins $other"
    other_idx=$dir/idx.phmi
    if [ -n "$other" ] && [ "${BENCH_LOOKUP_OTHER_OWN:-0}" = 1 ]; then
        other_idx=$dir/other.phmi
        if [ "${BENCH_LOOKUP_REUSE:-0}" != 1 ] || [ ! -s "$other_idx" ]; then
            echo "bench/lookup: $n: $other imports the same entries into its own index" >&2
            rm -f "$other_idx" "$other_idx-lock"
            "$other" index create "$other_idx" 2>>"$log" &&
                "$build/phmatch" index export --format jsonl "$dir/idx.phmi" 2>>"$log" |
                "$other" index import "$other_idx" - >>"$log" 2>&1 ||
                die "'$other' cannot import the entries of $dir/idx.phmi (see $log)"
        fi
    fi
    b=0
    rm -f "$dir"/out-*.jsonl
    for bin in $bins; do # the same output, and the page cache warm
        b=$((b + 1)) # numbered: both binaries may be build/phmatch of two trees
        lookup "$b" "$bin" >"$dir/out-$b.jsonl" 2>>"$log" || die "'$bin lookup' failed (see $log)"
    done
    if [ -n "$other" ]; then
        cmp -s "$dir/out-1.jsonl" "$dir/out-2.jsonl" ||
            die "$build/phmatch and $other write different output ($dir/out-1.jsonl, $dir/out-2.jsonl)"
    fi
    r=1
    while [ "$r" -le "$reps" ]; do
        b=0
        for bin in $bins; do
            b=$((b + 1))
            line=$(lookup "$b" "$out/runcpu" "$bin" 2>>"$log") || die "'$bin lookup' failed (see $log)"
            printf '%s\t%s\t%s\t%s\n' "$n" "$bin" "$r" \
                "$(printf '%s\n' "$line" | awk -F '\t' '{ print $4 "\t" $2 + $3 "\t" $5 }')" >>"$runs"
        done
        r=$((r + 1))
    done
    [ "${BENCH_LOOKUP_KEEP:-0}" = 1 ] || rm -rf "$dir"
done

echo
echo "== phmatch lookup, 1 thread, $nq queries, jsonl ($(date -u '+%Y-%m-%d %H:%M UTC'), load $(cut -d ' ' -f 1-3 /proc/loadavg))"
printf '%-10s %-34s %12s %14s %10s   %s\n' hashes binary "q/s (wall)" "q/CPU second" "RSS MB" "runs, wall s"
awk -F '\t' -v nq="$nq" '
    function median(a, k,   i, j, t) {
        for (i = 0; i < k; i++) for (j = i + 1; j < k; j++)
            if (a[j] < a[i]) { t = a[i]; a[i] = a[j]; a[j] = t }
        return k % 2 ? a[int(k / 2)] : (a[k / 2 - 1] + a[k / 2]) / 2
    }
    NR == 1 { next }
    { key = $1 SUBSEP $2
      if (!(key in cnt)) order[no++] = key
      k = cnt[key]++; wall[key, k] = $4; cpu[key, k] = $5
      if ($6 > rss[key]) rss[key] = $6; list[key] = list[key] " " $4 }
    END {
      for (o = 0; o < no; o++) {
        key = order[o]; split(key, p, SUBSEP)
        for (i = 0; i < cnt[key]; i++) { w[i] = wall[key, i]; c[i] = cpu[key, i] }
        printf "%-10s %-34s %12.0f %14.0f %10.0f  %s\n", p[1], p[2], nq / median(w, cnt[key]),
            nq / median(c, cnt[key]), rss[key] / 1024, list[key]
      }
    }' "$runs"
echo
echo "Target (issue 17): >= 50,000 q/s at 1 M on one thread, no loss at 10 M (>= 27,000)."
echo "Median of $reps runs; raw runs: $runs"

#!/bin/sh
# bench/search.sh BUILD_DIR - the search benchmark of issue 3 (not a test).
#
# For each size N (default 1 M and 10 M) and each kind of data (uniform
# random hashes; clustered families of 1..20 near-duplicates), in one run:
#   - bench/search_bench.c makes N hashes and 1,000 queries (500 entries with
#     5..30 bits flipped, 500 unrelated), imports the hashes into a fresh
#     index (the import rate), then opens it read-only (open + first query)
#     and measures queries/s on 1 and 2 threads for exact radius-31 search
#     (all 1,000 queries) and exact 1-NN (BENCH_SEARCH_SLOW queries, half
#     near, half far: a far query's nearest neighbour is ~90 bits away, so
#     every exact engine scans);
#   - bench/search_faiss.py does the same with FAISS from Debian's
#     python3-faiss: IndexBinaryFlat (radius and 1-NN, BENCH_SEARCH_SLOW
#     queries: a scan does ~10 q/s at 10 M) and IndexBinaryMultiHash with
#     8 substrings of 32 bits and nflip 3, exact for radius 31 (all 1,000;
#     on the uniform data sets only, unless BENCH_SEARCH_MULTIHASH=all: its
#     build takes ~4 minutes and 7.5 GB at 10 M), and checks that FAISS returns exactly phmatch's result sets (radius:
#     the same entries; 1-NN: the same distance).
# Prints a table per data set: q/s, phmatch/FAISS ratios, build rate, open
# time, peak RSS, agreement. Raw rows: BUILD_DIR/bench/search/results.tsv.
#
# Environment: BENCH_SEARCH_N (sizes, default "1000000 10000000"; add
# 100000000 if memory allows: ~3.2 GB of hashes, ~31 GB of index file),
# BENCH_SEARCH_KINDS (default "uniform clustered"), BENCH_SEARCH_SLOW
# (default 100), BENCH_SEARCH_KEEP=1 keeps the data sets (several GB),
# BENCH_SEARCH_FAISS=0 measures phmatch only.
# phmatch's query figures are the second of two passes over the queries in
# one process (the steady state; radius: the 1,000 queries 20 times,
# BENCH_SEARCH_ROUNDS); the first pass, which also faults the freshly
# written index's pages in, is shown as "first pass". "per CPU second"
# divides by the CPU time of all threads: on a shared machine it shows
# whether threads contend (it drops) or just lack a free core (it holds).
# Needs /usr/bin/python3 with python3-faiss (apt-get install python3-faiss);
# without it only phmatch is measured.
set -eu
cd "$(dirname "$0")/.."

die() { echo "bench/search: $*" >&2; exit 1; }
build=${1:-build}
case $build in *[[:space:]]*) die "the build directory's path must not contain spaces" ;; esac
[ -f "$build/libphmatch.a" ] || die "no '$build/libphmatch.a': run 'make BUILD=$build lib' first"
sizes=${BENCH_SEARCH_N:-"1000000 10000000"}
kinds=${BENCH_SEARCH_KINDS:-"uniform clustered"}
slow=${BENCH_SEARCH_SLOW:-100}
case $slow in '' | *[!0-9]* | 0 | 1) die "BENCH_SEARCH_SLOW must be a number >= 2" ;; esac

out=$build/bench/search
mkdir -p "$out"
log=$out/run.log
: >"$log"
CC=${CC:-cc}
pkgs=$(sed -n 's/^PKGS[[:space:]]*:=[[:space:]]*//p' Makefile)
# shellcheck disable=SC2046,SC2086
$CC -std=c11 -D_DEFAULT_SOURCE -D_FILE_OFFSET_BITS=64 -O2 -g -fopenmp -Wall \
    -Wextra -Wshadow -Wconversion -Iinclude -o "$out/search_bench" \
    bench/search_bench.c "$build/libphmatch.a" $(pkg-config --libs $pkgs) -lm \
    >>"$log" 2>&1 || { cat "$log" >&2; die "cannot build search_bench"; }

faiss=1
if ! /usr/bin/python3 -c 'import faiss, numpy' >>"$log" 2>&1 &&
    [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "bench/search: installing python3-faiss (Debian's FAISS) with apt-get" >&2
    apt-get install -y python3-faiss >>"$log" 2>&1 || true
fi
if ! /usr/bin/python3 -c 'import faiss, numpy' >>"$log" 2>&1; then
    faiss=0
    echo "bench/search: FAISS columns skipped: /usr/bin/python3 cannot import faiss (apt-get install python3-faiss)" >&2
fi

results=$out/results.tsv
printf 'label\tengine\top\tthreads\tqueries\tqps\tseconds\trss_mb\tagree\n' >"$results"
# kv KEY LINE - the value of KEY=value in LINE.
kv() { printf '%s\n' "$2" | tr ' ' '\n' | sed -n "s/^$1=//p"; }

echo "bench/search: $(nproc) cores, $(awk '/MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo), load $(cut -d ' ' -f 1-3 /proc/loadavg); sizes: $sizes" >&2
t_start=$(date +%s)
for n in $sizes; do
    for kind in $kinds; do
        label="$kind-$n"
        dir=$out/$label
        rm -rf "$dir"
        mkdir -p "$dir"
        echo "bench/search: $label: generating and importing" >&2
        line=$("$out/search_bench" build "$dir" "$n" "$kind" 1 2>>"$log") ||
            die "search_bench build failed for $label (see $log)"
        printf '%s\tphmatch\timport\t1\t%s\t%s\t%s\t%s\t%s MB file\n' "$label" "$n" \
            "$(kv rate "$line")" "$(kv import_s "$line")" "$(kv maxrss_mb "$line")" \
            "$(kv file_mb "$line")" >>"$results"
        for op in radius knn; do
            nq=1000
            [ "$op" = knn ] && nq=$slow
            for th in 1 2; do
                line=$("$out/search_bench" query "$dir" "$th" "$op" "$nq" 2>>"$log") ||
                    die "search_bench query failed for $label (see $log)"
                [ "$op" = radius ] && name=radius31 || name=knn1
                printf '%s\tphmatch\t%s\t%s\t%s\t%s\t%s\t%s\t%s ms open+first query\n' \
                    "$label" "$name" "$th" "$nq" "$(kv qps "$line")" "-" \
                    "$(kv maxrss_mb "$line")" "$(kv open_ms "$line")" >>"$results"
                printf '%s\tphmatch-first-pass\t%s\t%s\t%s\t%s\t-\t%s\t-\n' \
                    "$label" "$name" "$th" "$nq" "$(kv cold_qps "$line")" \
                    "$(kv maxrss_mb "$line")" >>"$results"
                printf '%s\tphmatch-per-cpu-s\t%s\t%s\t%s\t%s\t-\t%s\t-\n' \
                    "$label" "$name" "$th" "$nq" "$(kv cpu_qps "$line")" \
                    "$(kv maxrss_mb "$line")" >>"$results"
            done
        done
        if [ "$faiss" = 1 ] && [ "${BENCH_SEARCH_FAISS:-1}" != 0 ]; then
            echo "bench/search: $label: FAISS" >&2
            mh=no
            if [ "$kind" = uniform ] || [ "${BENCH_SEARCH_MULTIHASH:-uniform}" = all ]; then
                mh=yes
            fi
            /usr/bin/python3 bench/search_faiss.py "$dir" "$label" "$slow" "$results" "$mh" \
                2>>"$log" || die "search_faiss.py failed for $label (see $log)"
        fi
        [ "${BENCH_SEARCH_KEEP:-0}" = 1 ] || rm -rf "$dir"
    done
done

echo
echo "== Search benchmark ($(date -u '+%Y-%m-%d %H:%M UTC'), $(($(date +%s) - t_start)) s)"
awk -F '\t' '
    NR == 1 { next }
    { key = $1 SUBSEP $2 SUBSEP $3 SUBSEP $4
      qps[key] = $6; agree[key] = $9; rss[key] = $8; secs[key] = $7; nq[key] = $5
      if (!($1 in seen)) { seen[$1] = 1; order[n++] = $1 } }
    function q(l, e, o, t,   k) { k = l SUBSEP e SUBSEP o SUBSEP t; return (k in qps) ? qps[k] : "-" }
    function ratio(a, b) { return (a == "-" || b == "-" || b == 0) ? "-" : sprintf("%.0fx", a / b) }
    END {
      for (i = 0; i < n; i++) {
        l = order[i]
        imp = l SUBSEP "phmatch" SUBSEP "import" SUBSEP 1
        printf "\n%s: import %s hashes/s (%s s, peak RSS %s MB, %s)\n", l, qps[imp], secs[imp], rss[imp], agree[imp]
        r1 = l SUBSEP "phmatch" SUBSEP "radius31" SUBSEP 1
        printf "  phmatch open + first query: %s; query RSS %s MB\n", agree[r1], rss[r1]
        printf "  %-26s %12s %12s %s\n", "queries/s", "1 thread", "2 threads", "agrees with phmatch"
        printf "  %-26s %12s %12s\n", "phmatch radius 31", q(l, "phmatch", "radius31", 1), q(l, "phmatch", "radius31", 2)
        printf "  %-26s %12s %12s\n", "  (first pass, cold)", q(l, "phmatch-first-pass", "radius31", 1), q(l, "phmatch-first-pass", "radius31", 2)
        printf "  %-26s %12s %12s\n", "  (per CPU second)", q(l, "phmatch-per-cpu-s", "radius31", 1), q(l, "phmatch-per-cpu-s", "radius31", 2)
        printf "  %-26s %12s %12s %s\n", "faiss flat radius 31", q(l, "faiss-flat", "radius31", 1), q(l, "faiss-flat", "radius31", 2), agree[l SUBSEP "faiss-flat" SUBSEP "radius31" SUBSEP 1]
        printf "  %-26s %12s %12s %s\n", "faiss multihash radius 31", q(l, "faiss-multihash", "radius31", 1), q(l, "faiss-multihash", "radius31", 2), agree[l SUBSEP "faiss-multihash" SUBSEP "radius31" SUBSEP 1]
        printf "  %-26s %12s %12s\n", "phmatch 1-NN", q(l, "phmatch", "knn1", 1), q(l, "phmatch", "knn1", 2)
        printf "  %-26s %12s %12s\n", "  (first pass, cold)", q(l, "phmatch-first-pass", "knn1", 1), q(l, "phmatch-first-pass", "knn1", 2)
        printf "  %-26s %12s %12s %s\n", "faiss flat 1-NN", q(l, "faiss-flat", "knn1", 1), q(l, "faiss-flat", "knn1", 2), agree[l SUBSEP "faiss-flat" SUBSEP "knn1" SUBSEP 1]
        printf "  ratios, 1 thread: radius phmatch/flat %s, phmatch/multihash %s; 1-NN phmatch/flat %s\n",
            ratio(q(l, "phmatch", "radius31", 1), q(l, "faiss-flat", "radius31", 1)),
            ratio(q(l, "phmatch", "radius31", 1), q(l, "faiss-multihash", "radius31", 1)),
            ratio(q(l, "phmatch", "knn1", 1), q(l, "faiss-flat", "knn1", 1))
        fb = l SUBSEP "faiss-flat" SUBSEP "build" SUBSEP 1
        mb = l SUBSEP "faiss-multihash" SUBSEP "build" SUBSEP 1
        if (fb in secs) {
          if (mb in secs)
            printf "  faiss build: flat %s s, multihash %s s; faiss peak RSS %s MB\n", secs[fb], secs[mb], rss[l SUBSEP "faiss-multihash" SUBSEP "radius31" SUBSEP 2]
          else
            printf "  faiss build: flat %s s (multihash not run); faiss peak RSS %s MB\n", secs[fb], rss[l SUBSEP "faiss-flat" SUBSEP "knn1" SUBSEP 2]
        }
      }
    }' "$results"
echo
echo "Targets (issue 3, 1 thread, radius 31, recall 1.000): >= 50,000 q/s at 1 M, >= 10,000 q/s at 10 M."
echo "Raw rows: $results"

#!/bin/sh
# bench/scale.sh BUILD_DIR - issue 17's targets at scale (not a test).
#
# For each N of BENCH_SCALE_N (default "1000000 10000000"; "100000000" for
# the 100 M run), on clustered synthetic hashes (bench/search_bench.c gen:
# families of 1..20 near-duplicates, written to a binary file as they are
# made; entries with source "bench", an id of 12 characters and a category,
# issue 17's entries):
#   - bulk import, BENCH_SCALE_REPS runs (default 3), interleaved: the
#     library (search_bench import spec: phm_index_add of every row in one
#     transaction, commit), the floor (bench/index_bench.c floor BYTES with
#     BYTES the file the library just wrote: fill that much fresh memory,
#     write it to a new file, sync: the least an LMDB commit of it costs, as
#     bench/import.sh measures; also both CPU times, user + sys, which a
#     loaded machine distorts less), and the CLI (`phmatch index import --source
#     bench` of a csv list hash,id,category of the same entries; only while
#     N <= BENCH_SCALE_CLI_MAX, default 10000000: the list takes ~90 bytes
#     a hash). Median rates and each path's time over the floor's;
#   - the index file: bytes per hash (file size / N) and per table (mdb_stat
#     -a: pages x page size of each named table, free pages apart);
#   - open + first query (ms) and exact radius-31 queries/s on one thread
#     (search_bench query: 1,000 queries, 500 an entry with 5..30 bits
#     flipped, 500 random; the steady state: the 1,000 queries 20 times
#     after a first pass; also per CPU second of the process, the figure
#     a loaded machine does not distort), BENCH_SCALE_REPS fresh
#     processes, median; peak RSS after open + first query and after the
#     queries; then (BENCH_SCALE_BATCH, default 250; 0 skips) the same
#     queries through phm_search_batch, that many at a time (search_bench's
#     BENCH_SEARCH_BATCH: `phmatch lookup`'s and phmatchd's path), whose
#     result sets must equal the one-by-one searches'; then
#     (BENCH_SCALE_HOT, default 1) the same with
#     PHM_INDEX_HOT_COPY (the open's time includes making the copy), whose
#     result sets must equal the map's;
#   - cold open + first query (ms): BENCH_SCALE_COLD runs (default 5) of
#     search_bench cold: the index file evicted from the page cache
#     (posix_fadvise DONTNEED), then open + one radius-31 query; median,
#     and the major page faults they took;
#   - recall: a brute-force scan of the hashes for the first
#     BENCH_SCALE_RECALL/2 near and far queries (default 100 in all),
#     whose result sets must equal phmatch's (prints 1.000 or the
#     mismatches);
#   - FAISS (Debian's python3-faiss, bench/search_faiss.py, as
#     bench/search.sh): IndexBinaryFlat range search on a sample of
#     BENCH_SCALE_FLAT queries (default 100; 20 at 100 M or more, ~3 s a
#     thread there), and IndexBinaryMultiHash (exact for radius 31) while
#     N <= BENCH_SCALE_MULTIHASH_MAX (default 1000000: its build takes
#     ~4 minutes and 7.5 GB at 10 M), both checked against phmatch's
#     result sets. BENCH_SCALE_FAISS=0 skips FAISS.
# Before each N the free disk under BENCH_SCALE_DIR (default
# BUILD_DIR/bench/scale) and the available memory are checked against
# estimates (~430 bytes a hash of disk with the format-5 layout, less with
# a smaller file; memory 32 bytes a hash x 3 for FAISS; before each floor
# run, the index file's size) and the size is refused when they do not
# fit (BENCH_SCALE_FORCE=1 runs anyway). Prints a table with issue 17's
# targets beside the figures; raw rows in BUILD_DIR/bench/scale/results.tsv.
# The data set of each N is removed afterwards (BENCH_SCALE_KEEP=1 keeps
# it). Every import run starts after BENCH_SCALE_PAUSE seconds (default 5).
set -eu
cd "$(dirname "$0")/.."

die() { echo "bench/scale: $*" >&2; exit 1; }
build=${1:-build}
case $build in *[[:space:]]*) die "the build directory's path must not contain spaces" ;; esac
[ -f "$build/libphmatch.a" ] && [ -x "$build/phmatch" ] ||
    die "no '$build/libphmatch.a' or '$build/phmatch': run 'make BUILD=$build all' first"
sizes=${BENCH_SCALE_N:-"1000000 10000000"}
reps=${BENCH_SCALE_REPS:-3}
pause=${BENCH_SCALE_PAUSE:-5}
cli_max=${BENCH_SCALE_CLI_MAX:-10000000}
mh_max=${BENCH_SCALE_MULTIHASH_MAX:-1000000}
nrecall=${BENCH_SCALE_RECALL:-100}
case $reps in '' | *[!0-9]* | 0) die "BENCH_SCALE_REPS must be a number >= 1" ;; esac
case $nrecall in '' | *[!0-9]* | 0 | 1) die "BENCH_SCALE_RECALL must be a number >= 2" ;; esac
command -v mdb_stat >/dev/null 2>&1 || die "mdb_stat not found (apt-get install lmdb-utils)"

out=$build/bench/scale
data=${BENCH_SCALE_DIR:-$out}
mkdir -p "$out" "$data"
log=$out/run.log
: >"$log"
CC=${CC:-cc}
pkgs=$(sed -n 's/^PKGS[[:space:]]*:=[[:space:]]*//p' Makefile)
for prog in search_bench index_bench; do
    # shellcheck disable=SC2046,SC2086
    $CC -std=c11 -D_DEFAULT_SOURCE -D_FILE_OFFSET_BITS=64 -O2 -g -fopenmp \
        -Iinclude -o "$out/$prog" "bench/$prog.c" "$build/libphmatch.a" \
        $(pkg-config --libs $pkgs) -lm >>"$log" 2>&1 ||
        { cat "$log" >&2; die "cannot build $prog"; }
done

faiss=${BENCH_SCALE_FAISS:-1}
if [ "$faiss" != 0 ] && ! /usr/bin/python3 -c 'import faiss, numpy' >>"$log" 2>&1; then
    faiss=0
    echo "bench/scale: FAISS columns skipped: /usr/bin/python3 cannot import faiss (apt-get install python3-faiss)" >&2
fi

results=$out/results.tsv
printf 'n\twhat\trep\tvalue\n' >"$results"
# row N WHAT REP VALUE
row() { printf '%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$4" >>"$results"; }
# same_sets NAME FILE - a row NAME saying whether the last queries' result
# sets ($dir/phm-radius.txt) equal FILE's.
same_sets() {
    if cmp -s "$dir/phm-radius.txt" "$2"; then
        row "$n" "$1" 1 yes
    else
        row "$n" "$1" 1 "NO: the result sets differ"
    fi
}
# kv KEY LINE - the value of KEY=value in LINE.
kv() { printf '%s\n' "$2" | tr ' ' '\n' | sed -n "s/^$1=//p"; }
now() { date +%s.%N; }

echo "bench/scale: $(nproc) cores, $(awk '/MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo), load $(cut -d ' ' -f 1-3 /proc/loadavg); sizes: $sizes; $reps runs each" >&2
t_start=$(date +%s)
for n in $sizes; do
    case $n in '' | *[!0-9]* | 0) die "BENCH_SCALE_N: '$n' is not a size" ;; esac
    dir=$data/scale-$n
    rm -rf "$dir"
    # Estimates: hashes 32 B, index (format 5: 175 B measured at 100 M)
    # and the floor's file of its size ~200 B each, csv list ~90 B a hash.
    disk_need=$((n / 1000000 * (32 + 200 + 200) + 200))
    [ "$n" -le "$cli_max" ] && disk_need=$((disk_need + n / 1000000 * 90))
    mem_need=$((n / 1000000 * 96 + 500)) # FAISS: the hashes twice, and a copy
    disk_free=$(df -Pm "$data" | awk 'NR == 2 { print $4 }')
    mem_free=$(awk '/MemAvailable/ { printf "%d", $2 / 1024 }' /proc/meminfo)
    if [ "${BENCH_SCALE_FORCE:-0}" != 1 ]; then
        [ "$disk_free" -ge "$disk_need" ] ||
            die "$n hashes need ~$disk_need MB of disk in $data, $disk_free MB free (BENCH_SCALE_DIR; BENCH_SCALE_FORCE=1 to try anyway)"
        [ "$mem_free" -ge "$mem_need" ] ||
            die "$n hashes need ~$mem_need MB of memory, $mem_free MB available (BENCH_SCALE_FORCE=1 to try anyway)"
    fi
    mkdir -p "$dir"
    echo "bench/scale: $n: generating ($disk_need MB of disk, $mem_need MB of memory estimated; $disk_free and $mem_free free)" >&2
    "$out/search_bench" gen "$dir" "$n" clustered 1 2>>"$log" || die "search_bench gen failed (see $log)"
    cli=0
    if [ "$n" -le "$cli_max" ]; then
        cli=1
        "$out/search_bench" list "$dir" "$dir/list.csv" 2>>"$log" || die "search_bench list failed (see $log)"
    fi

    r=1
    while [ "$r" -le "$reps" ]; do
        echo "bench/scale: $n: import run $r of $reps" >&2
        sleep "$pause"
        line=$("$out/search_bench" import "$dir" spec 2>>"$log") ||
            die "search_bench import failed (see $log)"
        row "$n" import-library "$r" "$(kv rate "$line")"
        row "$n" import-library-s "$r" "$(kv import_s "$line")"
        row "$n" import-rss-mb "$r" "$(kv maxrss_mb "$line")"
        row "$n" import-library-cpu-s "$r" "$(kv cpu_s "$line")"
        bytes=$(kv file_bytes "$line")
        row "$n" file-bytes "$r" "$bytes"

        # The floor fills memory as large as the file.
        mem_free=$(awk '/MemAvailable/ { printf "%d", $2 / 1024 }' /proc/meminfo)
        [ "${BENCH_SCALE_FORCE:-0}" = 1 ] || [ "$mem_free" -ge $((bytes / 1000000 + 500)) ] ||
            die "the floor of $bytes bytes needs as much memory, $mem_free MB available (BENCH_SCALE_FORCE=1 to try anyway)"
        sleep "$pause"
        line=$("$out/index_bench" floor "$bytes" "$dir" 2>>"$log" | grep '^floor:') ||
            die "index_bench floor failed (see $log)"
        row "$n" floor-s "$r" "$(printf '%s\n' "$line" | sed 's/^floor: \([0-9.]*\) s.*/\1/')"
        row "$n" floor-cpu-s "$r" "$(printf '%s\n' "$line" | sed -n 's/.*; cpu \([0-9.]*\) s$/\1/p')"

        if [ "$cli" = 1 ]; then
            sleep "$pause"
            db=$dir/cli.phmi
            rm -f "$db" "$db-lock"
            "$build/phmatch" index create "$db" >>"$log" 2>&1 || die "index create failed (see $log)"
            t0=$(now)
            "$build/phmatch" index import --source bench "$db" "$dir/list.csv" >>"$log" 2>&1 ||
                die "index import failed (see $log)"
            t1=$(now)
            row "$n" import-cli-s "$r" "$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }')"
            row "$n" cli-file-bytes "$r" "$(stat -c %s "$db")"
            rm -f "$db" "$db-lock"
        fi
        r=$((r + 1))
    done
    rm -f "$dir/list.csv"

    # The tables: pages x page size of each named database.
    psize=$(mdb_stat -n -e "$dir/idx.phmi" | awk '/Page size:/ { print $3 }')
    mdb_stat -n -a "$dir/idx.phmi" >"$dir/mdb_stat.txt" 2>>"$log" || die "mdb_stat failed (see $log)"
    awk -v n="$n" -v ps="$psize" '
        /^Status of / { name = $3; if (name == "Main") name = "(main)" }
        /Branch pages:|Leaf pages:|Overflow pages:/ { pages[name] += $3 }
        END { for (t in pages) if (pages[t]) printf "%s\ttable:%s\t1\t%.0f\n", n, t, pages[t] * ps }' \
        "$dir/mdb_stat.txt" >>"$results"
    mdb_stat -n -f "$dir/idx.phmi" 2>>"$log" | awk -v n="$n" -v ps="$psize" \
        '/Free pages:/ { printf "%s\ttable:(free pages)\t1\t%.0f\n", n, $3 * ps }' >>"$results"

    echo "bench/scale: $n: queries" >&2
    r=1
    while [ "$r" -le "$reps" ]; do
        line=$("$out/search_bench" query "$dir" 1 radius 1000 2>>"$log") ||
            die "search_bench query failed (see $log)"
        row "$n" qps "$r" "$(kv qps "$line")"
        row "$n" cold-qps "$r" "$(kv cold_qps "$line")"
        row "$n" cpu-qps "$r" "$(kv cpu_qps "$line")"
        row "$n" open-ms "$r" "$(kv open_ms "$line")"
        row "$n" open-rss-mb "$r" "$(kv open_rss_mb "$line")"
        row "$n" search-rss-mb "$r" "$(kv maxrss_mb "$line")"
        r=$((r + 1))
    done
    batch=${BENCH_SCALE_BATCH:-250}
    if [ "$batch" != 0 ]; then
        # The same queries through phm_search_batch, $batch at a time (what
        # `phmatch lookup` and phmatchd do): their result sets must equal
        # the one-by-one searches'.
        echo "bench/scale: $n: queries, batches of $batch" >&2
        cp "$dir/phm-radius.txt" "$dir/phm-radius-one.txt"
        r=1
        while [ "$r" -le "$reps" ]; do
            line=$(BENCH_SEARCH_BATCH=$batch "$out/search_bench" query "$dir" 1 radius 1000 2>>"$log") ||
                die "search_bench query (batches) failed (see $log)"
            row "$n" qps-batch "$r" "$(kv qps "$line")"
            row "$n" cpu-qps-batch "$r" "$(kv cpu_qps "$line")"
            r=$((r + 1))
        done
        same_sets batch-same "$dir/phm-radius-one.txt"
    fi
    if [ "${BENCH_SCALE_HOT:-1}" = 1 ]; then
        # The same queries with PHM_INDEX_HOT_COPY (BENCH_SEARCH_HOT=1): the
        # base's arrays copied into huge pages at the first search; their
        # result sets must equal the map's (the recall check below reads
        # the hot copy's).
        echo "bench/scale: $n: queries, hot copy" >&2
        cp "$dir/phm-radius.txt" "$dir/phm-radius-map.txt"
        r=1
        while [ "$r" -le "$reps" ]; do
            line=$(BENCH_SEARCH_HOT=1 "$out/search_bench" query "$dir" 1 radius 1000 2>>"$log") ||
                die "search_bench query (hot copy) failed (see $log)"
            row "$n" qps-hot "$r" "$(kv qps "$line")"
            row "$n" cold-qps-hot "$r" "$(kv cold_qps "$line")"
            row "$n" cpu-qps-hot "$r" "$(kv cpu_qps "$line")"
            row "$n" open-ms-hot "$r" "$(kv open_ms "$line")"
            row "$n" search-rss-mb-hot "$r" "$(kv maxrss_mb "$line")"
            r=$((r + 1))
        done
        same_sets hot-same "$dir/phm-radius-map.txt"
    fi
    echo "bench/scale: $n: cold open + first query, ${BENCH_SCALE_COLD:-5} runs" >&2
    line=$("$out/search_bench" cold "$dir" "${BENCH_SCALE_COLD:-5}" 2>>"$log") ||
        die "search_bench cold failed (see $log)"
    row "$n" cold-open-ms 1 "$(kv cold_ms "$line")"
    row "$n" cold-majflt 1 "$(kv majflt "$line")"
    echo "bench/scale: $n: brute-force recall check on $nrecall queries" >&2
    line=$("$out/search_bench" recall "$dir" "$nrecall" 2>>"$log") ||
        die "search_bench recall failed (see $log)"
    row "$n" recall 1 "$(kv recall "$line") ($(kv recall_queries "$line") queries, $(kv results "$line") results, $(kv mismatches "$line") mismatched sets)"

    if [ "$faiss" = 1 ]; then
        echo "bench/scale: $n: FAISS" >&2
        flat=${BENCH_SCALE_FLAT:-100}
        [ -n "${BENCH_SCALE_FLAT:-}" ] || [ "$n" -lt 100000000 ] || flat=20
        mh=no
        [ "$n" -le "$mh_max" ] && mh=yes
        rm -f "$dir/phm-knn.txt"
        /usr/bin/python3 bench/search_faiss.py "$dir" "$n" "$flat" "$out/faiss.tsv.tmp" "$mh" \
            2>>"$log" || die "search_faiss.py failed (see $log)"
        awk -F '\t' -v n="$n" '$4 == 1 && $3 == "radius31" { printf "%s\t%s\t1\t%s\n", n, $2, $6;
            printf "%s\t%s-agree\t1\t%s (%s queries)\n", n, $2, $9, $5 }
            $3 == "build" { printf "%s\t%s-build-s\t1\t%s\n", n, $2, $7 }
            { if ($8 > rss) rss = $8 } END { printf "%s\tfaiss-rss-mb\t1\t%s\n", n, rss }' \
            "$out/faiss.tsv.tmp" >>"$results"
        rm -f "$out/faiss.tsv.tmp"
    fi
    [ "${BENCH_SCALE_KEEP:-0}" = 1 ] || rm -rf "$dir"
done

echo
echo "== Scale benchmark, issue 17 ($(date -u '+%Y-%m-%d %H:%M UTC'), $(($(date +%s) - t_start)) s, load $(cut -d ' ' -f 1-3 /proc/loadavg); median of $reps)"
awk -F '\t' '
    function median(k,   c, i, j, t, a) {
        c = cnt[k]
        for (i = 0; i < c; i++) a[i] = v[k, i]
        for (i = 0; i < c; i++) for (j = i + 1; j < c; j++)
            if (a[j] + 0 < a[i] + 0) { t = a[i]; a[i] = a[j]; a[j] = t }
        return c % 2 ? a[int(c / 2)] : (a[c / 2 - 1] + a[c / 2]) / 2
    }
    function has(n, w) { return (n SUBSEP w) in cnt }
    function m(n, w) { return has(n, w) ? median(n SUBSEP w) : "-" }
    function first(n, w) { return has(n, w) ? v[n SUBSEP w, 0] : "-" }
    function x(a, b) { return (a == "-" || b == "-" || b == 0) ? "-" : sprintf("%.0fx", a / b) }
    NR == 1 { next }
    { k = $1 SUBSEP $2; v[k, cnt[k]++] = $4
      if (!($1 in seen)) { seen[$1] = 1; sizes[ns++] = $1 }
      if ($2 ~ /^table:/ && !(($1, $2) in tseen)) { tseen[$1, $2] = 1; tab[$1, nt[$1]++] = $2 } }
    END {
      for (s = 0; s < ns; s++) {
        n = sizes[s]
        fb = m(n, "file-bytes"); fl = m(n, "floor-s"); lib = m(n, "import-library-s"); cl = m(n, "import-cli-s")
        printf "\n%s hashes                         %16s   target\n", n, "measured"
        printf "  index file bytes per hash       %16.1f   <= 110 (at 10 M and 100 M)\n", fb / n
        printf "  import, library (M hashes/s)    %16.3f   >= 1 M/s at 10 M\n", n / lib / 1e6
        printf "    time over the floor time     %16.2f   <= 1.2 (floor: %.2f s for %.0f MB)\n", lib / fl, fl, fb / 1e6
        lc = m(n, "import-library-cpu-s"); fc = m(n, "floor-cpu-s")
        if (lc != "-" && fc != "-" && fc > 0)
          printf "    CPU s (user + sys) over the floor'"'"'s %10.2f   (%.2f s, floor %.2f s: what load distorts less)\n", lc / fc, lc, fc
        if (cl != "-") {
          printf "  import, CLI (M hashes/s)        %16.3f   >= 1 M/s at 10 M\n", n / cl / 1e6
          printf "    time over the floor time     %16.2f   <= 1.2\n", cl / fl
          printf "    CLI file bytes per hash       %16.1f\n", m(n, "cli-file-bytes") / n
        }
        printf "  open + first query (ms)         %16.1f   < 2,000 (< 1,000 at 10 M)\n", m(n, "open-ms")
        printf "    cold page cache (ms)          %16s   (index file evicted; %s major faults)\n", first(n, "cold-open-ms"), first(n, "cold-majflt")
        printf "  radius 31, 1 thread (q/s)       %16.0f   >= 2,000 at 100 M (moonshot 5,000)\n", m(n, "qps")
        printf "    per CPU second (q/s)          %16.0f   (what a free core gives on a loaded machine)\n", m(n, "cpu-qps")
        printf "    first pass, cold (q/s)        %16.0f\n", m(n, "cold-qps")
        if (has(n, "qps-batch"))
          printf "  in batches (phm_search_batch) (q/s) %11.0f   per CPU second %.0f; same results: %s\n",
              m(n, "qps-batch"), m(n, "cpu-qps-batch"), first(n, "batch-same")
        if (has(n, "qps-hot")) {
          printf "  hot copy (PHM_INDEX_HOT_COPY), radius 31 (q/s) %0.f, per CPU second %.0f, first pass %.0f\n",
              m(n, "qps-hot"), m(n, "cpu-qps-hot"), m(n, "cold-qps-hot")
          printf "    open + first query (copy made) %.1f ms, peak RSS %.0f MB; same results as the map: %s\n",
              m(n, "open-ms-hot"), m(n, "search-rss-mb-hot"), first(n, "hot-same")
        }
        printf "  recall vs brute force           %16s   1.000\n", first(n, "recall")
        printf "  peak RSS MB: import %.0f, open %.0f, search %.0f      < 24 GiB\n",
            m(n, "import-rss-mb"), m(n, "open-rss-mb"), m(n, "search-rss-mb")
        if (has(n, "faiss-flat")) {
          printf "  FAISS flat radius 31 (q/s)      %16s   phmatch %s; agrees: %s\n", first(n, "faiss-flat"),
              x(m(n, "qps"), first(n, "faiss-flat")), first(n, "faiss-flat-agree")
          if (has(n, "faiss-multihash"))
            printf "  FAISS multihash radius 31 (q/s) %16s   phmatch %s; agrees: %s; build %s s\n",
                first(n, "faiss-multihash"), x(m(n, "qps"), first(n, "faiss-multihash")),
                first(n, "faiss-multihash-agree"), first(n, "faiss-multihash-build-s")
          else
            printf "  FAISS multihash                 %16s   (N > BENCH_SCALE_MULTIHASH_MAX)\n", "not run"
          printf "    FAISS peak RSS MB             %16s\n", first(n, "faiss-rss-mb")
        }
        printf "  tables (bytes per hash):"
        for (i = 0; i < nt[n]; i++) {
          t = tab[n, i]; sub(/^table:/, "", t)
          printf "%s %s %.1f", i ? "," : "", t, first(n, tab[n, i]) / n
        }
        printf "\n"
      }
    }' "$results"
echo
echo "Raw rows: $results; log: $log"

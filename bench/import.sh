#!/bin/sh
# bench/import.sh BUILD_DIR - bulk import into a fresh index (issue 3
# target: >= 1 M hashes/s). Not a test.
#
# For each size N (BENCH_IMPORT_N, default "1000000 10000000"), the median
# of BENCH_IMPORT_REPS (default 3) runs, interleaved, of:
#   - library: bench/index_bench.c with IMPORT_ONLY=1 (random hashes, ids
#     in key order, one transaction through phm_index_add/commit);
#   - CLI: `phmatch index import --source bench DB LIST` of a list of N
#     random hex hashes, one per line, into a just-created index (what
#     users run; includes parsing and the line-number ids).
#   - floor: `index_bench floor BYTES`, filling as many bytes of fresh
#     memory as the library's index file holds, writing them to a new file
#     and syncing it: what an LMDB commit does at the least (dirty pages,
#     then the write), with nothing computed. On this kind of virtual
#     machine the first touch of memory dominates it.
# Every measurement starts after a 5 s pause, so that each meets memory
# the host has taken back, as a first import would (BENCH_IMPORT_PAUSE).
# Prints M hashes/s (wall clock, commit with its sync included), the
# ratio of each path to the floor, the library's adds and commit apart
# (the commit's own ratio to the floor) and the load average; raw runs go
# to BUILD_DIR/bench/import/runs.tsv (paths lib-adds and lib-commit: the
# library's two phases, no CPU time of their own); BENCH_IMPORT_REPORT=FILE
# prints the table of such a file and runs nothing
# (tests/cli/bench_import.sh checks its medians). Needs about 300 MB of disk per million
# hashes in BUILD_DIR/bench/import/ (removed afterwards) plus the
# 65 MB-per-million hex list (kept).
set -eu
cd "$(dirname "$0")/.."

die() { echo "bench/import: $*" >&2; exit 1; }

# summary - the table of $runs (runs.tsv) for each size of $sizes.
summary() {
    echo
    echo "== Bulk import into a fresh index ($(date -u '+%Y-%m-%d %H:%M UTC'), load $(cut -d ' ' -f 1-3 /proc/loadavg))"
    printf '%-10s %-8s %12s %9s %8s %9s   %s\n' "hashes" "path" "M hashes/s" "x floor" \
        "CPU s" "x floor" "runs (s)"
    for n in $sizes; do
        awk -F '\t' -v n="$n" '
            function median(v, p,   k, i, j, t, a) {
                k = 0
                for (i = 0; i < cnt[p]; i++) a[k++] = v[p, i]
                for (i = 0; i < k; i++) for (j = i + 1; j < k; j++)
                    if (a[j] < a[i]) { t = a[i]; a[i] = a[j]; a[j] = t }
                return k % 2 ? a[int(k / 2)] : (a[k / 2 - 1] + a[k / 2]) / 2
            }
            # i numeric: an unset cnt[$2] as a subscript is "", not 0
            $1 == n { i = cnt[$2]++; cpu[$2, i] = $6; sec[$2, i] = $4; rate[$2, i] = $5
                      secs[$2] = secs[$2] " " $4; round[$2, $3] = $4 }
            # the median over rounds of the time of path p over the floor
            # time of the same round (a minute apart at most: the state of
            # the host is shared), kept as the runs of path "p/floor"; the
            # list of those ratios in rlist[p]
            function round_ratio(p,   q, r) {
                q = p "/floor"
                rlist[p] = ""
                cnt[q] = 0
                for (r = 1; r <= cnt["floor"]; r++)
                    if ((p, r) in round && round["floor", r] > 0) {
                        ratio[q, cnt[q]++] = round[p, r] / round["floor", r]
                        rlist[p] = rlist[p] sprintf(" %.2f", ratio[q, cnt[q] - 1])
                    }
                return cnt[q] ? median(ratio, q) : 0
            }
            END {
                f = median(rate, "floor")
                fc = median(cpu, "floor")
                fs = median(sec, "floor")
                for (q = 0; q < 3; q++) {
                    p = q == 0 ? "library" : q == 1 ? "cli" : "floor"
                    m = median(rate, p)
                    c = median(cpu, p)
                    printf "%-10s %-8s %12.3f %9.2f %8.2f %9.2f  %s\n", n, p, m / 1e6, f / m, c,
                        (fc > 0 ? c / fc : 0), secs[p]
                }
                lr = round_ratio("library")
                cr = round_ratio("cli")
                printf "%-10s per round, x that round'"'"'s floor: library %.2f (%s), cli %.2f (%s)\n",
                    n, lr, substr(rlist["library"], 2), cr, substr(rlist["cli"], 2)
                if (cnt["lib-commit"] && fs > 0)
                    printf "%-10s library: adds %.2f s, then its commit %.2f s = %.2f x the floor" \
                        " on its own\n", n, median(sec, "lib-adds"), median(sec, "lib-commit"),
                        median(sec, "lib-commit") / fs
            }' "$runs"
    done
    echo
    echo "x floor: time over the floor's (fill fresh memory as large as the index file, write"
    echo "it to a new file, sync): what an LMDB commit of that many bytes costs at the least here."
    echo "CPU s: user + sys of the process (median), and over the floor's CPU time; less"
    echo "distorted by other load than the wall clock. On C cores a path within 1.2 x the"
    echo "floor's wall time has at most 1.2 x C x that wall time of CPU to spend."
    echo "The library's commit (search tables rebuilt, LMDB's write and sync) against the"
    echo "floor says how much of the floor's time is left for the adds before it."
    echo "Per round: each round runs every path once, a few seconds apart; the median of"
    echo "each path's time over its round's floor follows the host's drift (on a virtual"
    echo "machine the floor alone moves by 1.5-2 x within minutes) better than the ratio"
    echo "of the medians above."
    echo "Target (issue 3): >= 1 M hashes/s. Median of $reps; raw runs: $runs"
}

# BENCH_IMPORT_REPORT=FILE: the table of an earlier run's runs.tsv, nothing
# run (its sizes, unless BENCH_IMPORT_N names them; "Median of" says how
# many runs the file holds of each).
if [ -n "${BENCH_IMPORT_REPORT:-}" ]; then
    runs=$BENCH_IMPORT_REPORT
    [ -r "$runs" ] || die "cannot read '$runs'"
    sizes=${BENCH_IMPORT_N:-$(awk -F '\t' 'NR > 1 && !seen[$1]++ { printf "%s ", $1 }' "$runs")}
    reps=$(awk -F '\t' 'NR > 1 && $2 == "floor" && ++n[$1] > m { m = n[$1] } END { print m + 0 }' "$runs")
    summary
    exit 0
fi
build=${1:-build}
[ -f "$build/libphmatch.a" ] && [ -x "$build/phmatch" ] ||
    die "no '$build/libphmatch.a' or '$build/phmatch': run 'make BUILD=$build all' first"
sizes=${BENCH_IMPORT_N:-"1000000 10000000"}
reps=${BENCH_IMPORT_REPS:-3}
pause=${BENCH_IMPORT_PAUSE:-5}
case $reps in '' | *[!0-9]* | 0) die "BENCH_IMPORT_REPS must be a number >= 1" ;; esac

out=$build/bench/import
mkdir -p "$out"
log=$out/run.log
: >"$log"
pkgs=$(sed -n 's/^PKGS[[:space:]]*:=[[:space:]]*//p' Makefile)
# shellcheck disable=SC2046,SC2086
${CC:-cc} -std=c11 -D_DEFAULT_SOURCE -D_FILE_OFFSET_BITS=64 -O2 -g -fopenmp \
    -Iinclude -o "$out/index_bench" bench/index_bench.c "$build/libphmatch.a" \
    $(pkg-config --libs $pkgs) -lm >>"$log" 2>&1 ||
    { cat "$log" >&2; die "cannot build index_bench"; }

now() { date +%s.%N; }
runs=$out/runs.tsv
printf 'n\tpath\trep\tseconds\trate\tcpu\n' >"$runs"
# record PATH SECONDS CPU - one run of size $n, repetition $r, into runs.tsv.
record() {
    printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$n" "$1" "$r" "$2" \
        "$(awk -v n="$n" -v s="$2" 'BEGIN { printf "%.0f", (s > 0 ? n / s : 0) }')" "$3" >>"$runs"
}
# cpu_between A B - user + sys seconds of the shell's finished children
# between two outputs of `times` (files A and B; the second line of each,
# "XmY.YYs XmY.YYs"). `times` itself must run in this shell, with its
# output redirected: in a command substitution it would be a subshell's,
# with no children.
cpu_between() {
    awk 'FNR == 2 {
        s = 0
        for (i = 1; i <= 2; i++) { split($i, p, "m"); sub("s", "", p[2]); s += p[1] * 60 + p[2] }
        c[++k] = s }
        END { printf "%.3f", c[2] - c[1] }' "$1" "$2"
}
# cpu_of LINE - the "cpu X s" figure of an index_bench line.
cpu_of() {
    printf '%s\n' "$1" | sed -n 's/.*; cpu \([0-9.]*\) s.*/\1/p'
}
echo "bench/import: $(nproc) cores, load $(cut -d ' ' -f 1-3 /proc/loadavg); sizes: $sizes; $reps runs each" >&2
for n in $sizes; do
    list=$out/hex-$n.txt
    if [ ! -s "$list" ]; then
        echo "bench/import: writing $n random hex hashes to $list" >&2
        # random hashes with 96..160 bits set: import refuses the few others
        # (docs/HASHLISTS.md, "Validation"); the same list on every machine
        "$out/index_bench" hexlist "$n" "$list.tmp" 2>>"$log" && mv "$list.tmp" "$list" ||
            die "index_bench hexlist failed (see $log)"
    fi
    r=1
    while [ "$r" -le "$reps" ]; do
        sleep "$pause"
        line=$(IMPORT_ONLY=1 "$out/index_bench" "$n" "$out" 2>>"$log" | grep '^import:') ||
            die "index_bench failed (see $log)"
        secs=$(printf '%s\n' "$line" | sed 's/^import: \([0-9.]*\) s.*/\1/')
        record library "$secs" "$(cpu_of "$line")"
        # its two phases: the adds, and the commit (rebuild, write, sync)
        record lib-adds "$(printf '%s\n' "$line" | sed -n 's/.*(adds \([0-9.]*\) s,.*/\1/p')" -
        record lib-commit "$(printf '%s\n' "$line" | sed -n 's/.*, commit \([0-9.]*\) s).*/\1/p')" -
        bytes=$(stat -c %s "$out/bench-$n.phmi")
        rm -f "$out/bench-$n.phmi" "$out/bench-$n.phmi-lock"

        sleep "$pause"
        line=$("$out/index_bench" floor "$bytes" "$out" 2>>"$log" | grep '^floor:') ||
            die "index_bench floor failed (see $log)"
        secs=$(printf '%s\n' "$line" | sed 's/^floor: \([0-9.]*\) s.*/\1/')
        record floor "$secs" "$(cpu_of "$line")"
        echo "bench/import: $n: $line" >>"$log"

        sleep "$pause"
        db=$out/cli-$n.phmi
        rm -f "$db" "$db-lock"
        "$build/phmatch" index create "$db" >>"$log" 2>&1 || die "index create failed (see $log)"
        t0=$(now)
        times >"$out/times0"
        "$build/phmatch" index import --source bench "$db" "$list" >>"$log" 2>&1 ||
            die "index import failed (see $log)"
        times >"$out/times1"
        t1=$(now)
        secs=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }')
        record cli "$secs" "$(cpu_between "$out/times0" "$out/times1")"
        rm -f "$db" "$db-lock"
        r=$((r + 1))
    done
done

summary

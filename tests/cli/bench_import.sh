#!/bin/sh
# bench_import.sh - bench/import.sh's summary (BENCH_IMPORT_REPORT: the
# table of a runs.tsv, nothing run) on runs whose medians are known. Each
# path's first run must count: its summary once took the first run's
# seconds and CPU under the awk subscript "" (an unset counter), so its
# medians were of the other runs and an empty value, one rank low (session
# 25). The plain build's run only: no build is used.
. "$(dirname "$0")/lib.sh"

case $BUILD in
*asan*)
    echo "1..0 # SKIP the summary is awk, the same in both builds (plain build only)"
    exit 0
    ;;
esac

# One size, three runs of each path. Sorted, the middle value of each is
# the first run's, so a summary that drops the first run shows another.
#   floor seconds 2, 1, 3 (median 2; without the first: 1);
#   library CPU 6, 4, 8 (median 6; without the first: 4);
#   commit 4, 3, 5 (median 4, 2 x the floor; without the first: 3 / 1 = 3 x).
R=$T/runs.tsv
awk 'BEGIN {
    OFS = "\t"; n = 1000000
    print "n", "path", "rep", "seconds", "rate", "cpu"
    split("2 1 3", f, " "); split("6 4 8", c, " "); split("4 3 5", k, " ")
    for (r = 1; r <= 3; r++) {
        print n, "library", r, k[r] + 1.5, int(n / (k[r] + 1.5) + 0.5), c[r]
        print n, "lib-adds", r, 1.5, int(n / 1.5 + 0.5), "-"
        print n, "lib-commit", r, k[r], int(n / k[r] + 0.5), "-"
        print n, "floor", r, f[r], int(n / f[r] + 0.5), f[r]
        print n, "cli", r, k[r] + 2, int(n / (k[r] + 2) + 0.5), c[r] + 1
    }
    # a second size whose per-round ratios differ from the ratio of the
    # medians: floor 1, 2, 3 (median 2), library 1.5, 4, 3.3 (median 3.3:
    # 1.65 x), per round 1.5, 2, 1.1 (median 1.5); cli 3, 2, 6 (median 3:
    # 1.5 x), per round 3, 1, 2 (median 2)
    n = 2000000
    split("1 2 3", f, " "); split("1.5 4 3.3", l, " "); split("3 2 6", k, " ")
    for (r = 1; r <= 3; r++) {
        print n, "library", r, l[r], int(n / l[r] + 0.5), 1
        print n, "floor", r, f[r], int(n / f[r] + 0.5), 1
        print n, "cli", r, k[r], int(n / k[r] + 0.5), 1
    }
}' >"$R"

out=$(BENCH_IMPORT_REPORT=$R sh "$ROOT/bench/import.sh" 2>&1)
t_is "a report of a runs.tsv: exit 0" "$?" 0
t_like "the library: 0.182 M/s (5.5 s), 2.75 x the floor; CPU 6, 3 x the floor's" "$out" \
    '^1000000  *library  *0\.182  *2\.75  *6\.00  *3\.00  *5\.5 4\.5 6\.5$'
t_like "the floor: 0.5 M/s (2 s), CPU 2" "$out" '^1000000  *floor  *0\.500  *1\.00  *2\.00  *1\.00  *2 1 3$'
t_like "the commit: 4 s, 2 x the floor" "$out" \
    'library: adds 1\.50 s, then its commit 4\.00 s = 2\.00 x the floor on its own'
t_like "the runs counted per size" "$out" 'Median of 3; raw runs: '
t_like "per round: each run over its round's floor" "$out" \
    "^1000000  *per round, x that round's floor: library 2\\.75 (2\\.75 4\\.50 2\\.17), cli 3\\.00 (3\\.00 5\\.00 2\\.33)\$"
t_like "a second size: the ratio of the medians 1.65 x" "$out" '^2000000  *library  *[0-9.]*  *1\.65 '
t_like "... its median per round 1.50 x, the cli's 2.00 x" "$out" \
    "^2000000  *per round, x that round's floor: library 1\\.50 (1\\.50 2\\.00 1\\.10), cli 2\\.00 (3\\.00 1\\.00 2\\.00)\$"

out=$(BENCH_IMPORT_REPORT=$T/none.tsv sh "$ROOT/bench/import.sh" 2>&1)
t_is "a missing runs.tsv: exit 1" "$?" 1
t_like "... names it" "$out" "cannot read '$T/none.tsv'"
t_done

#!/bin/sh
# bench_lookup.sh - bench/lookup.sh end to end at a toy size (a check that
# the benchmark works, not a measurement): the data set made, both binaries
# timed and their outputs compared, and with BENCH_LOOKUP_OTHER_OWN=1 the
# other binary's own index imported from this one's export (how issue 17's
# "no loss at 10 M" is measured against an older format); a binary whose
# output differs is refused. Its files go to a build directory of its own
# (links to the build's library and phmatch), not to the build's bench/.
# The plain build only: the benchmark links its helper without sanitizers.
# TAP on stdout.
. "$(dirname "$0")/lib.sh"

case $BUILD in
*asan*)
    echo "1..0 # SKIP the benchmark links search_bench without sanitizers (plain build only)"
    exit 0
    ;;
esac
case $BUILD in
/*) lib=$BUILD/libphmatch.a ;;
*) lib=$ROOT/$BUILD/libphmatch.a ;;
esac

B=$T/build
mkdir -p "$B" && ln -s "$lib" "$B/libphmatch.a" && ln -s "$PHMATCH" "$B/phmatch"
# the other binary: the same phmatch behind a wrapper (another path, as a
# build of another tree would be); "$@" and "$1" are the wrappers' own
# shellcheck disable=SC2016
printf '#!/bin/sh\nexec "%s" "$@"\n' "$PHMATCH" >"$T/other"
# one whose lookup writes a line more
# shellcheck disable=SC2016
printf '#!/bin/sh\n"%s" "$@" || exit\n[ "$1" != lookup ] || echo extra\n' "$PHMATCH" >"$T/differs"
chmod 755 "$T/other" "$T/differs"

N=20000
bench() { # bench OTHER [VAR=VALUE...] - the benchmark's stdout and stderr in $T/out
    _other=$1
    shift
    env BENCH_LOOKUP_N=$N BENCH_LOOKUP_QUERIES=400 BENCH_LOOKUP_REPS=2 \
        BENCH_LOOKUP_DIR="$T/data" BENCH_LOOKUP_OTHER="$_other" "$@" \
        sh "$ROOT/bench/lookup.sh" "$B" >"$T/out" 2>&1
}

bench "$T/other" BENCH_LOOKUP_OTHER_OWN=1 BENCH_LOOKUP_KEEP=1
t_is "own index: exit 0" "$?" 0
t_like "... it says the other binary imports the same entries" "$(cat "$T/out")" \
    "imports the same entries into its own index"
t_is "... a row for each binary" \
    "$(grep -c "^$N  *\($B/phmatch\|$T/other\)  *[0-9]" "$T/out")" 2
t_is "... two runs each in runs.tsv" \
    "$(awk -F '\t' -v n=$N 'NR > 1 && $1 == n' "$B/bench/lookup/runs.tsv" | wc -l | tr -d ' ')" 4
d=$T/data/lookup-$N
t_ok "... the other index is its own file" test -s "$d/other.phmi"
t_is "... with the same entries" \
    "$("$PHMATCH" index stats --format json "$d/other.phmi" | sed -n 's/.*"entries": *\([0-9]*\).*/\1/p' | head -n 1)" \
    "$N"
t_ok "... and the two outputs are the same bytes" cmp -s "$d/out-1.jsonl" "$d/out-2.jsonl"
t_ok "... which hold a line per query" test "$(wc -l <"$d/out-1.jsonl")" -eq 400
t_ok "... some of them with a match" grep -q '"matches":\[{' "$d/out-1.jsonl"

bench "$T/differs" BENCH_LOOKUP_OTHER_OWN=1 BENCH_LOOKUP_REUSE=1 BENCH_LOOKUP_KEEP=1
t_is "another binary's different output: exit 1" "$?" 1
t_like "... naming both outputs" "$(cat "$T/out")" "write different output"
t_is "... the reused data set is not imported again" \
    "$(grep -c 'imports the same entries' "$T/out")" 0

bench "$T/other"
t_is "the same index for both (no BENCH_LOOKUP_OTHER_OWN): exit 0" "$?" 0
t_ok "... the data set removed afterwards (no BENCH_LOOKUP_KEEP)" test ! -e "$d"
t_done

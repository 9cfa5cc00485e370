#!/bin/sh
# bench_lowquality.sh - bench/unrelated_set.sh's dimmed copies and
# gradients (UNRELATED_DIM=1) and bench/lowquality.sh on data/: the
# photos, dimmed four ways, against an augmented index of data/known,
# which holds one of them (the bridge). The table must count every image
# once in its quality band, and --robust must find the bridge's four
# dimmed copies (one below PDQ's quality gate) and nothing else. The plain
# build's run only.
. "$(dirname "$0")/lib.sh"

t_bench_prologue
[ -x "$D/tools/mkqueries" ] || { echo "1..0 # SKIP no $D/tools/mkqueries"; exit 0; }
P=$PHMATCH

BUILD=$D UNRELATED_GEN=2 UNRELATED_DIM=1 UNRELATED_GRAD=6 \
    sh "$ROOT/bench/unrelated_set.sh" "$T/u" "$ROOT/data/photos" >"$T/out" 2>"$T/err"
t_is "bench/unrelated_set.sh: exit 0" "$?" 0
n=$(ls "$ROOT"/data/photos | wc -l | tr -d ' ')
t_is "four dimmed copies of each photo, six gradients" \
    "$(find "$T/u/dim" -name '*.jpg' | wc -l | tr -d ' ')" "$((n * 4 + 6))"
"$P" index create "$T/k.phmi" >/dev/null
"$P" index add --images --augment --source k "$T/k.phmi" "$ROOT/data/known" >/dev/null 2>&1
t_is "data/known added" "$?" 0

mkdir -p "$T/build"
ln -s "$D/phmatch" "$T/build/phmatch"
sh "$ROOT/bench/lowquality.sh" "$T/build" "$T/k.phmi" "$T/u/dim" "$T/u/gen" >"$T/out" 2>"$T/err"
t_is "bench/lowquality.sh: exit 0" "$?" 0
R=$T/build/bench/lowquality/results.tsv
t_is "seven quality bands" "$(tail -n +2 "$R" | cut -f 1 | tr '\n' ' ')" \
    "<10 blank <10 10-19 20-29 30-39 40-49 >=50 "
t_is "every image counted once" "$(awk -F '\t' 'NR > 1 { s += $2 } END { print s }' "$R")" \
    "$((n * 4 + 6 + 2))"
t_is "--robust: the bridge's four dimmed copies matched" \
    "$(awk -F '\t' 'NR > 1 { s += $7 } END { print s }' "$R")" 4
# R00001 is bridge.jpg, the first of data/photos in byte order.
t_is "... and only they, each with the bridge" \
    "$(grep -c "^robust match, .*/dim/R00001-[a-z0-9]*\.jpg .*data/known/bridge.jpg " "$T/out")" 4
t_like "... one of them below the gate" "$(cat "$T/out")" "robust match, quality [1-4]0-[1-4]9: "
t_done

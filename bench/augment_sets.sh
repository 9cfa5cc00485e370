#!/bin/sh
# bench/augment_sets.sh RUN SET... - compares stored-variant sets on the
# images of a finished bench/robustness.sh run (its ROBUST_OUT directory
# RUN): for each SET (a comma list for `index add --images --variants`,
# "default" the default set), the known images are added to a fresh index
# with those variants, every query of RUN/queries.list is matched with
# --robust, and bench/robustness.py prints the TPR per edit, the false
# matches and the costs, one column per set (named set1, set2, ... in the
# order given; the lists are printed first). Add time per known image is
# the CPU time of the `index add` run over the known images.
# Env: BUILD (default build), ROBUST_JOBS (default 1).
set -eu
cd "$(dirname "$0")/.."
[ $# -ge 2 ] || { echo "usage: bench/augment_sets.sh RUN SET..." >&2; exit 2; }
run=$(cd "$1" && pwd); shift
build=${BUILD:-build}
phmatch=$(cd "$build" && pwd)/phmatch
py="python3 $(pwd)/bench/robustness.py"
jobs=${ROBUST_JOBS:-1}
out=$run/sets
rm -rf "$out"; mkdir -p "$out/runs"
cp "$run/runs/meta.tsv" "$out/runs/"
: >"$out/runs/modes.tsv"
cd "$run"
i=0
for set in "$@"; do
    i=$((i + 1)); m=set$i
    echo "augment_sets: $m = $set" >&2
    rm -f "$out/$m.db"
    "$phmatch" index create "$out/$m.db" >/dev/null
    # shellcheck disable=SC2046 # KNNNN.jpg paths, no spaces
    $py time /dev/null "$out/runs/$m.add" -- "$phmatch" index add --images --variants "$set" \
        --source bench "$out/$m.db" $(ls known/*.jpg) >/dev/null
    $py time "$out/runs/$m.jsonl" "$out/runs/$m.time" -- "$phmatch" match -q --no-progress \
        -j "$jobs" -f jsonl --max-distance 48 --max-matches 100000 --index "$out/$m.db" \
        --robust -T queries.list || [ $? -eq 1 ]
    st() { "$phmatch" index stats "$out/$m.db" | awk -F '\t' -v f="$1" '$1 == f { print $2 }'; }
    nk=$(ls known/*.jpg | wc -l)
    printf '%s\tok\t%s\t%s\t%s\t%s\n' "$m" \
        "add CPU ms/known image $(awk -v n="$nk" '{ printf "%.1f", 1000 * ($2 + $3) / n }' "$out/runs/$m.add")" \
        "$(st file_bytes)" "$(st entries)" "$(wc -l <queries.list)" >>"$out/runs/modes.tsv"
done
$py stats "$out/runs"
$py table "$out/runs/robustness.tsv"
i=0
for set in "$@"; do i=$((i + 1)); echo "set$i: $set"; done
cut -f1,3 "$out/runs/modes.tsv"

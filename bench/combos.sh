#!/bin/sh
# bench/combos.sh RUN OUT - ImageMagick combinations of a robustness run's
# known images (RUN: bench/robustness.sh's ROBUST_OUT): each resized with
# another filter, cut at a corner, the centre or one side by 5-10 % and
# re-encoded at quality 40-60 (4:2:0 or 4:4:4), written as
# OUT/copies/KNNNN-gN.jpg (docs/ROBUST.md, "Combinations and calm
# pictures"). Score them against RUN's augmented index:
#   (cd OUT && phmatch match --robust -f jsonl --max-distance 48 \
#       --index RUN/aug.db copies > combos.jsonl)
#   python3 bench/shots_score.py OUT/combos.jsonl
# (the index's ids are RUN's known/KNNNN.jpg: add them from RUN).
set -eu
[ $# -eq 2 ] || { echo "usage: bench/combos.sh RUN OUT" >&2; exit 2; }
command -v convert >/dev/null 2>&1 || { echo "combos.sh: ImageMagick convert not found" >&2; exit 1; }
run=$1 out=$2
mkdir -p "$out/copies"
for f in "$run"/known/*.jpg; do
    k=$(basename "$f" .jpg)
    # name, resize, kept part (of the resized image), gravity, quality, sampling
    while read -r name rs keep grav q samp; do
        # shellcheck disable=SC2046 # rs: the resize options, words
        convert "$f" $(echo "$rs" | tr : ' ') +repage -gravity "$grav" -crop "$keep+0+0" +repage \
            -quality "$q" -sampling-factor "$samp" "$out/copies/$k-$name.jpg"
    done <<LIST
g1 -filter:Lanczos:-resize:60% 92%x92% NorthWest 50 2x2
g2 -filter:Triangle:-resize:50% 94%x94% SouthEast 40 1x1
g3 -sample:70% 90%x90% SouthWest 60 2x2
g4 -resize:75% 95%x95% NorthEast 45 2x2
g5 -filter:Triangle:-resize:60% 93%x93% Center 55 1x1
g6 -resize:60% 91%x100% West 50 2x2
g7 -resize:50% 90%x90% SouthEast 50 2x2
g8 -resize:80% 100%x95% North 60 2x2
LIST
done
echo "combos.sh: $(find "$out/copies" -name "*.jpg" | wc -l) copies in $out/copies"

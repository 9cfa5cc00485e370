#!/bin/sh
# bench_flatten.sh - bench/flatten.sh on a directory it can be checked
# against: three drawings made in their alpha channel alone (the
# reference hash all zeros), one sticker with colour under its alpha, an
# opaque PNG (not a candidate) and a duplicate file (counted once). The
# table must count each group and copy, find every drawing's copy over
# white and the drawings themselves only with flattening, and write
# results.tsv. The plain build's run only (the bench runs the build's
# phmatch; the ASan build's run would add nothing but time).
. "$(dirname "$0")/lib.sh"

t_bench_prologue

S=$T/src
mkdir -p "$S/sub" "$T/build"
convert -size 240x180 xc:none -fill black -draw 'circle 80,90 80,30' \
    -draw 'rectangle 150,20 230,70' "$S/a.png"
convert -size 240x180 xc:none -fill black -draw 'rectangle 10,100 120,170' \
    -draw 'circle 180,60 180,10' -stroke black -strokewidth 6 -draw 'line 0,90 240,0' "$S/b.png"
convert -size 240x180 xc:none -fill black -draw 'polygon 20,170 120,10 230,160' \
    -draw 'circle 120,120 120,100' "$S/sub/c.png"
cp "$S/a.png" "$S/sub/a-again.png"
convert "$IMAGES/bridge-mods/aaa-orig.jpg" -resize 240x180\! \
    \( -size 240x180 xc:black -fill white -draw 'circle 120,90 120,10' \) \
    -alpha off -compose CopyOpacity -composite "$S/sticker.png"
convert "$IMAGES/bridge-mods/aaa-orig.jpg" -resize 240x180\! "$S/opaque.png"
ln -s "$D/phmatch" "$T/build/phmatch"

BENCH_FLATTEN_N=10 sh "$ROOT/bench/flatten.sh" "$T/build" "$S" >"$T/out" 2>"$T/err"
t_is "bench/flatten.sh: exit 0" "$?" 0
O=$T/build/bench/flatten
t_is "four distinct transparent files drawn (not the opaque one, the copy once)" \
    "$(wc -l <"$O/drawn.txt" | tr -d ' ')" 4
# cell MODE GROUP COPY - "matched/count" from results.tsv
cell() {
    awk -F '\t' -v m="$1" -v g="$2" -v c="$3" '$1 == m && $2 == g && $3 == c {
        print $5 "/" $4 }' "$O/results.tsv"
}
t_is "the drawings over white, found (default)" "$(cell default alpha-only white)" 3/3
t_is "... and with --no-flatten (through the stored flat-white)" \
    "$(cell no-flatten alpha-only white)" 3/3
t_is "the drawings themselves: found only with flattening" \
    "$(cell default alpha-only self) $(cell no-flatten alpha-only self)" "3/3 0/3"
t_is "over black a black drawing is black: never found" "$(cell robust alpha-only black)" 0/3
t_is "the sticker over white (default, --robust)" \
    "$(cell default other white) $(cell robust other white)" "1/1 1/1"
t_like "the table printed" "$(cat "$T/out")" "alpha-only self  *0/3  *3/3"
t_is "no other pair within 31 (default)" \
    "$(awk -F '\t' '$1 == "default" && $3 == "false_matches" { print $5 }' "$O/results.tsv")" 0
t_done

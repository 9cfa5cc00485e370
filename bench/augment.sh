#!/bin/sh
# bench/augment.sh [DIR] - chooses the known-image augmentation set
# (docs/ROBUST.md, "Known-image augmentation") by measurement.
#
# Splits DIR's images (default data/photos data/known) by name order into
# known (every other one) and unrelated, makes edited copies of the known
# ones with ImageMagick (crops 5 % and 15 %, centre and off-centre;
# rotations of +-5 degrees with black fill and cropped; letterbox and
# pillarbox 10 %; resize + crop + quality 50), adds the known images with
# `phmatch index add --images --variants SET` for each candidate SET (and
# none: plain PDQ), and prints per SET and edit the TPR (a copy matches its
# own original at <= 31) and the false matches over all unrelated pairs
# (unrelated x known, known x other known, copy x other known), then the
# index bytes per entry and the median match time.
# Env: PHMATCH (default build/phmatch), SETS (space-separated, each a
# comma list for --variants; "none" = plain), WORK (scratch directory).
set -eu
PHMATCH=${PHMATCH:-build/phmatch}
case $PHMATCH in /*) ;; *) PHMATCH=$(pwd)/$PHMATCH ;; esac
SETS=${SETS:-"none crop10-c default crop5-c,crop15-c,rot+5-crop,rot-5-crop"}
WORK=${WORK:-$(mktemp -d /tmp/phm-augment.XXXXXX)}
mkdir -p "$WORK/known" "$WORK/unrel" "$WORK/copies"
command -v convert >/dev/null || { echo "augment.sh: needs ImageMagick convert" >&2; exit 2; }

# the split
i=0
for f in $(find "${@:-data/photos data/known}" -maxdepth 1 -type f \( -name '*.jpg' -o -name '*.png' \) 2>/dev/null | sort); do
    b=$(basename "$f"); b=${b%.*}
    if [ -s "$WORK/known/$b.png" ] || [ -s "$WORK/unrel/$b.png" ]; then :
    elif [ $((i % 2)) -eq 0 ]; then convert "$f" "$WORK/known/$b.png"; else convert "$f" "$WORK/unrel/$b.png"; fi
    i=$((i + 1))
done

# the edits: NAME and convert arguments; rotation-crop sizes from python
rotcrop() { # W H DEG -> WxH of the largest upright rectangle inside
    python3 -c "
import math,sys
w,h,d=float(sys.argv[1]),float(sys.argv[2]),math.radians(abs(float(sys.argv[3])))
s,c=math.sin(d),math.cos(d)
L,S=max(w,h),min(w,h)
if S<=2*s*c*L:
    x=S/2; ow,oh=(x/s,x/c) if w>=h else (x/c,x/s)
else:
    c2=c*c-s*s; ow,oh=(w*c-h*s)/c2,(h*c-w*s)/c2
print('%dx%d'%(int(ow)-1,int(oh)-1))" "$1" "$2" "$3"
}
EDITS=${EDITS:-"crop5-c crop5-off crop15-c crop15-off rot5-fill rotm5-fill rot5-crop rotm5-crop letterbox pillarbox combo"}
for f in "$WORK"/known/*.png; do
    b=$(basename "$f" .png)
    wh=$(identify -format '%w %h' "$f"); w=${wh% *}; h=${wh#* }
    for e in $EDITS; do
        o="$WORK/copies/$e/$b.jpg"
        [ -s "$o" ] && continue # made by an earlier run in this WORK
        mkdir -p "$WORK/copies/$e"
        case $e in
        crop5-c) convert "$f" -gravity center -crop 95%x95%+0+0 +repage -quality 90 "$o" ;;
        crop15-c) convert "$f" -gravity center -crop 85%x85%+0+0 +repage -quality 90 "$o" ;;
        crop5-off) convert "$f" -gravity southeast -crop 95%x95%+0+0 +repage -quality 90 "$o" ;;
        crop15-off) convert "$f" -gravity southeast -crop 85%x85%+0+0 +repage -quality 90 "$o" ;;
        rot5-fill) convert "$f" -background black -virtual-pixel background -distort SRT 5 -quality 90 "$o" ;;
        rotm5-fill) convert "$f" -background black -virtual-pixel background -distort SRT -5 -quality 90 "$o" ;;
        rot5-crop) convert "$f" -distort SRT 5 -gravity center -crop "$(rotcrop "$w" "$h" 5)+0+0" +repage -quality 90 "$o" ;;
        rotm5-crop) convert "$f" -distort SRT -5 -gravity center -crop "$(rotcrop "$w" "$h" 5)+0+0" +repage -quality 90 "$o" ;;
        letterbox) convert "$f" -gravity center -background black -extent "${w}x$((h * 10 / 9))" -quality 90 "$o" ;;
        pillarbox) convert "$f" -gravity center -background black -extent "$((w * 10 / 9))x${h}" -quality 90 "$o" ;;
        crop3-c) convert "$f" -gravity center -crop 97%x97%+0+0 +repage -quality 90 "$o" ;;
        crop8-c) convert "$f" -gravity center -crop 92%x92%+0+0 +repage -quality 90 "$o" ;;
        crop10-c) convert "$f" -gravity center -crop 90%x90%+0+0 +repage -quality 90 "$o" ;;
        crop12-c) convert "$f" -gravity center -crop 88%x88%+0+0 +repage -quality 90 "$o" ;;
        crop20-c) convert "$f" -gravity center -crop 80%x80%+0+0 +repage -quality 90 "$o" ;;
        crop5-nw) convert "$f" -gravity northwest -crop 95%x95%+0+0 +repage -quality 90 "$o" ;;
        rot3-fill) convert "$f" -background black -virtual-pixel background -distort SRT 3 -quality 90 "$o" ;;
        rot2-crop) convert "$f" -distort SRT 2 -gravity center -crop "$(rotcrop "$w" "$h" 2)+0+0" +repage -quality 90 "$o" ;;
        rot5-white) convert "$f" -background white -virtual-pixel background -distort SRT 5 -quality 90 "$o" ;;
        combo) convert "$f" -resize 70% -gravity center -crop 92%x92%+0+0 +repage -quality 50 "$o" ;;
        esac
    done
done
nk=$(ls "$WORK/known" | wc -l); nu=$(ls "$WORK/unrel" | wc -l)
echo "# $nk known, $nu unrelated images; edits: $EDITS"

# Per set: TPR per edit and false matches. A match line of the tsv: path
# (col 1), id (col 15), distance (col 18), known_variant (col 21).
printf 'set\tslots/entry\tbytes/entry'
for e in $EDITS; do printf '\t%s' "$e"; done
printf '\tall\tfalse\tpairs\tms/query\n'
for set in $SETS; do
    db="$WORK/db-$set.phmi"; rm -f "$db" "$db-lock"
    "$PHMATCH" index create "$db"
    (cd "$WORK" && if [ "$set" = none ]; then
        "$PHMATCH" index add --images --source k "$db" known >/dev/null 2>&1
    else
        "$PHMATCH" index add --images --variants "$set" --source k "$db" known >/dev/null 2>&1
    fi)
    "$PHMATCH" index compact "$db"
    slots=$("$PHMATCH" index stats "$db" | awk '$1=="variant_hashes"{v=$2} $1=="entries"{n=$2} END{printf "%.2f", 1+v/n}')
    bytes=$("$PHMATCH" index stats "$db" | awk '$1=="used_bytes"{u=$2} $1=="entries"{n=$2} END{printf "%d", u/n}')
    printf '%s\t%s\t%s' "$set" "$slots" "$bytes"
    tp_all=0; n_all=0; fm=0
    for e in $EDITS; do
        "$PHMATCH" match --index "$db" "$WORK/copies/$e" > "$WORK/m.tsv" 2>/dev/null || true
        r=$(awk -F'\t' -v d="$WORK/copies/$e/" 'NR>1 && $2=="ok" {
                b=$1; sub(".*/", "", b); sub("\\.[a-z]*$", "", b); seen[b]=1
                if ($15 != "") { k=$15; sub(".*/", "", k); sub("\\.[a-z]*$", "", k)
                    if (k == b) tp[b]=1; else fm++ } }
            END { n=0; t=0; for (b in seen) { n++; if (b in tp) t++ }; printf "%d %d %d", t, n, fm+0 }' "$WORK/m.tsv")
        set -- $r
        printf '\t%.3f' "$(echo "$1 $2" | awk '{print $2 ? $1/$2 : 0}')"
        tp_all=$((tp_all + $1)); n_all=$((n_all + $2)); fm=$((fm + $3))
    done
    # unrelated x known, known x other known
    t0=$(date +%s.%N)
    "$PHMATCH" match --index "$db" "$WORK/unrel" > "$WORK/u.tsv" 2>/dev/null || true
    t1=$(date +%s.%N)
    "$PHMATCH" match --index "$db" "$WORK/known" > "$WORK/k.tsv" 2>/dev/null || true
    fu=$(awk -F'\t' 'NR>1 && $15 != "" {n++} END{print n+0}' "$WORK/u.tsv")
    fk=$(awk -F'\t' 'NR>1 && $15 != "" { b=$1; sub(".*/", "", b); k=$15; sub(".*/", "", k); if (b != k) n++ } END{print n+0}' "$WORK/k.tsv")
    pairs=$((nu * nk + nk * (nk - 1) + n_all * (nk - 1)))
    ms=$(echo "$t0 $t1 $nu" | awk '{printf "%.2f", ($2-$1)*1000/$3}')
    printf '\t%.3f\t%d\t%d\t%s\n' "$(echo "$tp_all $n_all" | awk '{print $1/$2}')" \
        $((fm + fu + fk)) "$pairs" "$ms"
done
echo "# work files in $WORK"

#!/bin/sh
# bench/devset.sh OUT [PHOTO_DIR...] - rebuild the hard benign dev set of
# issue 15 (docs/ROBUST.md, "Combinations of busy images" and "The dev set
# rebuilt by bench/devset.sh") for bench/robustness.sh OUT/set.
#
# Four kinds of picture, in this order:
#   P  the photos under PHOTO_DIR (walked, sorted; default data/, whose
#      queries/ are edited copies that the near-duplicate drop takes out);
#   W  one picture per wallpaper of Debian's plasma-workspace-wallpapers,
#      gnome-backgrounds and desktop-base (`apt-get download` into OUT/debs,
#      `dpkg-deb -x`, nothing installed; .debs already in OUT/debs are used
#      as they are). ImageMagick here reads no SVG, so a GNOME wallpaper is
#      its WebP (the SVG-only ones are left out) and a desktop-base theme is
#      its GRUB background (DEVSET_WALLPAPERS=0: none of them);
#   G  DEVSET_GEN (49) generated graphics: gradients, shapes, plasma;
#   B  DEVSET_BUSY (99) deliberately busy images: sinusoid stripes of 2-8
#      pixels a period at any angle, checkerboards of 2-8 pixel cells under
#      noise, blurred noise (sand), motion-blurred noise (grass), crossed
#      sinusoids (fabric), plasma under strong noise.
# The generated ones come from fixed seeds (candidate N of a kind: seed N),
# so the same ImageMagick makes the same files. Then every candidate within
# DEVSET_DISTANCE (70) bits of an earlier one that was kept - PDQ, in any of
# the 8 orientations or through its trimmed content (`phmatch match
# --dihedral --min-quality 0`) - is dropped, so is one whose hash `index
# import` refuses (a flat picture's), and the first DEVSET_GEN and
# DEVSET_BUSY survivors of G and B are kept (candidates: 1.6 x and 1.4 x as
# many).
#
# Output: OUT/set (the images, hard links into OUT/cand), OUT/devset.tsv
# (every candidate: name, kind, kept or why dropped, PDQ quality, how it was
# made), OUT/debs (the packages; their versions in OUT/devset.tsv).
# Needs: BUILD/phmatch (default build), ImageMagick's convert, apt-get and
# dpkg-deb (or the .debs in OUT/debs). About 2 minutes on one core and 360 MB
# of disk, 135 MB of it the packages.
set -eu
export LC_ALL=C # the same order and names everywhere
usage="usage: bench/devset.sh OUT [PHOTO_DIR...]"
[ $# -ge 1 ] || { echo "$usage" >&2; exit 2; }
case $1 in -h | --help) echo "$usage"; exit 0 ;; -*) echo "$usage" >&2; exit 2 ;; esac
die() { echo "devset: $*" >&2; exit 1; }
here=$(pwd)
out=$1
shift
cd "$(dirname "$0")/.."
root=$(pwd)
case ${BUILD:-build} in
/*) phmatch=$BUILD/phmatch ;;
*) phmatch=$root/${BUILD:-build}/phmatch ;;
esac
[ -x "$phmatch" ] || die "no '$phmatch': run 'make all' first"
command -v convert >/dev/null 2>&1 || die "ImageMagick's convert not found (apt-get install imagemagick)"
ngen=${DEVSET_GEN:-49}
nbusy=${DEVSET_BUSY:-99}
maxd=${DEVSET_DISTANCE:-70}
for v in "$ngen" "$nbusy" "$maxd"; do
    case $v in '' | *[!0-9]*) die "DEVSET_GEN, DEVSET_BUSY and DEVSET_DISTANCE must be numbers" ;; esac
done
case $out in /*) ;; *) out=$here/$out ;; esac
[ $# -gt 0 ] || set -- "$root/data"
for p in "$@"; do
    case $p in /*) ;; *) p=$here/$p ;; esac
    [ -d "$p" ] || die "no such directory: '$p'"
done

rm -rf "$out/cand" "$out/set" "$out/work"
mkdir -p "$out/cand" "$out/set" "$out/work" "$out/debs"
cand=$out/cand
work=$out/work
recipes=$work/recipes.tsv # name, kind, source or recipe; candidates in order
: >"$recipes"

# --- P: photos, named by their order and base name ---
i=0
for p in "$@"; do
    case $p in /*) ;; *) p=$here/$p ;; esac
    find "$p" -type f | grep -iE '\.(jpe?g|png|webp)$' | LC_ALL=C sort || true
done >"$work/photos.list"
while IFS= read -r f; do
    i=$((i + 1))
    b=$(basename "$f" | tr -c 'A-Za-z0-9.\n-' '_')
    n=$(printf 'P%03d-%s' "$i" "$b")
    cp "$f" "$cand/$n"
    printf '%s\tphoto\t%s\n' "$n" "$f" >>"$recipes"
done <"$work/photos.list"
[ "$i" -gt 0 ] || echo "devset: no photos (jpg, png, webp) under $*" >&2

# --- W: wallpapers (DEVSET_WALLPAPERS=0: none, for a set of photos only) ---
pkgs="plasma-workspace-wallpapers gnome-backgrounds desktop-base"
[ "${DEVSET_WALLPAPERS:-1}" != 0 ] || pkgs=
debs=$out/debs
rm -rf "$debs/root"
# shellcheck disable=SC2086 # the package names, split
[ -z "$pkgs" ] || sh "$root/bench/debs.sh" "$debs" "$debs/root" $pkgs || exit 1
wp=$debs/root/usr/share
[ -z "$pkgs" ] || {
    # Plasma: one directory a wallpaper (links to desktop-base's themes are
    # those themes, taken below); the size nearest 1920x1080.
    for w in "$wp"/wallpapers/*/; do
        [ -L "${w%/}" ] && continue
        find "$w/contents/images/" -maxdepth 1 -name '*x*.*' 2>/dev/null | sed 's|.*/||' | sed -n 's/^\([0-9]*\)x\([0-9]*\)\.\(jpg\|png\)$/\1 \2 &/p' |
            awk -v d="$w/contents/images/" '{ c = ($1 > 1920 ? $1 - 1920 : 1920 - $1) + ($2 > 1080 ? $2 - 1080 : 1080 - $2)
                print c "\t" d $3 }' | LC_ALL=C sort -n | head -n 1 | cut -f 2
    done
    # GNOME: one of each light/dark pair (the light one); WebP only.
    find "$wp/backgrounds/gnome" -name '*.webp' ! -name '*-d.webp' | sort
    # desktop-base: each theme's 16:9 GRUB background (its wallpaper as a PNG).
    find "$wp"/desktop-base/*-theme/grub -name grub-16x9.png | sort
} | sed 's|//*|/|g' >"$work/walls.list"
[ -n "$pkgs" ] || : >"$work/walls.list"
i=0
while IFS= read -r f; do
    i=$((i + 1))
    rel=${f#"$wp"/}
    b=$(printf '%s' "$rel" | sed 's|^wallpapers/\([^/]*\)/.*|\1|; s|^backgrounds/gnome/||; s|^desktop-base/\([^/]*\)-theme/.*|\1|; s|\.[a-z]*$||')
    n=$(printf 'W%03d-%s.%s' "$i" "$b" "${f##*.}")
    cp "$f" "$cand/$n"
    printf '%s\twallpaper\t%s\n' "$n" "$rel" >>"$recipes"
done <"$work/walls.list"
[ "$i" -gt 0 ] || [ -z "$pkgs" ] || die "no wallpapers found in the packages ($debs)"

# --- G and B: generated, each candidate from its own seed ---
r=1
rnd() { # rnd N: v = a number in 0..N-1 from the state r
    r=$(((r * 1103515245 + 12345) % 2147483648))
    v=$(((r / 65536) % $1))
}
# A dark and a light colour: the luma contrast keeps fine textures over
# PDQ's quality gate at these sizes (a pair of mid greys would average out).
dark="navy black firebrick teal seagreen slateblue steelblue olive sienna maroon"
light="khaki gold orchid white tomato wheat darkorange plum lightcyan chartreuse"
colours() { # colours: c1 dark, c2 light, or the other way round
    rnd 10; c1=$(echo "$dark" | cut -d ' ' -f $((v + 1)))
    rnd 10; c2=$(echo "$light" | cut -d ' ' -f $((v + 1)))
    rnd 2; [ "$v" -eq 0 ] || { c=$c1 c1=$c2 c2=$c; }
}
colour() { # colour: c = any of them
    rnd 20
    c=$(echo "$dark $light" | cut -d ' ' -f $((v + 1)))
}
size() { # w x h: 480-1119 by 360-839
    rnd 640; w=$((480 + v))
    rnd 480; h=$((360 + v))
}
make_one() { # NAME KIND ARGS...: convert ARGS NAME, recipe recorded
    n=$1 kind=$2
    shift 2
    # -type TrueColor: a picture coloured after grey noise is otherwise
    # written as a grey JPEG. No date chunks: the same PNG every run.
    convert "$@" -type TrueColor -define png:exclude-chunks=date,time "$cand/$n" 2>"$work/convert.log" || die "convert failed for $n: $(head -c 300 "$work/convert.log")"
    printf '%s\t%s\tconvert %s -type TrueColor\n' "$n" "$kind" "$*" >>"$recipes"
}
stripes() { # stripes P A D: a sinusoid of period P/10 pixels at angle A, on a DxD square
    echo "-size ${3}x$3 gradient: -function Sinusoid $(awk -v d="$3" -v p="$1" 'BEGIN { printf "%.3f", d * 10 / p }'),$((r % 360)) -distort SRT $2"
}

s=1
while [ "$s" -le $((ngen * 8 / 5)) ]; do
    r=$((s * 7919 + 1)) && size && colours
    case $((s % 4)) in
    # Gradients: one to three bands (a single linear ramp is flat to PDQ
    # unless black to white and diagonal: steps under 2.55 grey levels at
    # 64 x 64 count for nothing in its quality).
    1) rnd 180; a=$v; rnd 3
        make_one "$(printf 'G%03d-gradient.png' "$s")" graphic -size "${w}x$h" \
            -define gradient:angle="$a" gradient:black-white -function Sinusoid "$((v + 1)),$((s * 37 % 360))" \
            +level-colors "$c1,$c2" ;;
    2) rnd "$w"; x=$v; rnd "$h"; y=$v; rnd 3
        make_one "$(printf 'G%03d-radial.png' "$s")" graphic -size "${w}x$h" \
            -define gradient:center="$x,$y" -define gradient:radii="$((w / 2)),$((h / 2))" radial-gradient:black-white \
            -function Sinusoid "$((v + 1)),$((s * 37 % 360))" +level-colors "$c1,$c2" ;;
    3) draw="" k=0
        rnd 5; nshape=$((3 + v))
        while [ "$k" -lt "$nshape" ]; do
            colour; rnd "$w"; x=$v; rnd "$h"; y=$v; rnd $((h / 3)); z=$((20 + v))
            case $((k % 3)) in
            0) draw="$draw -fill $c -draw \"circle $x,$y $((x + z)),$y\"" ;;
            1) draw="$draw -fill $c -draw \"rectangle $x,$y $((x + z * 2)),$((y + z))\"" ;;
            2) draw="$draw -fill $c -draw \"polygon $x,$y $((x + z)),$((y + z * 2)) $((x - z)),$((y + z))\"" ;;
            esac
            k=$((k + 1))
        done
        eval "make_one \"\$(printf 'G%03d-shapes.png' \"\$s\")\" graphic -size ${w}x$h xc:$c1 $draw -blur 0x$((s % 3))" ;;
    0) make_one "$(printf 'G%03d-plasma.png' "$s")" graphic -seed "$s" -size "${w}x$h" "plasma:$c1-$c2" -blur "0x$((s % 5))" ;;
    esac
    s=$((s + 1))
done

s=1
while [ "$s" -le $((nbusy * 7 / 5)) ]; do
    r=$((s * 104729 + 3)) && size && colours
    # One size range for every kind, as the lost set: most stripes and
    # fabrics are then flat to PDQ (its box filter, 1/128 of the side, takes
    # out a 2-8 pixel sinusoid), the others alias (docs/ROBUST.md).
    d=$(awk -v w="$w" -v h="$h" 'BEGIN { printf "%d", sqrt(w * w + h * h) + 2 }')
    crop="-gravity center -crop ${w}x$h+0+0 +repage"
    rnd 61; p=$((20 + v)) # period in tenths of a pixel: 2.0-8.0
    rnd 180; a=$v
    rnd 9; q=$((1 + v)) # noise strength
    n=$(printf 'B%03d' "$s")
    # shellcheck disable=SC2046,SC2086 # recipes: words
    case $((s % 6)) in
    1) make_one "$n-stripes.jpg" busy $(stripes "$p" "$a" "$d") $crop +level-colors "$c1,$c2" -quality 92 ;;
    2) rnd 7; k=$((2 + v))
        make_one "$n-checker.jpg" busy -seed "$s" -size 2x2 "xc:$c1" -fill "$c2" -draw "point 0,0" \
            -draw "point 1,1" -scale "$((2 * k))x$((2 * k))" -write mpr:t +delete -size "${w}x$h" tile:mpr:t \
            -attenuate "$q" +noise Gaussian -quality 92 ;;
    3) rnd 20
        make_one "$n-sand.jpg" busy -seed "$s" -size "${w}x$h" xc: +noise Random -colorspace gray \
            -blur "0x$(((5 + v) / 10)).$(((5 + v) % 10))" -normalize -colorspace sRGB +level-colors "$c1,$c2" -quality 92 ;;
    4) rnd 20
        make_one "$n-grass.jpg" busy -seed "$s" -size "${w}x$h" xc: +noise Random -colorspace gray \
            -motion-blur "0x$((4 + v))+$a" -normalize -colorspace sRGB +level-colors "$c1,$c2" -quality 92 ;;
    5) rnd 61; p2=$((20 + v)); rnd 180
        make_one "$n-fabric.jpg" busy \( $(stripes "$p" "$a" "$d") \) \( $(stripes "$p2" "$v" "$d") \) \
            -compose multiply -composite $crop +level-colors "$c1,$c2" -quality 92 ;;
    0) make_one "$n-plasma.jpg" busy -seed "$s" -size "${w}x$h" "plasma:$c1-$c2" \
            -attenuate "$q" +noise Gaussian -quality 92 ;;
    esac
    s=$((s + 1))
done

# --- Near-duplicates: greedy, in candidate order ---
cut -f 1 "$recipes" | sed "s|^|$cand/|" >"$work/cand.list"
"$phmatch" hash -q --no-progress -j 1 -T "$work/cand.list" >"$work/hash.tsv" ||
    die "phmatch hash failed on some candidates ($work/hash.tsv)"
"$phmatch" index create "$work/cand.db" >/dev/null
# A hash the importer refuses (a flat picture's, too few bits set) would
# stop bench/robustness.sh's import too: such a candidate is dropped.
rc=0
"$phmatch" index import --skip-bad --source devset "$work/cand.db" "$work/hash.tsv" >/dev/null 2>"$work/import.log" || rc=$?
[ "$rc" -le 1 ] || die "phmatch index import failed ($work/import.log)"
sed -n 's|^.*/hash\.tsv:\([0-9]*\): .*|\1|p' "$work/import.log" | while IFS= read -r l; do
    sed -n "${l}p" "$work/hash.tsv" | cut -f 1
done >"$work/bad.list"
"$phmatch" match -q --no-progress -j 1 --dihedral --min-quality 0 --max-distance "$maxd" \
    --max-matches 100000 --index "$work/cand.db" -T "$work/cand.list" >"$work/near.tsv" ||
    die "phmatch match failed ($work/near.tsv)"
awk -F '\t' -v cand="$cand/" -v ngen="$ngen" -v nbusy="$nbusy" -v maxd="$maxd" '
    function base(p) { sub(".*/", "", p); return p }
    FILENAME == ARGV[1] { if (FNR == 1) { for (c = 1; c <= NF; c++) hc[$c] = c; next }
        q[base($hc["path"])] = $hc["quality"]; next }
    FILENAME == ARGV[2] { bad[base($0)] = 1; next }
    FILENAME == ARGV[3] { if (FNR == 1) { for (c = 1; c <= NF; c++) mc[$c] = c; next }
        a = base($mc["path"]); b = base($mc["id"]); d = $mc["distance"]
        if (a == b || b == "") next
        # near[a] and near[b]: the other, nearest distance kept
        if (!((a, b) in dist) || d < dist[a, b]) { dist[a, b] = d; dist[b, a] = d }
        nb[a] = nb[a] " " b; nb[b] = nb[b] " " a; next }
    { name = $1; kind = $2; order[++n] = name; kindof[name] = kind; how[name] = $3 }
    END {
        for (i = 1; i <= n; i++) {
            x = order[i]; why = ""; best = 999
            if (x in bad) why = "refused by index import (a flat picture)"
            k = split(nb[x], o, " ")
            for (j = 1; j <= k; j++)
                if (why !~ /^refused/ && (o[j] in kept) && dist[x, o[j]] < best) { best = dist[x, o[j]]; why = "near " o[j] " (" best " bits)" }
            if (why == "" && kindof[x] == "graphic" && ng >= ngen) why = "over the count"
            if (why == "" && kindof[x] == "busy" && nbz >= nbusy) why = "over the count"
            if (why == "") { kept[x] = 1; why = "kept"; ng += kindof[x] == "graphic"; nbz += kindof[x] == "busy" }
            printf "%s\t%s\t%s\t%s\t%s\n", x, kindof[x], why, (x in q) ? q[x] : "", how[x]
        }
    }' "$work/hash.tsv" "$work/bad.list" "$work/near.tsv" "$recipes" >"$work/devset.tsv"
{
    printf 'name\tkind\tstatus\tquality\tsource\n'
    cat "$work/devset.tsv"
    for pkg in $pkgs; do
        for d in "$debs/${pkg}_"*.deb; do printf '#\tpackage\t%s\t\t\n' "$(basename "$d")"; done
    done
} >"$out/devset.tsv"
awk -F '\t' '$3 == "kept" { print $1 }' "$work/devset.tsv" | while IFS= read -r n; do
    ln "$cand/$n" "$out/set/$n" 2>/dev/null || cp "$cand/$n" "$out/set/$n"
done
awk -F '\t' '$3 == "kept" { k[$2]++ } $3 ~ /^near/ { d[$2]++ } $4 != "" && $4 < 50 && $3 == "kept" { lq++ }
    END { printf "devset: kept"; for (x in k) printf " %d %s,", k[x], x
          printf " dropped as near-duplicates:"; for (x in d) printf " %d %s", d[x], x
          printf "; %d of quality < 50\n", lq }' "$work/devset.tsv"
for kind in graphic busy; do
    want=$ngen
    [ "$kind" = graphic ] || want=$nbusy
    got=$(awk -F '\t' -v k="$kind" '$2 == k && $3 == "kept"' "$work/devset.tsv" | wc -l)
    [ "$got" -ge "$want" ] || echo "devset: only $got $kind images of $want survive the near-duplicate drop" >&2
done
rm -rf "$debs/root"
echo "devset: $(find "$out/set" -type f | wc -l) images in $out/set; every candidate in $out/devset.tsv"

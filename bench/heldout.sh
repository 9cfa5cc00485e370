#!/bin/sh
# bench/heldout.sh OUT - a benign set of photos and graphics for
# bench/robustness.sh OUT/set that no rule of issue 15 was tuned on
# (docs/ROBUST.md, "A set nothing was tuned on"): the dev sets hold
# textures made to be hard, this one what users meet.
#
#   photos    every JPEG and PNG of Debian's mate-backgrounds,
#             ukui-wallpapers, lomiri-wallpapers, lomiri-wallpapers-20.04 and
#             sway-backgrounds (wallpapers: landscapes, animals, abstract
#             art), and 17 of scikit-image's sample pictures (python3-skimage:
#             astronaut, coffee, a cat, coins, a rocket, a page of text, a
#             logo...; its stereo pair and two textures left out);
#   graphics  HELDOUT_CLIPART (80) of openclipart-png, every 45th from the
#             40th (bench/clipart.sh OUT/clip 40: an offset no other sample
#             uses), flattened on white.
# HELDOUT_SET=2 makes a second such set, of pictures neither the dev sets nor
# set 1 hold (for checking rules chosen after set 1 was looked at; docs/
# ROBUST.md, "Letterboxes of small and canvas pictures"):
#   photos    every JPEG and PNG of at least 100 pixels a side of Debian's
#             lomiri-wallpapers-16.04 (photos), debian-edu-artwork-buster,
#             -emerald, -homeworld, -softwaves and -spacefun (boot screens,
#             logos on a plain ground) and mypaint-data-extras (paper and
#             canvas textures), flattened on white;
#   graphics  HELDOUT_CLIPART (100 here) of openclipart-png, every 45th from
#             the 20th (no other sample's offset).
# Packages are fetched with `apt-get download` into OUT/debs (nothing
# installed; .debs already there are used as they are) and unpacked with
# `dpkg-deb -x`. Then bench/devset.sh (DEVSET_GEN=0 DEVSET_BUSY=0
# DEVSET_WALLPAPERS=0) drops every picture within 70 bits of an earlier one
# in any orientation (the same wallpaper in several sizes) and those the
# import refuses, into OUT/set; OUT/devset.tsv says why for each.
# Needs BUILD/phmatch, ImageMagick's convert, apt-get and dpkg-deb; about
# 300 MB of disk (230 MB the packages) and 2 minutes.
set -eu
export LC_ALL=C
usage="usage: bench/heldout.sh OUT"
[ $# -eq 1 ] || { echo "$usage" >&2; exit 2; }
case $1 in -h | --help) echo "$usage"; exit 0 ;; -*) echo "$usage" >&2; exit 2 ;; esac
die() { echo "heldout: $*" >&2; exit 1; }
out=$1
case $out in /*) ;; *) out=$(pwd)/$out ;; esac
cd "$(dirname "$0")/.."
hset=${HELDOUT_SET:-1}
case $hset in 1) nclip=${HELDOUT_CLIPART:-80} off=40 ;; 2) nclip=${HELDOUT_CLIPART:-100} off=20 ;;
*) die "HELDOUT_SET must be 1 or 2" ;; esac
case $nclip in '' | *[!0-9]*) die "HELDOUT_CLIPART must be a number" ;; esac

root=$out/root
rm -rf "$root" "$out/photos"
mkdir -p "$out/photos"
if [ "$hset" = 2 ]; then
    sh bench/debs.sh "$out/debs" "$root" lomiri-wallpapers-16.04 debian-edu-artwork-buster \
        debian-edu-artwork-emerald debian-edu-artwork-homeworld debian-edu-artwork-softwaves \
        debian-edu-artwork-spacefun mypaint-data-extras || exit 1
    # Named by their path under usr/share: the five themes share file names.
    find "$root/usr/share" -type f | grep -iE '\.(jpe?g|png)$' | sort |
        while IFS= read -r f; do
            # a password dot or an 800x75 banner is no picture anyone shares
            wh=$(identify -format '%w %h' "$f[0]" 2>/dev/null) || continue
            set -- $wh
            [ "$1" -ge 100 ] && [ "$2" -ge 100 ] || continue
            rel=$(printf '%s' "${f#"$root/usr/share/"}" | tr -c 'A-Za-z0-9.\n-' '_')
            case $f in
            *.png | *.PNG) convert "$f" -background white -alpha remove -alpha off "$out/photos/W-$rel" ;;
            *) cp "$f" "$out/photos/W-$rel" ;;
            esac || die "cannot copy '$f'"
        done
else
    sh bench/debs.sh "$out/debs" "$root" mate-backgrounds ukui-wallpapers lomiri-wallpapers \
        lomiri-wallpapers-20.04 sway-backgrounds python3-skimage || exit 1
    # Wallpapers keep their package's path in the name: wallpapers of two
    # packages share names (a 'Stripes.jpg' here and there).
    find "$root/usr/share/backgrounds" -type f | grep -iE '\.(jpe?g|png)$' | sort |
        while IFS= read -r f; do
            rel=${f#"$root/usr/share/backgrounds/"}
            cp "$f" "$out/photos/W-$(printf '%s' "$rel" | tr -c 'A-Za-z0-9.\n-' '_')"
        done
    sk=$(find "$root" -type d -path '*/skimage/data' | head -n 1)
    [ -n "$sk" ] || die "no skimage/data in python3-skimage ($out/debs)"
    for n in astronaut camera cell chelsea clock_motion coffee coins color hubble_deep_field \
        ihc logo moon motorcycle_left page retina rocket text; do
        f=$(find "$sk" -maxdepth 1 -name "$n.*" | head -n 1)
        [ -n "$f" ] || die "no '$n' picture in $sk"
        # as a viewer shows it: some carry an alpha channel
        convert "$f" -background white -alpha remove -alpha off -quality 92 "$out/photos/S-$n.jpg" 2>/dev/null ||
            die "convert failed on '$f'"
    done
fi
CLIPART_N=$nclip sh bench/clipart.sh "$out/clip" $off >/dev/null
for f in "$out/clip/sample-$off"/*.png; do
    cp "$f" "$out/photos/C-$(basename "$f")"
done
rm -rf "$root"
DEVSET_GEN=0 DEVSET_BUSY=0 DEVSET_WALLPAPERS=0 sh bench/devset.sh "$out" "$out/photos" |
    sed 's/^devset:/heldout:/'

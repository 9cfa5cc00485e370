#!/bin/sh
# tools/mkdemodata.sh [BUILD_DIR] - regenerates the demo's data/known/ and
# data/queries/ (committed, so `make demo` needs no generation step).
#
# data/known/: four photos of the PDQ reference's test set, shrunk to at
# most 640 pixels a side and re-encoded (JPEG quality 85), the "known
# material" the demo's index holds. data/queries/: what a matcher meets in
# practice, made from them by tools/mkqueries (half size, JPEG quality 20,
# 1 % cropped on every side, rotated 90 degrees, mirrored), plus two
# unrelated photos that must not match. Deterministic: the same
# libjpeg-turbo writes the same bytes. Review the diff before committing.
set -eu
cd "$(dirname "$0")/.."
build=${1:-build}
mkq=$build/tools/mkqueries
[ -x "$mkq" ] || { echo "mkdemodata: no $mkq: run 'make BUILD=$build tools'" >&2; exit 1; }
img=tests/data/pdq/images
tmp=$(mktemp -d "${TMPDIR:-/tmp}/mkdemodata.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

# Known: name <- source.
mkdir -p "$tmp/src"
cp "$img/bridge-mods/aaa-orig.jpg" "$tmp/src/bridge.jpg"
cp "$img/reg-test-input/pen-and-coaster.png" "$tmp/src/pen-and-coaster.png"
cp "$img/reg-test-input/exif-rotn/exif-rotn-1.jpg" "$tmp/src/phone.jpg"
cp "$img/misc-images/c.png" "$tmp/src/misc-c.png"
rm -rf data/known data/queries
"$mkq" -m 640 -t same data/known "$tmp"/src/*
"$mkq" data/queries data/known/*.jpg
# Unrelated photos: in no list, they must match nothing.
cp data/photos/labelme-q1050.jpg data/queries/unrelated-q1050.jpg
cp data/photos/labelme-q2821.jpg data/queries/unrelated-q2821.jpg
chmod 644 data/known/* data/queries/*
du -sh data/known data/queries

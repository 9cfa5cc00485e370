#!/bin/sh
# make demo: hash the sample photos in data/ and show the result.
set -eu
build=${1:-build}
cd "$(dirname "$0")/.."
phmatch="$build/phmatch"

echo "== $("$phmatch" --version | head -n 1), $("$phmatch" --version | grep '^simd')"
echo "== phmatch hash data/photos   (PDQ, full mode: one record per image)"
echo
"$phmatch" hash -q data/photos |
    awk -F '\t' '{ printf "%-30s %-7s %-5s %5s %5s  %s %s\n", $1, $2, $4, $5, $6, $8, $9 }'
echo
echo "== data/photos/bridge.jpg as the reference command-line hasher prints it (--mode cli512)"
"$phmatch" hash -q --format pdq --mode cli512 data/photos/bridge.jpg

#!/bin/sh
# mkfixtures.sh OLDTREE OUTDIR - makes the legacy index fixtures of
# tests/data/index/ with the LAST format-4 build (README.md there):
#     git worktree add --detach /tmp/old 798ea6a && make -C /tmp/old -j2
#     sh tests/data/index/mkfixtures.sh /tmp/old tests/data/index
# For each of v2, v3, v4: vN.phmi.gz, and the old build's listings of it,
# the reference an upgraded file must give again: vN.export.jsonl (index
# export -f jsonl), vN.sources.jsonl, vN.disabled.jsonl,
# vN.quarantine.jsonl, vN.stats (the counters that must not change).
set -eu
old=$1
out=$2
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../../.." && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cc -std=c11 -D_DEFAULT_SOURCE -O1 -I"$old/include" -o "$tmp/mkfixture" "$here/mkfixture.c" \
    "$old/build/libphmatch.a" -fopenmp -lturbojpeg -ljpeg -lpng16 -lwebpdemux -lwebp \
    -llmdb -lcrypto -ljansson -lgif -lm -ldl -pthread
P=$old/build/phmatch
for v in 4 3 2; do
    db=$tmp/v$v.phmi
    if [ "$v" = 4 ]; then
        # a real image with stored variants, a real video's vPDQ file
        "$P" index create "$db" >/dev/null
        (cd "$repo" && "$P" index add --images --augment --source augmented \
            --category K "$db" data/known/bridge.jpg) >/dev/null 2>&1
        head -n 12 "$repo/tests/data/vpdq/expected/chair-19-sd-bar-128x128.txt" \
            > "$tmp/chair-19.txt"
        "$P" index import --source videos --id chair-19 "$db" "$tmp/chair-19.txt" >/dev/null
    fi
    "$tmp/mkfixture" "$db" "$v"
    "$P" index export --format jsonl "$db" > "$out/v$v.export.jsonl"
    "$P" index source show --format jsonl "$db" > "$out/v$v.sources.jsonl"
    "$P" index disabled --format jsonl "$db" > "$out/v$v.disabled.jsonl"
    "$P" index quarantine --format jsonl "$db" > "$out/v$v.quarantine.jsonl"
    "$P" index stats "$db" | grep -E '^(format_version|entries|pdq_entries|video_entries|video_frames|video_hashes|variant_entries|variant_hashes|digests|sources|created)	' \
        > "$out/v$v.stats"
    gzip -9n < "$db" > "$out/v$v.phmi.gz"
done

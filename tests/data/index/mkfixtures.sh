#!/bin/sh
# mkfixtures.sh OLDTREE OUTDIR [VERSION...] - makes the legacy index
# fixtures of tests/data/index/ with the LAST build of a format (README.md
# there). Formats 2, 3, 4 (the default) from the last format-4 build:
#     git worktree add --detach /tmp/old 798ea6a && make -C /tmp/old -j2
#     sh tests/data/index/mkfixtures.sh /tmp/old tests/data/index
# format 5 (v5 and v5seg, whose base has several 'H' segments) from the
# last format-5 build:
#     git worktree add --detach /tmp/old5 0cca3ca && make -C /tmp/old5 -j2
#     sh tests/data/index/mkfixtures.sh /tmp/old5 tests/data/index 5 5seg
# For each: vN.phmi.gz, and the old build's listings of it,
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
shift 2
[ $# -gt 0 ] || set -- 4 3 2
for v in "$@"; do
    db=$tmp/v$v.phmi
    if [ "$v" = 4 ] || [ "$v" = 5 ]; then
        # a real image with stored variants, a real video's vPDQ file
        "$P" index create "$db" >/dev/null
        (cd "$repo" && "$P" index add --images --augment --source augmented \
            --category K "$db" data/known/bridge.jpg) >/dev/null 2>&1
        head -n 12 "$repo/tests/data/vpdq/expected/chair-19-sd-bar-128x128.txt" \
            > "$tmp/chair-19.txt"
        "$P" index import --source videos --id chair-19 "$db" "$tmp/chair-19.txt" >/dev/null
    fi
    if [ "$v" = 5seg ]; then
        PHM_INDEX_TEST_HSEG=128 "$tmp/mkfixture" "$db" "$v"
    else
        "$tmp/mkfixture" "$db" "$v"
    fi
    "$P" index export --format jsonl "$db" > "$out/v$v.export.jsonl"
    "$P" index source show --format jsonl "$db" > "$out/v$v.sources.jsonl"
    "$P" index disabled --format jsonl "$db" > "$out/v$v.disabled.jsonl"
    "$P" index quarantine --format jsonl "$db" > "$out/v$v.quarantine.jsonl"
    "$P" index stats "$db" | grep -E '^(format_version|entries|pdq_entries|video_entries|video_frames|video_hashes|variant_entries|variant_hashes|digests|sources|created)	' \
        > "$out/v$v.stats"
    gzip -9n < "$db" > "$out/v$v.phmi.gz"
done

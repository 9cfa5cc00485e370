#!/bin/sh
# shard.sh - `--shard I/N` and `phmatch merge`: the N shares of a run hold
# each input once, chosen by the documented hash of its path under its
# root (checked against an independent python implementation); adding a
# file moves no other; the shards merged give the unsharded run's output
# byte for byte, in every format, killed and resumed shards too; bad
# specifications and inconsistent shards are refused.
. "$(dirname "$0")/lib.sh"
t_need_phmatch
export LC_ALL=C

IN=$T/in
mkdir -p "$IN/v" "$IN/a b"
cp -r "$IMAGES/bridge-mods" "$IMAGES/reg-test-input" "$IN/"
# One of the four 12-megapixel EXIF photos is enough here: what is tested
# is which share a path falls in and the merged records, not the decoding
# (test_golden hashes all four); the other three were a third of each of
# the 40 runs' time (two thirds under ASan).
rm "$IN/reg-test-input/exif-rotn/exif-rotn-3.jpg" "$IN/reg-test-input/exif-rotn/exif-rotn-6.jpg" \
    "$IN/reg-test-input/exif-rotn/exif-rotn-8.jpg"
# A small run (T_SMALL) has a 128 x 128 copy of the bridge in place of
# each image over 100 kB but the bridge's original (15 of 35 inputs): the
# same paths, so the same shares, record kinds and checks; the same lines
# and branches of src/cli/ reached.
if [ "$T_SMALL" = 1 ]; then
    find "$IN" -type f ! -name aaa-orig.jpg -size +100k \
        -exec cp "$IMAGES/bridge-mods/square-128x128.jpg" {} \;
fi
cp "$IMAGES/informational/"* "$IN/a b/"
video=0
if t_have ffmpeg; then
    ff() { ffmpeg -nostdin -v error -y "$@"; }
    ff -f lavfi -i testsrc=size=160x120:rate=25 -t 3 -c:v libx264 \
        -preset ultrafast -pix_fmt yuv420p "$IN/v/a.mp4" &&
        ff -f lavfi -i mandelbrot=size=160x120:rate=25 -t 2 -c:v libx264 \
            -preset ultrafast -pix_fmt yuv420p "$IN/v.mp4" && video=1
fi
printf 'not an image' >"$IN/v/broken.jpg" # an error record
# Its "cannot hash" message on every run: the test's stderr is kept apart.
exec 2>>"$T/stderr"

DB=$T/k.phmi
"$PHMATCH" index create "$DB" >/dev/null
"$PHMATCH" hash -q -f pdq "$IMAGES/bridge-mods" |
    "$PHMATCH" index import --source t "$DB" - >/dev/null

# paths FILE - the paths of a tsv output, header left out, sorted.
paths() {
    tail -n +2 "$1" | cut -f1 | sort -u
}

# 1. The shares: each input in exactly one, the one the hash says.
"$PHMATCH" hash -q -o "$T/all.tsv" "$IN"
for i in 1 2 3; do
    "$PHMATCH" hash -q --shard "$i/3" -o "$T/s$i.tsv" "$IN"
done
for i in 1 2 3; do paths "$T/s$i.tsv"; done | sort >"$T/union"
t_ok "--shard I/3: every input in exactly one share" \
    cmp -s "$T/union" "$(paths "$T/all.tsv" >"$T/all.p"; echo "$T/all.p")"
t_ok "... no share empty" test "$(paths "$T/s1.tsv" | wc -l)" -gt 0 -a \
    "$(paths "$T/s2.tsv" | wc -l)" -gt 0 -a "$(paths "$T/s3.tsv" | wc -l)" -gt 0
if t_python; then
    for i in 1 2 3; do paths "$T/s$i.tsv" | sed "s|^|$i	|"; done >"$T/got"
    python3 - "$IN/" "$T/got" >"$T/py.out" <<'EOF'
import sys
root, got = sys.argv[1].encode(), sys.argv[2]
def shard(rel, n):
    # FNV-1a 64, then MurmurHash3's fmix64, modulo n (inputs.h)
    h = 0xcbf29ce484222325
    for b in rel:
        h = ((h ^ b) * 0x100000001b3) & 0xFFFFFFFFFFFFFFFF
    h ^= h >> 33
    h = (h * 0xff51afd7ed558ccd) & 0xFFFFFFFFFFFFFFFF
    h ^= h >> 33
    h = (h * 0xc4ceb9fe1a85ec53) & 0xFFFFFFFFFFFFFFFF
    h ^= h >> 33
    return h % n
bad = 0
for line in open(got, 'rb'):
    i, path = line.rstrip(b'\n').split(b'\t', 1)
    rel = path[len(root):]
    if shard(rel, 3) + 1 != int(i):
        bad += 1
        print(path, i, shard(rel, 3) + 1)
print("bad", bad)
EOF
    t_is "the share of each input is FNV-1a+fmix64 of its path under the root, mod N" \
        "$(tail -n 1 "$T/py.out")" "bad 0"
else
    t_skip "the share of each input is the documented hash" "no python3"
fi

# The path under its root decides, not the root: the same tree elsewhere,
# named with a trailing slash, splits alike.
mkdir -p "$T/elsewhere"
cp -r "$IN" "$T/elsewhere/copy"
"$PHMATCH" hash -q --shard 2/3 -o "$T/e2.tsv" "$T/elsewhere/copy/"
t_is "the same tree under another root: the same share" \
    "$(paths "$T/e2.tsv" | sed "s|^$T/elsewhere/copy/||")" \
    "$(paths "$T/s2.tsv" | sed "s|^$IN/||")"

# Adding files moves no other file between shares.
cp "$IMAGES/misc-images/c.png" "$IN/bridge-mods/zz-new.png"
cp "$IMAGES/misc-images/wee.jpg" "$IN/aa-new.jpg"
moved=0
for i in 1 2 3; do
    "$PHMATCH" hash -q --shard "$i/3" -o "$T/n$i.tsv" "$IN"
    paths "$T/n$i.tsv" | grep -v -e zz-new -e aa-new >"$T/n$i.p"
    paths "$T/s$i.tsv" | cmp -s - "$T/n$i.p" || moved=$((moved + 1))
done
t_is "two files added: no other file changed share" "$moved" 0
rm "$IN/bridge-mods/zz-new.png" "$IN/aa-new.jpg"

# 2. merge: the unsharded run's bytes and summary, every format, shards
# given in any order.
summary() {
    grep '^phmatch: [0-9]* files' "$1" | sed 's/; [0-9.]* s, .*//; s/; merged in .*//; s/(quality < 50)/(low quality)/'
}
for cmd in hash match; do
    for fmt in tsv csv jsonl pdq; do
        [ "$cmd" = match ] && [ "$fmt" = pdq ] && continue
        if [ "$cmd" = hash ]; then
            set -- hash -j2 --digest md5 -f "$fmt"
        else
            set -- match -j2 -i "$DB" -f "$fmt"
        fi
        "$PHMATCH" "$@" -o "$T/full" "$IN" 2>"$T/full.err"
        for i in 1 2 3 4; do
            "$PHMATCH" "$@" --shard "$i/4" -o "$T/p$i" "$IN" 2>/dev/null
        done
        "$PHMATCH" merge -o "$T/merged" "$T/p3" "$T/p1" "$T/p4" "$T/p2" \
            2>"$T/merge.err"
        rc=$?
        t_ok "$cmd -f $fmt: 4 shards merged (exit $rc) equal the unsharded run" \
            cmp -s "$T/merged" "$T/full"
        if [ "$fmt" = pdq ]; then
            # pdq omits the failed input: the summary cannot count it.
            t_is "... the summary counts what pdq lines hold" \
                "$(summary "$T/merge.err")" \
                "$(summary "$T/full.err" | sed 's/ 1 failed/ 0 failed/; s/: \([0-9]*\) files: \([0-9]*\) hashed/: F files: \2 hashed/' |
                    sed "s/F files/$(($(summary "$T/full.err" | sed 's/phmatch: \([0-9]*\) files.*/\1/') - 1)) files/")"
        else
            t_is "... with the unsharded run's summary" \
                "$(summary "$T/merge.err")" "$(summary "$T/full.err")"
        fi
    done
done
"$PHMATCH" merge "$T/p1" "$T/p2" "$T/p3" "$T/p4" >"$T/stdout" 2>/dev/null
t_ok "merge to standard output" cmp -s "$T/stdout" "$T/full"
"$PHMATCH" hash -q --no-header -f csv -o "$T/full" "$IN"
for i in 1 2; do
    "$PHMATCH" hash -q --no-header -f csv --shard "$i/2" -o "$T/h$i" "$IN"
done
"$PHMATCH" merge -q -f csv -o "$T/merged" "$T/h2" "$T/h1"
t_ok "csv without header (-f csv): merged equal" cmp -s "$T/merged" "$T/full"

# Shards killed with kill -9 and resumed, then merged.
"$PHMATCH" hash -q -f jsonl -o "$T/full" "$IN"
bad=""
for i in 1 2 3; do
    "$PHMATCH" hash -q -j1 -f jsonl --shard "$i/3" --resume -o "$T/k$i" "$IN" &
    pid=$!
    sleep 0.1
    kill -9 "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
    "$PHMATCH" hash -q -f jsonl --shard "$i/3" --resume -o "$T/k$i" "$IN"
    [ $? -le 1 ] || bad="$bad $i" # 1: broken.jpg
done
"$PHMATCH" merge -q -o "$T/merged" "$T/k1" "$T/k2" "$T/k3" || bad="$bad merge"
t_is "shards killed, resumed (--shard --resume), merged: equal" \
    "${bad:-none} $(cmp -s "$T/merged" "$T/full" && echo same)" "none same"

# 3. Refused.
for spec in 0/3 4/3 1/0 3 x/2 1/2x -1/2 2/1000001; do
    "$PHMATCH" hash -q --shard "$spec" -o "$T/x" "$IN" 2>"$T/err"
    rc=$?
    [ $rc = 2 ] || t_diag "--shard $spec: exit $rc"
    [ $rc = 2 ] || break
done
t_is "--shard 0/3 4/3 1/0 3 x/2 1/2x -1/2 2/1000001: usage errors (exit 2)" "$rc" 2
t_like "... saying what is expected" "$(cat "$T/err")" "expected I/N, 1 <= I <= N"
"$PHMATCH" hash -q --shard 1/2 -o "$T/a1" "$IN"
"$PHMATCH" hash -q --shard 1/2 -o "$T/a1b" "$IN"
"$PHMATCH" hash -q --shard 2/2 -o "$T/a2" "$IN"
rm -f "$T/out"
"$PHMATCH" merge -o "$T/out" "$T/a1" "$T/a2" "$T/a1b" 2>"$T/err"
t_is "the same share twice: exit 2" "$?" 2
t_like "... overlapping shards, named" "$(cat "$T/err")" "'$T/a1' and '$T/a1b' both hold '.*': overlapping shards"
t_ok "... OUT not written" test ! -e "$T/out"
"$PHMATCH" hash -q --shard 1/3 -o "$T/b1" "$IN"
"$PHMATCH" merge -o "$T/out" "$T/a1" "$T/b1" 2>"$T/err"
t_is "shards of different N: exit 2" "$?" 2
"$PHMATCH" hash -q --shard 2/2 -f csv -o "$T/c2" "$IN"
"$PHMATCH" merge -o "$T/out" "$T/a1" "$T/c2" 2>"$T/err"
t_is "tsv and csv shards: exit 2" "$?" 2
t_like "... not outputs of one run" "$(cat "$T/err")" "are not outputs of one run"
"$PHMATCH" hash -q --shard 2/2 --digest md5 -o "$T/d2" "$IN"
"$PHMATCH" merge -o "$T/out" "$T/a1" "$T/d2" 2>"$T/err"
t_is "shards with other columns: exit 2" "$?" 2
head -c 1500 "$T/a2" >"$T/cut"
"$PHMATCH" merge -o "$T/out" "$T/a1" "$T/cut" 2>"$T/err"
t_is "a shard cut short (interrupted): exit 2" "$?" 2
t_like "... finish it with --resume" "$(cat "$T/err")" "partial record .*--resume first"
{ head -n 2 "$T/a2"; echo "garbage"; } >"$T/bad"
"$PHMATCH" merge -o "$T/out" "$T/a1" "$T/bad" 2>"$T/err"
t_is "a corrupt shard: exit 2" "$?" 2
t_like "... the record named" "$(cat "$T/err")" "'$T/bad': record 2: not a tsv record"
"$PHMATCH" hash -q --shard 1/2 -o "$T/r1" "$IN/v" "$IN/bridge-mods"
"$PHMATCH" hash -q --shard 2/2 -o "$T/r2" "$IN/v" "$IN/bridge-mods"
"$PHMATCH" merge -o "$T/out" "$T/r1" "$T/r2" 2>"$T/err"
t_is "operands out of byte order (an order merge cannot restore): exit 2" "$?" 2
t_like "... says so" "$(cat "$T/err")" "comes before record .* in input order"
t_ok "... OUT still not written" test ! -e "$T/out"

t_done

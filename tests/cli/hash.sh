#!/bin/sh
# hash.sh - `phmatch hash`: golden hashes, formats, ordering, inputs,
# digests, exit codes and messages. The bad-input cases are in
# hash_badinput.sh. TAP on stdout.
. "$(dirname "$0")/lib.sh"

t_need_phmatch

# golden FILE MODE - "pdq,quality" from golden.csv.
golden() {
    awk -F, -v f="$1" -v m="$2" '$1 == f && $2 == m { print $5 "," $6 }' \
        "$GOLDEN"
}

# ------------------------------------------------------------------
# --version and help

out=$("$PHMATCH" --version)
t_like "--version names phmatch" "$out" '^phmatch [0-9]'
t_like "--version names libjpeg-turbo and libpng" "$out" 'libjpeg-turbo.*libpng'
t_like "--version names the SIMD level" "$out" \
    '^simd: \(portable\|avx2\|avx512\)'
out=$(PHMATCH_SIMD=portable "$PHMATCH" --version)
t_like "PHMATCH_SIMD=portable is honoured" "$out" '^simd: portable'
out=$(PHMATCH_SIMD=avx2 "$PHMATCH" --simd portable --version)
t_like "--simd overrides PHMATCH_SIMD" "$out" '^simd: portable'
out=$("$PHMATCH" hash --help)
t_like "hash --help shows usage" "$out" '^usage: phmatch hash'
out=$("$PHMATCH" help hash)
t_like "help hash shows usage" "$out" '^usage: phmatch hash'

# ------------------------------------------------------------------
# Golden hashes

set -- bridge-mods/aaa-orig.jpg misc-images/c.png misc-images/modes/CMYK.jpg \
    misc-images/modes/P.png misc-images/modes/LA.png misc-images/small.jpg \
    reg-test-input/pen-and-coaster.png
(cd "$ROOT/tests/data/pdq" && for f in "$@"; do echo "images/$f"; done) \
    >"$T/golden.list"
(cd "$ROOT/tests/data/pdq" &&
    "$PHMATCH" hash -q -j 2 -T "$T/golden.list") >"$T/golden.tsv"
t_is "golden images: exit 0" "$?" 0
bad=
for f in "$@"; do
    got=$(tsv_get "images/$f" pdq "$T/golden.tsv"),$(tsv_get "images/$f" quality "$T/golden.tsv")
    [ "$got" = "$(golden "images/$f" full)" ] || bad="$bad $f"
done
t_is "full-mode hash and quality equal golden.csv" "${bad:-none}" none

# pdq format in cli512 mode: byte for byte the reference CLI's lines.
(cd "$ROOT/tests/data/pdq" &&
    "$PHMATCH" hash -q -f pdq --mode cli512 -T "$T/golden.list") \
    >"$T/golden.pdq"
for f in "$@"; do
    echo "$(golden "images/$f" cli512),images/$f"
done >"$T/golden.expected"
t_ok "--format pdq --mode cli512 prints the reference's lines" \
    cmp -s "$T/golden.pdq" "$T/golden.expected"

# --dihedral: the seven other orientations of one image.
(cd "$ROOT/tests/data/pdq" &&
    "$PHMATCH" hash -q -d -f csv images/bridge-mods/aaa-orig.jpg) \
    >"$T/dih.csv"
got=$(awk -F, 'NR == 2 { print $11 "," $12 "," $13 "," $14 "," $15 "," $16 "," $17 }' "$T/dih.csv")
exp=$(awk -F, '$1 == "images/bridge-mods/aaa-orig.jpg" && $2 == "full" {
    print $7 "," $8 "," $9 "," $10 "," $11 "," $12 "," $13 }' "$GOLDEN")
t_is "--dihedral hashes equal golden.csv" "$got" "$exp"
t_is "--dihedral header names the orientations" \
    "$(head -n 1 "$T/dih.csv" | cut -d, -f11-17)" \
    "rot90,rot180,rot270,flipx,flipy,flipplus1,flipminus1"

# ------------------------------------------------------------------
# Order does not depend on the threads

"$PHMATCH" hash -q -j 1 "$IMAGES/bridge-mods" "$IMAGES/misc-images" \
    >"$T/j1.tsv"
"$PHMATCH" hash -q -j 2 "$IMAGES/bridge-mods" "$IMAGES/misc-images" \
    >"$T/j2.tsv"
"$PHMATCH" hash -q -j 2 --window 2 "$IMAGES/bridge-mods" \
    "$IMAGES/misc-images" >"$T/j2w.tsv"
t_ok "-j 2 output equals -j 1 output" cmp -s "$T/j1.tsv" "$T/j2.tsv"
t_ok "-j 2 --window 2 output equals -j 1 output" cmp -s "$T/j1.tsv" \
    "$T/j2w.tsv"
n=$(($(wc -l <"$T/j1.tsv") - 1))
t_is "one record per file" "$n" \
    "$(find "$IMAGES/bridge-mods" "$IMAGES/misc-images" -type f | wc -l)"
t_is "directory walk in sorted order" "$(tsv_col path "$T/j1.tsv")" \
    "$(tsv_col path "$T/j1.tsv" | LC_ALL=C sort)"

# Low quality is flagged, not dropped.
lq=$(awk -F '\t' 'NR > 1 && $2 == "ok" && $9 < 50 && $10 != "low_quality"' \
    "$T/j1.tsv")
t_is "every quality < 50 is flagged low_quality" "$lq" ""
t_like "low-quality images are output" "$(tsv_col flags "$T/j1.tsv")" \
    '^low_quality$'

# ------------------------------------------------------------------
# Formats, with awkward file names

mkdir "$T/names"
cp "$IMAGES/misc-images/wee.jpg" "$T/names/plain.jpg"
cp "$IMAGES/misc-images/wee.jpg" "$T/names/comma, \"quote\".jpg"
cp "$IMAGES/misc-images/wee.jpg" "$T/names/tab	newline
.jpg"
cp "$IMAGES/misc-images/wee.jpg" "$T/names/back\\slash.jpg"
cp "$IMAGES/misc-images/wee.jpg" "$T/names/$(printf 'ctl\001esc\033.jpg')"
cp "$IMAGES/misc-images/wee.jpg" "$T/names/$(printf 'latin1-\351.jpg')"
cp "$IMAGES/misc-images/wee.jpg" "$T/names/utf8-é.jpg"
nnames=7

"$PHMATCH" hash -q "$T/names" >"$T/names.tsv"
t_is "tsv: a header and one line per file, escapes keep lines whole" \
    "$(awk -F '\t' '{ print NF }' "$T/names.tsv" | sort -u)/$(wc -l <"$T/names.tsv")" \
    "16/$((nnames + 1))"
t_like "tsv: tab and newline escaped" "$(cat "$T/names.tsv")" \
    'tab\\tnewline\\n\.jpg	ok'

"$PHMATCH" hash -q -f csv "$T/names" >"$T/names.csv"
"$PHMATCH" hash -q -f jsonl --digest md5 "$T/names" >"$T/names.jsonl"
if t_python; then
    out=$(python3 - "$T/names.csv" "$T/names" <<'EOF' 2>&1
import csv, os, sys
with open(sys.argv[1], newline="", encoding="utf-8", errors="surrogateescape") as f:
    rows = list(csv.reader(f))
names = sorted(os.listdir(os.fsencode(sys.argv[2])))
want = [os.fsdecode(os.path.join(os.fsencode(sys.argv[2]), n)) for n in names]
assert all(len(r) == len(rows[0]) for r in rows), "ragged rows"
got = [r[0] for r in rows[1:]]
assert got == want, (got, want)
print("ok")
EOF
)
    t_is "csv: RFC 4180 parse gives every path exactly" "$out" ok
    out=$(python3 - "$T/names.jsonl" "$T/names" <<'EOF' 2>&1
import json, os, sys
d = os.fsencode(sys.argv[2])
want = [os.path.join(d, n) for n in sorted(os.listdir(d))]
got = []
with open(sys.argv[1], "rb") as f:
    for line in f:
        line.decode("utf-8")          # the output itself is valid UTF-8
        r = json.loads(line)
        assert r["status"] == "ok" and len(r["pdq"]) == 64, r
        assert len(r["md5"]) == 32, r
        got.append(bytes.fromhex(r["path_hex"]) if "path_hex" in r
                   else r["path"].encode("utf-8"))
assert got == want, (got, want)
print("ok")
EOF
)
    t_is "jsonl: valid JSON and UTF-8, every path recoverable" "$out" ok
else
    t_skip "csv: RFC 4180 parse gives every path exactly" "no python3"
    n=$(grep -c '^{"path":".*"}$' "$T/names.jsonl")
    t_is "jsonl: one object per line" "$n" "$nnames"
fi
t_like "jsonl: control characters escaped" "$(cat "$T/names.jsonl")" \
    'ctl\\u0001esc\\u001b\.jpg'
t_like "jsonl: invalid UTF-8 replaced, exact bytes in path_hex" \
    "$(cat "$T/names.jsonl")" 'latin1-\\ufffd\.jpg","path_hex":"[0-9a-f]*e9'

err=$("$PHMATCH" hash -q "$T/names/$(printf 'ctl\001esc\033.jpg')" \
    "$T/names/$(printf 'ctl\001esc\033.jpgx')" 2>&1 >/dev/null)
t_like "stderr: control characters in names are escaped" "$err" \
    "cannot hash '.*ctl\\\\x01esc\\\\x1b\.jpgx'"

# ------------------------------------------------------------------
# Digests

f=$IMAGES/misc-images/c.png
"$PHMATCH" hash -q --digest md5,sha1,sha256 "$f" >"$T/digest.tsv"
got="$(tsv_col md5 "$T/digest.tsv") $(tsv_col sha1 "$T/digest.tsv") $(tsv_col sha256 "$T/digest.tsv")"
exp="$(md5sum <"$f" | cut -d' ' -f1) $(sha1sum <"$f" | cut -d' ' -f1) $(sha256sum <"$f" | cut -d' ' -f1)"
t_is "--digest md5,sha1,sha256 equal md5sum, sha1sum, sha256sum" "$got" "$exp"
t_is "size column is the file size" "$(tsv_col size "$T/digest.tsv")" \
    "$(wc -c <"$f" | tr -d ' ')"

# ------------------------------------------------------------------
# Path lists, recursion, symbolic links

mkdir -p "$T/tree/a/y"
cp "$IMAGES/misc-images/wee.jpg" "$T/tree/b.jpg"
cp "$IMAGES/misc-images/wee.jpg" "$T/tree/A.jpg"
cp "$IMAGES/misc-images/wee.jpg" "$T/tree/c.jpg"
cp "$IMAGES/misc-images/wee.jpg" "$T/tree/a/z.png"
cp "$IMAGES/misc-images/wee.jpg" "$T/tree/a/y/x.jpg"
ln -s "$IMAGES/misc-images/c.png" "$T/tree/a/link.png"
ln -s .. "$T/tree/a/y/up"
"$PHMATCH" hash -q "$T/tree/" >"$T/tree.tsv"
t_is "recursion: depth first, each directory sorted by bytes" \
    "$(tsv_col path "$T/tree.tsv" | tr '\n' ' ')" \
    "$T/tree/A.jpg $T/tree/a/y/x.jpg $T/tree/a/z.png $T/tree/b.jpg $T/tree/c.jpg "
err=$("$PHMATCH" hash "$T/tree" 2>&1 >/dev/null)
t_like "symbolic links in a walk are skipped and counted" "$err" \
    'skipped 2 symbolic links'
"$PHMATCH" hash -q -L "$T/tree" >"$T/treeL.tsv" 2>/dev/null
t_is "-L follows links; a directory loop is an error record" \
    "$(tsv_col status "$T/treeL.tsv" | sort | uniq -c | awk '{ printf "%s %s;", $1, $2 }')" \
    "6 ok;1 unreadable;"
t_like "-L: the loop record names the link" "$(cat "$T/treeL.tsv")" \
    "^$T/tree/a/y/up	unreadable	.*loop"
"$PHMATCH" hash -q "$T/tree/a/link.png" >"$T/link.tsv"
t_is "a link named on the command line is followed" \
    "$(tsv_col status "$T/link.tsv")" ok

printf '%s\0' "$T/tree/c.jpg" "$T/names/tab	newline
.jpg" "$T/tree/A.jpg" >"$T/list0"
"$PHMATCH" hash -q -0 --files-from "$T/list0" >"$T/list0.tsv"
t_is "--files-from -0: list order, names with newlines" \
    "$(tsv_col path "$T/list0.tsv" | tr '\n' ' ')" \
    "$T/tree/c.jpg $T/names/tab\\tnewline\\n.jpg $T/tree/A.jpg "
printf '%s\n' "$T/tree/c.jpg" "$T/tree/a" | "$PHMATCH" hash -q - \
    >"$T/stdin.tsv"
t_is "'-' reads a newline list from stdin; listed directories are walked" \
    "$(tsv_col path "$T/stdin.tsv" | tr '\n' ' ')" \
    "$T/tree/c.jpg $T/tree/a/y/x.jpg $T/tree/a/z.png "

# ------------------------------------------------------------------
# Exit status and usage errors

"$PHMATCH" hash -q "$T/tree/c.jpg" >/dev/null 2>&1
t_is "exit 0 when every file is hashed" "$?" 0
"$PHMATCH" hash -q "$T/tree/c.jpg" "$T/nonexistent.jpg" >/dev/null 2>&1
t_is "exit 1 when a file fails" "$?" 1
err=$("$PHMATCH" hash --frobnicate "$T/tree/c.jpg" 2>&1 >/dev/null)
t_is "exit 2 on an unknown option" "$?" 2
t_like "the message names the unknown option" "$err" \
    "unknown option '--frobnicate'"
err=$("$PHMATCH" hash -j many "$T/tree/c.jpg" 2>&1 >/dev/null)
t_is "exit 2 on a bad -j value" "$?" 2
t_like "the message names -j and the value" "$err" "'many' for -j"
err=$("$PHMATCH" hash --format xml "$T/tree/c.jpg" 2>&1 >/dev/null)
t_like "bad --format is named" "$err" "'xml' for --format"
"$PHMATCH" hash >/dev/null 2>&1
t_is "exit 2 without inputs" "$?" 2
"$PHMATCH" frobnicate >/dev/null 2>&1
t_is "exit 2 on an unknown command" "$?" 2
"$PHMATCH" hash --files-from "$T/no-such-list" >/dev/null 2>&1
t_is "exit 2 when --files-from cannot be opened" "$?" 2
PHMATCH_SIMD=fast "$PHMATCH" --version >/dev/null 2>&1
t_is "exit 2 on a bad PHMATCH_SIMD" "$?" 2

"$PHMATCH" hash -q -o "$T/out.tsv" "$T/tree/c.jpg" >"$T/stdout"
t_is "-o FILE: records in FILE, nothing on stdout" \
    "$(wc -l <"$T/out.tsv" | tr -d ' ')/$(wc -c <"$T/stdout" | tr -d ' ')" "2/0"
err=$("$PHMATCH" hash "$T/tree/c.jpg" 2>&1 >/dev/null)
t_like "summary on stderr" "$err" '^phmatch: 1 file: 1 hashed, 0 failed'
err=$("$PHMATCH" hash -q "$T/tree/c.jpg" 2>&1 >/dev/null)
t_is "-q: nothing on stderr" "$err" ""

t_done

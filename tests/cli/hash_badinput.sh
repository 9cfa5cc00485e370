#!/bin/sh
# hash_badinput.sh - the bad input of issue 2 for `phmatch hash`: an empty
# file, truncated JPEG and PNG, a PNG claiming 100000x100000, a text file
# named .jpg, a directory without read permission, a path that vanished and
# a 4x4 image, with a few more hostile files. All go in one batch: each
# gives its error record and the batch goes on; none crashes (this also runs
# under ASan+UBSan). TAP on stdout.
. "$(dirname "$0")/lib.sh"

t_need_phmatch

# Permission bits do not stop root, so as root the batch runs as nobody
# (through setpriv) for the unreadable directory to be unreadable.
run_as=
if [ "$(id -u)" -eq 0 ]; then
    run_as=none
    if t_nobody; then
        run_as=$NOBODY
    fi
fi
as_user() {
    if [ "$run_as" = none ]; then "$@"; else $run_as "$@"; fi
}

B=$T/bad
mkdir "$B"
: >"$B/01-empty.jpg"
head -c 20000 "$IMAGES/bridge-mods/aaa-orig.jpg" >"$B/02-truncated.jpg"
head -c 2000 "$IMAGES/misc-images/c.png" >"$B/03-truncated.png"
# A well-formed 8-bit grey PNG (IHDR, IDAT, IEND, valid CRCs) whose IHDR
# claims 100000x100000.
printf '\211PNG\r\n\032\n\000\000\000\rIHDR\000\001\206\240\000\001\206\240\010\000\000\000\000\215\071T\024' >"$B/04-huge.png"
printf '\000\000\000\013IDATx\234c`@\005\000\000\020\000\001\071\275\217e' >>"$B/04-huge.png"
printf '\000\000\000\000IEND\256B`\202' >>"$B/04-huge.png"
echo "this is not an image" >"$B/05-text.jpg"
# A 4x4 RGB PNM.
printf 'P6\n4 4\n255\n' >"$B/06-tiny.ppm"
head -c 48 /dev/zero >>"$B/06-tiny.ppm"
cp "$IMAGES/misc-images/wee.jpg" "$B/07-vanished.jpg"
mkdir "$B/08-locked"
cp "$IMAGES/misc-images/wee.jpg" "$B/08-locked/inside.jpg"
chmod 000 "$B/08-locked"
# More hostile files: the huge PNG cut after its IHDR; a PNM header
# claiming 100000x100000; a JPEG start marker followed by PNG bytes; a JPEG
# with a stretch of its entropy-coded data overwritten (may decode, must not
# crash); a 1x1000 image (too thin).
head -c 33 "$B/04-huge.png" >"$B/09-huge-cut.png"
printf 'P5\n100000 100000\n255\n' >"$B/10-huge.pgm"
{ printf '\377\330\377\340'; cat "$IMAGES/misc-images/c.png"; } \
    >"$B/11-jpeg-magic-png-body.jpg"
cp "$IMAGES/bridge-mods/aaa-orig.jpg" "$B/12-scribbled.jpg"
head -c 4096 "$IMAGES/misc-images/c.png" |
    dd of="$B/12-scribbled.jpg" bs=1 seek=30000 conv=notrunc 2>/dev/null
{ printf 'P5\n1 1000\n255\n'; head -c 1000 /dev/zero; } >"$B/13-thin.pgm"
cp "$IMAGES/misc-images/wee.jpg" "$B/14-good.jpg"
chmod 755 "$T" "$B"
ls "$B" | sed "s|^|$B/|" >"$B.list"
rm "$B/07-vanished.jpg"
nbad=13

as_user "$PHMATCH" hash -j 2 -T "$B.list" >"$T/bad.tsv" 2>"$T/bad.err"
rc=$?
t_is "exit 1, one record per input" \
    "$rc/$(($(wc -l <"$T/bad.tsv") - 1))" "1/14"
t_is "no sanitizer or crash report" \
    "$(grep -c -e 'Sanitizer' -e 'runtime error' "$T/bad.err")" 0
st() { tsv_get "$B/$1" status "$T/bad.tsv"; }

s=$(st 01-empty.jpg)
t_ok "empty file: an error record ($s)" test -n "$s" -a "$s" != ok
t_is "truncated JPEG: corrupt" "$(st 02-truncated.jpg)" corrupt
t_is "truncated PNG: corrupt" "$(st 03-truncated.png)" corrupt
t_is "PNG claiming 100000x100000: too_large" "$(st 04-huge.png)" too_large
t_is "text file named .jpg: unsupported_format" "$(st 05-text.jpg)" \
    unsupported_format
t_is "4x4 image: too_small" "$(st 06-tiny.ppm)" too_small
t_is "path that vanished: not_found" "$(st 07-vanished.jpg)" not_found
if [ "$run_as" = none ]; then
    t_skip "directory without read permission: unreadable" \
        "root, and setpriv cannot drop to nobody here"
else
    t_is "directory without read permission: unreadable" \
        "$(st 08-locked)" unreadable
fi
s=$(st 09-huge-cut.png)
t_ok "huge PNG cut after IHDR: an error record ($s)" \
    test -n "$s" -a "$s" != ok
t_is "PNM claiming 100000x100000: too_large" "$(st 10-huge.pgm)" too_large
s=$(st 11-jpeg-magic-png-body.jpg)
t_ok "JPEG marker on PNG bytes: an error record ($s)" \
    test -n "$s" -a "$s" != ok
s=$(st 12-scribbled.jpg)
t_ok "JPEG with overwritten data: one record ($s)" test -n "$s"
t_is "1x1000 image: too_small" "$(st 13-thin.pgm)" too_small
t_is "the batch goes on: the last file is hashed" "$(st 14-good.jpg)" ok

t_is "every error record has a message" \
    "$(awk -F '\t' 'NR > 1 && $2 != "ok" && $11 == ""' "$T/bad.tsv")" ""
nerr=$(awk -F '\t' 'NR > 1 && $2 != "ok"' "$T/bad.tsv" | wc -l)
t_is "every error record is reported on stderr" \
    "$(grep -c "^phmatch: cannot hash '$B/" "$T/bad.err")" "$nerr"
t_like "stderr message in git style" "$(cat "$T/bad.err")" \
    "^phmatch: cannot hash '$B/07-vanished.jpg': No such file or directory$"

as_user "$PHMATCH" hash -q -j 1 -T "$B.list" >"$T/bad1.tsv" 2>/dev/null
t_ok "same records with -j 1 and -j 2" cmp -s "$T/bad.tsv" "$T/bad1.tsv"

as_user "$PHMATCH" hash -q -f jsonl -T "$B.list" >"$T/bad.jsonl" 2>/dev/null
if t_python; then
    out=$(python3 -c '
import json, sys
recs = [json.loads(l) for l in open(sys.argv[1], encoding="utf-8")]
errs = [r for r in recs if r["status"] != "ok"]
assert len(recs) == 14, len(recs)
assert all(r["pdq"] is None and r["quality"] is None and r["error"]
           for r in errs), errs
print("ok")' "$T/bad.jsonl" 2>&1)
    t_is "jsonl: error records have null hash fields and a message" "$out" ok
else
    t_is "jsonl: one object per input" "$(grep -c '^{.*}$' "$T/bad.jsonl")" 14
fi

as_user "$PHMATCH" hash -q -f pdq -T "$B.list" >"$T/bad.pdq" 2>/dev/null
t_is "pdq format: only hashed files on stdout" \
    "$(cut -d, -f3 "$T/bad.pdq" | sed "s|^$B/||" | tr '\n' ' ')" \
    "$(awk -F '\t' 'NR > 1 && $2 == "ok" { print $1 }' "$T/bad.tsv" |
        sed "s|^$B/||" | tr '\n' ' ')"

"$PHMATCH" hash -q --accept-recovered "$B/02-truncated.jpg" >"$T/rec.tsv"
t_is "--accept-recovered: truncated JPEG hashed and flagged recovered" \
    "$(tsv_col status "$T/rec.tsv") $(tsv_col flags "$T/rec.tsv" |
        tr ',' '\n' | grep -c '^recovered$')" "ok 1"
t_like "--accept-recovered: the error column says what was recovered" \
    "$(tsv_col error "$T/rec.tsv")" '.'

"$PHMATCH" hash -q --max-pixels 1M "$IMAGES/bridge-mods/aaa-orig.jpg" \
    "$IMAGES/misc-images/wee.jpg" >"$T/maxpix.tsv" 2>/dev/null
t_is "--max-pixels 1M: a 1600x1004 image is too_large, the batch goes on" \
    "$(tsv_col status "$T/maxpix.tsv" | tr '\n' ' ')" "too_large ok "
"$PHMATCH" hash -q --max-file-size 1Ki "$IMAGES/misc-images/wee.jpg" \
    >"$T/maxfile.tsv" 2>/dev/null
t_is "--max-file-size 1Ki: a 13 KB file is too_large, its size known" \
    "$(tsv_col status "$T/maxfile.tsv") $(tsv_col size "$T/maxfile.tsv")" \
    "too_large $(wc -c <"$IMAGES/misc-images/wee.jpg" | tr -d ' ')"

# One thread, so one decoder: a file that fails must not spoil the next.
"$PHMATCH" hash -q -j 1 "$B/11-jpeg-magic-png-body.jpg" "$B/14-good.jpg" \
    "$B/12-scribbled.jpg" "$B/14-good.jpg" >"$T/reuse.tsv" 2>/dev/null
t_is "-j 1: a good JPEG after a failed one is hashed" \
    "$(tsv_get "$B/14-good.jpg" status "$T/reuse.tsv" | tr '\n' ' ')" "ok ok "

mkfifo "$T/fifo" 2>/dev/null &&
    "$PHMATCH" hash -q "$T/fifo" >"$T/fifo.tsv" 2>/dev/null
t_is "a FIFO named explicitly: an unreadable record, no hang" \
    "$(tsv_col status "$T/fifo.tsv")/$(tsv_col error "$T/fifo.tsv")" \
    "unreadable/not a regular file"
"$PHMATCH" hash -q /dev/null >"$T/dev.tsv" 2>/dev/null
t_is "a device named explicitly: an unreadable record" \
    "$(tsv_col status "$T/dev.tsv")/$(tsv_col error "$T/dev.tsv")" \
    "unreadable/not a regular file"
# In a directory walk: a record for the FIFO too (never opened, so no hang).
mkdir "$T/walk"
cp "$IMAGES/misc-images/wee.jpg" "$T/walk/a.jpg"
mkfifo "$T/walk/b-fifo"
"$PHMATCH" hash -q "$T/walk" >"$T/walk.tsv" 2>/dev/null
t_is "a FIFO in a directory walk: a record of its own" \
    "$(tsv_col status "$T/walk.tsv" | tr '\n' ' ')" "ok unreadable "
t_is "... saying not a regular file" \
    "$(tsv_get "$T/walk/b-fifo" error "$T/walk.tsv")" "not a regular file"

t_done

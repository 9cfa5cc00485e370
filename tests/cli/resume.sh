#!/bin/sh
# resume.sh - `phmatch hash|match -o FILE --resume`: a run killed (kill -9)
# at any moment, or whose FILE was cut at any byte, is finished by a second
# run with --resume, and FILE then equals an uninterrupted run's byte for
# byte, in every format; the inputs recorded are not hashed again; FILE
# that is not this run's output is refused and left as it was.
. "$(dirname "$0")/lib.sh"
t_need_phmatch
export LC_ALL=C

# Inputs: PDQ test images and, with ffmpeg, two small videos between them
# (so that a cut can fall inside a video's frame records).
# A small run (T_SMALL) takes, of the images, the bridge's original,
# c.png and those under 100 kB: the same record kinds and cuts in 40 % of
# the CPU time, the same lines and branches of src/ reached but a few of
# trim.c's weak-edge search (which test_query's small run reaches).
IN=$T/in
mkdir -p "$IN/v" "$IN/misc-images" "$IN/bridge-mods"
for f in "$IMAGES/bridge-mods/"* "$IMAGES/misc-images/"*; do
    [ -f "$f" ] || continue
    case $T_SMALL:${f##*/} in
    1:aaa-orig.jpg | 1:c.png) ;;
    1:*) [ "$(wc -c <"$f")" -gt 100000 ] && continue ;;
    esac
    d=${f%/*}
    cp "$f" "$IN/${d##*/}/"
done
video=0
if t_have ffmpeg; then
    ff() { ffmpeg -nostdin -v error -y "$@"; }
    ff -f lavfi -i testsrc=size=160x120:rate=25 -t 3 -c:v libx264 \
        -preset ultrafast -pix_fmt yuv420p "$IN/v/a.mp4" &&
        ff -f lavfi -i mandelbrot=size=160x120:rate=25 -t 2 -c:v libx264 \
            -preset ultrafast -pix_fmt yuv420p "$IN/v/b.mp4" && video=1
fi
cp "$IMAGES/informational/"* "$IN/v/" 2>/dev/null

DB=$T/k.phmi
"$PHMATCH" index create "$DB" >/dev/null
"$PHMATCH" hash -q -f pdq "$IMAGES/bridge-mods" |
    "$PHMATCH" index import --source t "$DB" - >/dev/null

# run CMD FMT OUT [ARGS...] - the hash or match run of this test.
run() {
    _cmd=$1 _fmt=$2 _out=$3
    shift 3
    if [ "$_cmd" = hash ]; then
        "$PHMATCH" hash -j2 -d --digest sha1 -f "$_fmt" -o "$_out" "$@" "$IN"
    else
        "$PHMATCH" match -j2 -i "$DB" -f "$_fmt" -o "$_out" "$@" "$IN"
    fi
}

# cuts FILE - byte offsets to cut FILE at: 0, 1, the end of its first
# lines and of some later ones, a byte into them, inside a video's frames,
# one byte short, all of it.
cuts() {
    awk -v size="$(wc -c <"$1")" '
        { off += length($0) + 1; end[NR] = off
          if (!vid && $0 ~ /frame/ && NR > 2) vid = NR }
        END { print 0; print 1; print end[1]; print end[1] + 7; print end[2]
              for (i = 5; i < NR; i += int(NR / 3) + 1) print end[i] - 3
              if (vid) { print end[vid]; print end[vid + 2] - 5 }
              print size - 1; print size }' "$1" | sort -n -u
}

# summary FILE - the summary line of a stderr file, without its times.
summary() {
    grep '^phmatch: [0-9]* files' "$1" | sed 's/; [0-9.]* s, .*//'
}

for cmd in hash match; do
    for fmt in tsv csv jsonl pdq; do
        [ "$cmd" = match ] && [ "$fmt" = pdq ] && continue
        run "$cmd" "$fmt" "$T/full" 2>"$T/full.err"
        bad=""
        for c in $(cuts "$T/full"); do
            head -c "$c" "$T/full" >"$T/r"
            run "$cmd" "$fmt" "$T/r" --resume 2>"$T/r.err" || bad="$bad $c(exit $?)"
            cmp -s "$T/r" "$T/full" || bad="$bad $c"
            [ "$(summary "$T/r.err")" = "$(summary "$T/full.err")" ] ||
                bad="$bad $c(summary: $(summary "$T/r.err"))"
        done
        t_is "$cmd -f $fmt: FILE cut at any byte, resumed, equals the whole run's" \
            "${bad:-none}" none
    done
done

# A real kill -9 at several moments of a run (one thread: slower), then
# --resume: the file equals the uninterrupted run's. Not in the ASan
# build's run: what a kill leaves is a file cut at some byte, which the
# loop above resumes under ASan at every kind of cut; the kills test the
# order of the writes, the same in both builds.
case $BUILD in
*asan*)
    t_skip "hash killed with kill -9 at 5 moments, resumed" "the plain build's run does it"
    t_skip "match killed with kill -9 during the videos, resumed" "the plain build's run does it"
    ;;
*)
    run hash tsv "$T/full" 2>/dev/null
    bad="" killed=""
    for s in 0.05 0.1 0.2 0.4 0.8; do
        rm -f "$T/k"
        "$PHMATCH" hash -j1 -d --digest sha1 -f tsv -o "$T/k" --resume "$IN" \
            2>/dev/null &
        pid=$!
        sleep "$s"
        kill -9 "$pid" 2>/dev/null
        wait "$pid" 2>/dev/null
        [ "$(wc -c <"$T/k")" -lt "$(wc -c <"$T/full")" ] && killed="$killed $s"
        run hash tsv "$T/k" --resume 2>/dev/null || bad="$bad $s(exit)"
        cmp -s "$T/k" "$T/full" || bad="$bad $s"
    done
    t_diag "killed before the end after:${killed:- (none: the runs were faster)} s"
    t_is "hash killed with kill -9 at 5 moments, resumed: equal to the whole run" \
        "${bad:-none}" none
    if [ $video = 1 ]; then
        run match jsonl "$T/full" 2>/dev/null
        bad=""
        for s in 0.1 0.3; do
            rm -f "$T/k"
            "$PHMATCH" match -j1 -i "$DB" -f jsonl -o "$T/k" --resume "$IN" \
                2>/dev/null &
            pid=$!
            sleep "$s"
            kill -9 "$pid" 2>/dev/null
            wait "$pid" 2>/dev/null
            run match jsonl "$T/k" --resume 2>/dev/null || bad="$bad $s(exit)"
            cmp -s "$T/k" "$T/full" || bad="$bad $s"
        done
        t_is "match killed with kill -9 during the videos, resumed: equal" \
            "${bad:-none}" none
    else
        t_skip "match killed during the videos" "ffmpeg not installed (make deps)"
    fi
    ;;
esac

# The inputs recorded are left out, not hashed again: one of them replaced
# by another image changes nothing.
run hash tsv "$T/full" 2>/dev/null
head -n 5 "$T/full" >"$T/r"
first=$(sed -n 2p "$T/full" | cut -f1)
cp "$first" "$T/saved"
cp "$IN/v/1.png" "$first"
run hash tsv "$T/r" --resume 2>/dev/null
t_ok "the inputs FILE holds are not hashed again" cmp -s "$T/r" "$T/full"
cp "$T/saved" "$first"

# No FILE, or an empty one: a fresh run.
rm -f "$T/r"
run hash csv "$T/r" --resume 2>/dev/null
run hash csv "$T/full" 2>/dev/null
t_ok "--resume without FILE: a fresh run" cmp -s "$T/r" "$T/full"

# Refused, FILE untouched, exit 2.
run hash tsv "$T/full" 2>/dev/null
head -c 3000 "$T/full" >"$T/r"
cp "$T/r" "$T/r0"
"$PHMATCH" hash -d --digest sha1 -o "$T/r" --resume "$IN/misc-images" \
    "$IN/bridge-mods" "$IN/v" 2>"$T/err"
rc=$?
t_is "other inputs (another order): exit 2" "$rc" 2
t_like "... the message names FILE and the first record that differs" \
    "$(cat "$T/err")" "cannot resume '$T/r': .* its record 1 names '$IN/bridge-mods/.*', where input 1 is '$IN/misc-images/"
t_ok "... FILE untouched" cmp -s "$T/r" "$T/r0"
"$PHMATCH" hash -d --digest sha1 -o "$T/r" --resume \
    "$IN/bridge-mods/aaa-orig.jpg" 2>"$T/err"
t_is "fewer inputs than FILE holds: exit 2" "$?" 2
t_like "... says which record" "$(cat "$T/err")" "holds records of more inputs than this run has: its record 2 names"
t_ok "... FILE untouched" cmp -s "$T/r" "$T/r0"
"$PHMATCH" hash -o "$T/r" --resume "$IN" 2>"$T/err"
t_is "other options (columns): exit 2" "$?" 2
t_like "... says so" "$(cat "$T/err")" "first line is not the header this run writes"
t_ok "... FILE untouched" cmp -s "$T/r" "$T/r0"
run hash jsonl "$T/r" --resume 2>"$T/err"
t_is "another format: exit 2" "$?" 2
t_ok "... FILE untouched" cmp -s "$T/r" "$T/r0"
{ head -n 3 "$T/r0"; echo "garbage"; tail -n +4 "$T/r0"; } >"$T/r"
cp "$T/r" "$T/r1"
run hash tsv "$T/r" --resume 2>"$T/err"
t_is "a corrupt FILE: exit 2" "$?" 2
t_like "... the record named" "$(cat "$T/err")" "'$T/r': record 3: not a tsv record"
t_ok "... FILE untouched" cmp -s "$T/r" "$T/r1"
"$PHMATCH" hash --resume "$IN" >/dev/null 2>"$T/err"
t_is "--resume without -o: exit 2" "$?" 2
"$PHMATCH" hash --resume -f vpdq -o "$T/vp" "$IN" 2>"$T/err"
t_is "--resume -f vpdq (no paths in its lines): exit 2" "$?" 2
"$PHMATCH" match -i "$DB" --resume --report "$T/rep" -o "$T/m" "$IN" 2>"$T/err"
t_is "match --resume --report: exit 2" "$?" 2

t_done

#!/bin/sh
# audit.sh - bad input and hostile conditions found by the adversarial pass
# over phmatch and phmatchd (wt-audit): each case failed before its fix.
# Output that cannot be written is an error (exit 3), an empty directory is
# walked, a snapshot or merge never replaces a device or a FIFO, `index
# add --hash` checks the hash as an import does, phmatchd's configuration
# file is read under a bound. TAP on stdout.
. "$(dirname "$0")/lib.sh"
t_need_phmatch

case $BUILD in
/*) D=$BUILD ;;
*) D=$ROOT/$BUILD ;;
esac
PHMATCHD=$D/phmatchd
JPG=$IMAGES/bridge-mods/aaa-orig.jpg

# status CMD... - runs CMD with stdout to $T/out, stderr to $T/err; prints
# its exit status.
status() {
    "$@" >"$T/out" 2>"$T/err"
    echo $?
}

"$PHMATCH" index create "$T/k.phmi" 2>/dev/null
"$PHMATCH" hash --format pdq "$JPG" 2>/dev/null >"$T/one.pdq"
"$PHMATCH" index import --source s "$T/k.phmi" "$T/one.pdq" >/dev/null 2>&1

# --- Output to a full device: every command says so and exits 3 (before:
# help, index stats and others exited 0 having written nothing).
if [ -c /dev/full ]; then
    for cmd in "--help" "help" "help hash" "hash --help" "index --help" \
        "index stats $T/k.phmi" "index stats --format json $T/k.phmi" \
        "index verify $T/k.phmi" "index source show $T/k.phmi"; do
        # shellcheck disable=SC2086
        "$PHMATCH" $cmd >/dev/full 2>"$T/err"
        rc=$?
        t_is "phmatch $(echo "$cmd" | sed "s|$T/||") >/dev/full: exit 3" "$rc" 3
    done
    t_like "... saying what could not be written" "$(cat "$T/err")" \
        'cannot write to standard output: No space left on device'
else
    t_skip "output to /dev/full" "no /dev/full"
fi

# --- An empty directory in a walk (before: qsort of no entries from a NULL
# array, undefined behaviour that the ASan build's UBSan stops at).
mkdir -p "$T/walk/empty" "$T/walk/sub/empty2" "$T/empty"
cp "$JPG" "$T/walk/sub/a.jpg"
t_is "a walk through empty directories: exit 0" \
    "$(status "$PHMATCH" hash "$T/walk" "$T/empty")" 0
t_is "... one record" "$(grep -c 'a\.jpg	ok	' "$T/out")" 1
t_is "... no sanitizer report" "$(grep -c 'runtime error\|Sanitizer' "$T/err")" 0
# The same in `index audit` of an empty index, and of no benign images.
"$PHMATCH" index create "$T/none.phmi" 2>/dev/null
t_is "index audit of an empty index: exit 0" \
    "$(status "$PHMATCH" index audit "$T/none.phmi")" 0
t_is "... no sanitizer report" "$(grep -c 'runtime error\|Sanitizer' "$T/err")" 0
t_is "index audit --images of an empty directory: exit 0" \
    "$(status "$PHMATCH" index audit --images "$T/empty" "$T/none.phmi")" 0
t_is "... no sanitizer report" "$(grep -c 'runtime error\|Sanitizer' "$T/err")" 0
t_is "index audit --images of a missing directory: exit 2" \
    "$(status "$PHMATCH" index audit --images "$T/missing" "$T/none.phmi")" 2
t_like "... saying why" "$(cat "$T/err")" \
    "cannot open directory '.*missing': No such file or directory"

# --- index snapshot OUT where OUT is not a regular file (before: the copy
# was renamed over it: a FIFO, or as root /dev/full itself, became an index
# file).
mkfifo "$T/fifo"
ln -s /dev/null "$T/null-link"
t_is "index snapshot to a FIFO: refused (exit 1)" \
    "$(status "$PHMATCH" index snapshot "$T/k.phmi" "$T/fifo")" 1
t_like "... saying why" "$(cat "$T/err")" \
    "cannot snapshot index '.*fifo': not a regular file"
t_ok "... the FIFO is left as it was" test -p "$T/fifo"
t_is "index snapshot to a link to /dev/null: refused (exit 1)" \
    "$(status "$PHMATCH" index snapshot "$T/k.phmi" "$T/null-link")" 1
t_ok "... the link is left as it was" test -L "$T/null-link"
t_is "... no temporary file left" "$(ls "$T" | grep -c 'tmp-')" 0

# --- merge -o OUT where OUT is a device or a FIFO (before: the merged file
# was renamed over it, replacing the device node or the FIFO).
"$PHMATCH" hash --shard 1/2 -o "$T/s1.tsv" "$IMAGES/bridge-mods" 2>/dev/null
"$PHMATCH" hash --shard 2/2 -o "$T/s2.tsv" "$IMAGES/bridge-mods" 2>/dev/null
"$PHMATCH" hash -o "$T/whole.tsv" "$IMAGES/bridge-mods" 2>/dev/null
t_is "merge -o a link to /dev/null: exit 0" \
    "$(status "$PHMATCH" merge -o "$T/null-link" "$T/s1.tsv" "$T/s2.tsv")" 0
t_ok "... the link is left as it was" test -L "$T/null-link"
t_ok "... /dev/null is a device still" test -c /dev/null
# (A reader bounded in time: without the fix nothing ever opens the FIFO.)
timeout 20 cat "$T/fifo" >"$T/from-fifo" &
reader=$!
t_is "merge -o a FIFO: exit 0" \
    "$(status "$PHMATCH" merge -o "$T/fifo" "$T/s1.tsv" "$T/s2.tsv")" 0
wait $reader
t_ok "... the FIFO is left as it was" test -p "$T/fifo"
t_ok "... its reader got the whole run's file" cmp -s "$T/from-fifo" "$T/whole.tsv"
t_is "... no temporary file left" "$(ls "$T" | grep -c 'merge-')" 0
if [ -c /dev/full ]; then
    ln -s /dev/full "$T/full-link"
    t_is "merge -o a link to /dev/full: exit 3" \
        "$(status "$PHMATCH" merge -o "$T/full-link" "$T/s1.tsv" "$T/s2.tsv")" 3
    t_like "... saying so" "$(cat "$T/err")" "cannot write '.*full-link': No space left"
fi

# --- index add --hash checks the hash as index import does (before: an
# all-zero hash, which no image gives, was stored and matched every
# near-blank query).
zero=0000000000000000000000000000000000000000000000000000000000000000
ones=ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff
few=ff00000000000000000000000000000000000000000000000000000000000000
good=$(cut -c1-64 "$T/one.pdq")
t_is "index add --hash of all zero: refused (exit 2)" \
    "$(status "$PHMATCH" index add "$T/k.phmi" --hash $zero --source s --id z)" 2
t_like "... as import says" "$(cat "$T/err")" "PDQ hash is all zero"
t_is "index add --hash of all one: refused" \
    "$(status "$PHMATCH" index add "$T/k.phmi" --hash $ones --source s --id o)" 2
t_like "... as import says" "$(cat "$T/err")" "PDQ hash is all one bits"
t_is "index add --hash setting 8 bits: refused" \
    "$(status "$PHMATCH" index add "$T/k.phmi" --hash $few --source s --id f)" 2
t_like "... as import says" "$(cat "$T/err")" "PDQ hash sets 8 of its 256 bits"
printf '%s,100,z\n' $zero >"$T/zero.csv"
"$PHMATCH" index import --source s "$T/k.phmi" "$T/zero.csv" 2>"$T/imp.err"
t_like "... (the import's message, the reference)" "$(cat "$T/imp.err")" \
    "PDQ hash is all zero"
t_is "... nothing stored" \
    "$("$PHMATCH" index stats "$T/k.phmi" | awk '$1 == "entries" { print $2 }')" 1
t_is "index add --hash of a real hash: stored" \
    "$(status "$PHMATCH" index add "$T/k.phmi" --hash "$good" --source s --id g)" 0

# --- phmatchd -c FILE reads its configuration under a bound (before:
# -c /dev/zero read zeros forever, at full CPU; a line holding a NUL byte
# was skipped silently, the setting after it lost).
if [ -x "$PHMATCHD" ]; then
    t_is "phmatchd -c /dev/zero -n: refused, no hang (exit 2)" \
        "$(status timeout 20 "$PHMATCHD" -c /dev/zero -n)" 2
    t_like "... saying why" "$(cat "$T/err")" "/dev/zero.*not a regular file"
    printf 'index = %s\n\000socket = %s/s.sock\n' "$T/k.phmi" "$T" >"$T/nul.conf"
    t_is "phmatchd -c FILE with a NUL byte: refused (exit 2)" \
        "$(status timeout 20 "$PHMATCHD" -c "$T/nul.conf" -n)" 2
    t_like "... naming the line" "$(cat "$T/err")" "nul.conf' line 2: .*NUL byte"
    printf 'index = %s\nsocket = %s/s.sock\n' "$T/k.phmi" "$T" >"$T/good.conf"
    t_is "phmatchd -c FILE, the same without the NUL: valid" \
        "$(status timeout 20 "$PHMATCHD" -c "$T/good.conf" -n)" 0
    t_like "... its socket setting read" "$(cat "$T/out")" "^socket = $T/s.sock\$"
    awk 'BEGIN { for (i = 0; i < 30000; i++) print "# a comment line of some length here....." }' \
        >"$T/big.conf"
    t_is "phmatchd -c FILE over 1 MiB: refused (exit 2)" \
        "$(status timeout 20 "$PHMATCHD" -c "$T/big.conf" -n)" 2
    t_like "... saying why" "$(cat "$T/err")" "big.conf.*over the limit"
else
    t_skip "phmatchd configuration file" "phmatchd not built"
fi

# --- lookup from a pipe keeps a line under a bound (before: getline grew
# without one: 600 MB of zeros, no newline, took over 1.2 GB, and
# /dev/zero all the memory there was).
if [ -x /usr/bin/time ]; then
    { head -c 600M /dev/zero; echo; cat "$T/one.pdq"; } |
        /usr/bin/time -f '%M' -o "$T/rss" "$PHMATCH" lookup --index "$T/k.phmi" - \
            >"$T/out" 2>"$T/err"
    t_is "lookup - of a 600 MB line: exit 1 (a bad line)" "$?" 1
    rss=$(tail -n 1 "$T/rss")
    t_ok "... peak memory under 200 MB ($rss KB)" test "$rss" -lt 200000
    t_like "... naming the line" "$(cat "$T/err")" \
        '(standard input):1: line longer than 65536 bytes'
    t_ok "... the next line is answered" grep -q '	2	.*	match	' "$T/out"
else
    t_skip "lookup of a huge line" "no /usr/bin/time"
fi

# --- A file size limit (ulimit -f) is a write error like a full disk
# (before: SIGXFSZ killed phmatch, status 153, without a word).
( ulimit -f 4 && "$PHMATCH" hash -o "$T/lim.tsv" "$IMAGES" >/dev/null 2>"$T/err" )
t_is "hash -o under ulimit -f 4: exit 3" "$?" 3
t_like "... saying what could not be written" "$(cat "$T/err")" \
    "cannot write to '.*lim.tsv': File too large"
( ulimit -f 4 && "$PHMATCH" hash "$IMAGES" >"$T/lim2.tsv" 2>"$T/err" )
t_is "hash >FILE under ulimit -f 4: exit 3" "$?" 3
t_like "... saying so" "$(cat "$T/err")" "cannot write to .*standard output.*File too large"

# --- A video cut after its container's header: no frame decoded is an
# error (before: status ok, 0 frames, counted as hashed).
if t_have ffmpeg; then
    ffmpeg -loglevel error -y -f lavfi -i testsrc=duration=2:size=160x120:rate=10 \
        -c:v libvpx "$T/v.webm" 2>/dev/null
fi
if [ -s "$T/v.webm" ]; then
    head -c 1000 "$T/v.webm" >"$T/cut.webm"
    t_is "hash of a webm cut after its header: exit 1" \
        "$(status "$PHMATCH" hash "$T/cut.webm")" 1
    t_is "... status corrupt" "$(awk -F '\t' 'NR == 2 { print $2 }' "$T/out")" corrupt
    t_like "... saying why" "$(cat "$T/err")" \
        "cannot hash '.*cut.webm': .*no frame could be decoded"
    # A webm cut in its header: the demuxer says EIO, yet the file read
    # well (before: status unreadable; phmatchd's answer 500 internal).
    head -c 100 "$T/v.webm" >"$T/cut100.webm"
    t_is "hash of a webm cut in its header: exit 1" \
        "$(status "$PHMATCH" hash "$T/cut100.webm")" 1
    t_is "... status corrupt, not unreadable" \
        "$(awk -F '\t' 'NR == 2 { print $2 }' "$T/out")" corrupt
    t_is "the whole webm: exit 0" "$(status "$PHMATCH" hash "$T/v.webm")" 0
    if [ -x "$PHMATCHD" ] && t_have curl; then
        pids=
        trap 'svc_kill_all; t_cleanup' EXIT
        if svc_start audit --index "$T/k.phmi" --socket "$T/a.sock"; then
            code=$(curl -s -m 20 --unix-socket "$T/a.sock" -o "$T/ans" -w '%{http_code}' \
                -H 'Content-Type: video/webm' --data-binary @"$T/cut100.webm" \
                http://localhost/v1/match)
            t_is "phmatchd: the webm cut in its header is a 422 (before: 500)" "$code" 422
            t_like "... corrupt" "$(cat "$T/ans")" '"code":"corrupt"'
            svc_stop "$PID"
            t_is "... phmatchd stops cleanly" "$RC" 0
        else
            t_fail "phmatchd starts: $(cat "$T/audit.log")"
        fi
    fi
else
    t_skip "a video cut after its header" "ffmpeg with libvpx not available"
fi

# --- An index readable in a directory where its lock file cannot be made:
# the message names the lock file (before: "Permission denied" alone, of a
# file the user can read).
mkdir "$T/ro"
cp "$T/k.phmi" "$T/ro/k.phmi"
chmod 644 "$T/ro/k.phmi"
as=
if [ "$(id -u)" -eq 0 ]; then
    # root passes permission checks: run as nobody (needs a path it can walk)
    if t_nobody; then
        chmod 755 "$T" "$T/ro"
        as=$NOBODY
    else
        as=skip
    fi
else
    chmod 555 "$T/ro"
fi
if [ "$as" = skip ]; then
    t_skip "index in a read-only directory" "cannot run as another user"
else
    t_is "index stats, the lock file not creatable: exit 2" \
        "$(status $as "$PHMATCH" index stats "$T/ro/k.phmi")" 2
    t_like "... naming the lock file" "$(cat "$T/err")" \
        "cannot open index '.*ro/k.phmi': cannot open or create its lock file '.*ro/k.phmi-lock': Permission denied"
fi
chmod 700 "$T"

t_done

#!/bin/sh
# index_space.sh - a write that runs out of space says so (issue 12, point
# 8): LMDB reports a short write as EIO ("Input/output error"), and
# libphmatch then asks the file system and the file size limit. Tested
# with RLIMIT_FSIZE (ulimit -f, any user) and, where this user may mount
# one, a full 1 MiB tmpfs (root; skipped otherwise). Nothing of the failed
# import is stored, and the index stays usable. TAP on stdout.
. "$(dirname "$0")/lib.sh"

t_need_phmatch

# 20,000 distinct PDQ lines (about 2.5 MB of index), made by a small LCG;
# each 16-bit value is followed by its complement, so every hash sets 128
# bits, as a real one does (import refuses hashes far from that).
awk 'BEGIN {
    x = 12345
    for (i = 0; i < 20000; i++) {
        h = ""
        for (j = 0; j < 4; j++) {
            x = (x * 1103515245 + 12345) % 2147483648
            a = x % 65536
            b = int(x / 65536)
            h = h sprintf("%04x%04x%04x%04x", a, 65535 - a, b, 65535 - b)
        }
        printf "%s,100,id-%d\n", h, i
    }
}' >"$T/many.pdq"

MNT=
cleanup() {
    [ -n "$MNT" ] && umount "$MNT" 2>/dev/null
    t_cleanup
}
trap cleanup EXIT

# A file size limit: phmatch ignores nothing, so SIGXFSZ is ignored here
# (and so in the child) and the write fails with a short count or EFBIG.
"$PHMATCH" index create "$T/lim.phmi" >/dev/null
(
    trap '' XFSZ
    ulimit -f 1000 2>/dev/null || exit 77
    exec "$PHMATCH" index import --source s "$T/lim.phmi" "$T/many.pdq"
) >/dev/null 2>"$T/lim.err"
rc=$?
if [ "$rc" -eq 77 ]; then
    t_skip "RLIMIT_FSIZE" "ulimit -f is not available"
else
    t_is "a file size limit reached: exit 1" "$rc" 1
    t_like "... the message says which limit" "$(cat "$T/lim.err")" \
        "cannot write index '.*lim.phmi': the file size limit (RLIMIT_FSIZE, ulimit -f) is reached while committing"
    t_ok "... not an Input/output error" test "$(grep -c 'Input/output' "$T/lim.err")" -eq 0
    t_like "... nothing was stored" "$("$PHMATCH" index stats "$T/lim.phmi")" "entries	0"
    "$PHMATCH" index verify "$T/lim.phmi" >/dev/null 2>&1
    t_is "... and the index verifies" "$?" 0
fi

# A snapshot that reaches the limit: the message names the copy being
# written, not the index read (whose disk and size are fine), and the
# partial copy is removed.
"$PHMATCH" index create "$T/src.phmi" >/dev/null
"$PHMATCH" index import --source s "$T/src.phmi" "$T/many.pdq" >/dev/null
(
    trap '' XFSZ
    ulimit -f 1000 2>/dev/null || exit 77
    exec "$PHMATCH" index snapshot "$T/src.phmi" "$T/snap.phmi"
) >/dev/null 2>"$T/snap.err"
rc=$?
if [ "$rc" -eq 77 ]; then
    t_skip "RLIMIT_FSIZE (snapshot)" "ulimit -f is not available"
else
    t_is "a snapshot reaching the file size limit: exit 1" "$rc" 1
    t_like "... the message names the copy and the limit" "$(cat "$T/snap.err")" \
        "cannot snapshot index '.*snap.phmi': cannot write index copy '.*snap.phmi.tmp-[^']*': the file size limit (RLIMIT_FSIZE, ulimit -f) is reached"
    t_ok "... not the index read" test "$(grep -c "src.phmi" "$T/snap.err")" -eq 0
    t_is "... no partial copy is left" "$(ls "$T" | grep -c 'snap.phmi')" 0
fi

# A full disk: a 1 MiB tmpfs, if this user may mount one.
if [ "$(id -u)" -eq 0 ] && mkdir "$T/mnt" &&
    mount -t tmpfs -o size=1M,mode=0700 tmpfs "$T/mnt" 2>/dev/null; then
    MNT=$T/mnt
    "$PHMATCH" index create "$MNT/full.phmi" >/dev/null
    "$PHMATCH" index import --source s "$MNT/full.phmi" "$T/many.pdq" >/dev/null \
        2>"$T/full.err"
    t_is "a full disk: exit 1" "$?" 1
    t_like "... the message says the disk is full" "$(cat "$T/full.err")" \
        "cannot write index '.*full.phmi': the disk is full (no space left on the device) while committing"
    t_like "... nothing was stored" "$("$PHMATCH" index stats "$MNT/full.phmi")" "entries	0"
    head -n 10 "$T/many.pdq" >"$T/few.pdq"
    t_like "... a small import still fits" \
        "$("$PHMATCH" index import --source s "$MNT/full.phmi" "$T/few.pdq" 2>&1)" \
        "added 10,"
    # a snapshot into the full disk: the copy's disk is named, not the
    # index's
    "$PHMATCH" index snapshot "$T/src.phmi" "$MNT/snap.phmi" >/dev/null 2>"$T/fsnap.err"
    t_is "a snapshot into a full disk: exit 1" "$?" 1
    t_like "... the message names the copy on the full disk" "$(cat "$T/fsnap.err")" \
        "cannot write index copy '.*mnt/snap.phmi.tmp-[^']*': the disk is full"
    umount "$MNT" && MNT=
else
    t_skip "a full disk" "cannot mount a tmpfs here (needs root)"
    t_skip "a full disk (message)" "cannot mount a tmpfs here (needs root)"
    t_skip "a full disk (nothing stored)" "cannot mount a tmpfs here (needs root)"
    t_skip "a full disk (small import)" "cannot mount a tmpfs here (needs root)"
    t_skip "a full disk (snapshot)" "cannot mount a tmpfs here (needs root)"
    t_skip "a full disk (snapshot message)" "cannot mount a tmpfs here (needs root)"
fi

t_done

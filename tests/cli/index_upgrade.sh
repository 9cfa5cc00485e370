#!/bin/sh
# index_upgrade.sh - `phmatch index upgrade` on the legacy fixtures of
# tests/data/index/ (formats 2, 3 and 4, written by the last format-4
# build; format 5, v5 and v5seg, by the last format-5 build): the refusal
# of an old file names the command, the command
# works, and the upgraded file's export and governance listings equal
# those the old build wrote of the old file; match and lookup find its
# entries; usage and failures. TAP on stdout.
. "$(dirname "$0")/lib.sh"

t_need_phmatch
P=$PHMATCH
D=$ROOT/tests/data/index
STATS='^(format_version|entries|pdq_entries|video_entries|video_frames|video_hashes|variant_entries|variant_hashes|digests|sources|created)	'

for v in 2 3 4 5 5seg; do
    f=${v%seg}
    db=$T/v$v.phmi
    gzip -dc "$D/v$v.phmi.gz" >"$db"
    out=$("$P" index stats "$db" 2>&1)
    t_is "v$v: stats refused (exit 2)" "$?" 2
    t_like "v$v: the refusal names the command" "$out" "convert it with 'phmatch index upgrade $db'"
    cmd=$(printf '%s\n' "$out" | sed -n "s/.*convert it with '\\(.*\\)'.*/\\1/p")
    out=$(PATH=$(dirname "$P"):$PATH $cmd 2>&1)
    rc=$?
    t_is "v$v: the named command succeeds" "$rc" 0
    t_like "v$v: says what it did" "$out" "^upgraded '$db' from format $f to 6: .* entries .* in [0-9.]* s$"
    t_is "v$v: export equals the old build's" "$("$P" index export --format jsonl "$db")" \
        "$(cat "$D/v$v.export.jsonl")"
    for l in disabled quarantine; do
        t_is "v$v: index $l listing" "$("$P" index $l --format jsonl "$db")" \
            "$(cat "$D/v$v.$l.jsonl")"
    done
    t_is "v$v: source settings" "$("$P" index source show --format jsonl "$db")" \
        "$(cat "$D/v$v.sources.jsonl")"
    t_is "v$v: counters, format 6" "$("$P" index stats "$db" | grep -E "$STATS")" \
        "$(sed "s/^format_version	.*/format_version	6/" "$D/v$v.stats")"
    t_is "v$v: verify" "$("$P" index verify "$db")" "$db: ok"
    t_is "v$v: no temporary file" "$(ls "$T" | grep -c upgrade-)" 0
done

# v5: lookups of a hash that was in the base (ncmec:bulk-08) and of a
# variant that was in the delta (ncmec:late-variants' rot-5), and of one
# whose segment was not the first (v5seg: seg:s-090's own hash)
for c in "v5 bulk-08 ^{\"hash\":\"\([0-9a-f]*\)\".*" \
         "v5 late-variants .*\"rot-5\":\"\([0-9a-f]*\)\".*" \
         "v5seg s-090 ^{\"hash\":\"\([0-9a-f]*\)\".*"; do
    set -- $c
    h=$(grep "\"id\":\"$2\"" "$D/$1.export.jsonl" | sed "s/$3/\1/")
    out=$(echo "$h" | "$P" lookup --index "$T/$1.phmi" --max-distance 0)
    t_like "$1: lookup finds $2" "$out" "	$2	"
done

db=$T/v4.phmi
# lookup: the hash of ncmec:bulk-00 (disabled and quarantined entries do not match)
h=$(grep '"id":"bulk-00"' "$D/v4.export.jsonl" | sed 's/^{"hash":"\([0-9a-f]*\)".*/\1/')
out=$(echo "$h" | "$P" lookup --index "$db" --max-distance 0)
t_like "lookup finds an upgraded entry" "$out" "bulk-00"
# match: the photo stored with --augment, by a crop of it
out=$(cd "$ROOT" && "$P" match --index "$db" data/queries/bridge-crop.jpg 2>/dev/null)
t_like "match finds the augmented photo" "$out" "data/known/bridge.jpg"

out=$("$P" index upgrade "$db")
t_is "again: exit 0" "$?" 0
t_is "again: nothing to do" "$out" "index '$db' is already format 6: nothing to do"

gzip -dc "$D/v3.phmi.gz" >"$T/b.phmi"
out=$("$P" index upgrade --backup "$T/b.old" "$T/b.phmi")
t_like "--backup: said" "$out" "old file kept as '$T/b.old'$"
t_is "--backup: it is the format-3 file" "$(gzip -dc "$D/v3.phmi.gz" | cmp - "$T/b.old" && echo same)" same

gzip -dc "$D/v2.phmi.gz" >"$T/q.phmi"
t_is "-q: prints nothing" "$("$P" index upgrade -q "$T/q.phmi" 2>&1)" ""
t_is "-q: upgraded" "$("$P" index stats "$T/q.phmi" | sed -n 's/^format_version	//p')" 6

# A directory that cannot be synced (fsync of a directory fails with EIO
# after FAIL_FSYNC_DIR_AFTER that pass: tests/cli/fail_fsync.c, preloaded).
# The first is the compacted copy's (the old file is still in place: a
# plain failure, nothing left behind); the second is after the rename: the
# new file is in place but may not survive a crash, which the upgrade must
# say (exit 1), naming the index and the directory, not report as done.
if ${CC:-cc} -shared -fPIC -o "$T/fail_fsync.so" "$ROOT/tests/cli/fail_fsync.c" -ldl \
    >"$T/shim.log" 2>&1; then
    for after in 0 1; do
        rm -f "$T/s.old"
        gzip -dc "$D/v3.phmi.gz" >"$T/s.phmi"
        out=$(LD_PRELOAD=$T/fail_fsync.so FAIL_FSYNC_DIR_AFTER=$after \
            ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0" \
            "$P" index upgrade --backup "$T/s.old" "$T/s.phmi" 2>&1)
        rc=$?
        if [ $after = 0 ]; then
            w="copy's directory sync fails"
            t_is "$w: exit 1" "$rc" 1
            t_like "$w: says so" "$out" "cannot upgrade index '$T/s.phmi': .*cannot sync its directory: Input/output error"
            t_is "$w: the old file is as it was" \
                "$(gzip -dc "$D/v3.phmi.gz" | cmp - "$T/s.phmi" && echo same)" same
            t_is "$w: no backup" "$(ls "$T/s.old" 2>/dev/null)" ""
        else
            w="directory sync after the rename fails"
            t_is "$w: exit 1" "$rc" 1
            t_like "$w: says so, naming the index and the directory" "$out" \
                "index '$T/s.phmi' was upgraded to format 6, but its directory '$T' cannot be synced: Input/output error; the new file may not survive a crash"
            t_is "$w: the new file is in place" \
                "$("$P" index stats "$T/s.phmi" | sed -n 's/^format_version	//p')" 6
            t_is "$w: the backup is kept" \
                "$(gzip -dc "$D/v3.phmi.gz" | cmp - "$T/s.old" && echo same)" same
        fi
        t_is "$w: no temporary file" "$(ls "$T" | grep -c upgrade-)" 0
    done
else
    for i in 1 2 3 4 5 6 7 8 9 10; do
        t_skip "directory sync fails ($i)" "cannot build the fsync shim: $(head -n 1 "$T/shim.log")"
    done
fi

echo "not an index, some text long enough to be read" >"$T/text.phmi"
out=$("$P" index upgrade "$T/text.phmi" 2>&1)
t_is "not an index: exit 1" "$?" 1
t_like "not an index: says so" "$out" "cannot upgrade index '$T/text.phmi': not a phmatch index"
"$P" index upgrade >/dev/null 2>&1
t_is "no DB: exit 2" "$?" 2
"$P" index upgrade --source x "$db" >/dev/null 2>&1
t_is "an option of another subcommand: exit 2" "$?" 2
t_like "--help tells of upgrade" "$("$P" index --help)" "phmatch index upgrade \[--backup FILE\] \[-q\] DB"
t_done

#!/bin/sh
# index.sh - `phmatch index`: create, import (every list format, one
# transaction, --skip-bad, idempotence), export round trips, add, remove,
# stats, verify, compact, and bad or damaged index files.
. "$(dirname "$0")/lib.sh"

P=$PHMATCH
DB=$T/a.phmi

# count DB - the number of entries.
verify() {
    "$P" index verify "$1" > /dev/null
}

count() {
    "$P" index stats "$1" | awk -F '\t' '$1 == "entries" { print $2 }'
}

# A list with every field: tsv, as export writes it (entries are stored,
# and exported, in (source, id) order).
H1=f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22
H2=e64cc9d91c6238c2f8d1f1d9a398e78c9f199b3bd83924f2b5e11e0bf861b064
H3=1f811b9d267fbc6613c0c3f30e041f9df69b836303e10f067fcffc12c02d01f9
TAB=$(printf '\t')
{
    printf 'hash\tquality\tsource\tid\tcategory\tnote\tadded\tmd5\tsha1\tsha256\n'
    printf '%s\t55\tlocal\tcase 7\t\tnote, with "comma"\t2024-02-02T00:00:00Z\t\t\t\n' "$H3"
    printf '\t\tlocal\tmd5only\tX\t\t2024-02-02T00:00:01Z\t0123456789abcdef0123456789abcdef\t\t\n'
    printf '%s\t90\tncmec\tn-1\tA1\tfirst note\t2024-01-02T03:04:05Z\t\t\t\n' "$H1"
    printf '%s\t\tncmec\tn-2\tB2\t\t2024-01-02T03:04:06Z\td41d8cd98f00b204e9800998ecf8427e\t\t\n' "$H2"
} > "$T/list.tsv"

# ---- create ----
"$P" index create "$DB"
t_is "create exits 0" "$?" 0
t_is "index file has mode 0600" "$(stat -c %a "$DB")" 600
out=$("$P" index create "$DB" 2>&1)
t_is "create refuses an existing file" "$?" 1
t_like "create names the existing path" "$out" "$DB.*already exists"

# ---- import, idempotence ----
out=$("$P" index import "$DB" "$T/list.tsv")
t_is "import tsv exits 0" "$?" 0
t_is "import counts" "$out" "added 4, unchanged 0, updated 0, removed 0"
out=$("$P" index import "$DB" "$T/list.tsv")
t_is "second import changes nothing" "$out" \
    "added 0, unchanged 4, updated 0, removed 0"
"$P" index export "$DB" > "$T/exp.tsv"
t_ok "tsv export is the imported list (lossless)" cmp -s "$T/list.tsv" "$T/exp.tsv"

# ---- export and import again, every format ----
for f in tsv csv jsonl pdq hex hma; do
    "$P" index export --format "$f" "$DB" > "$T/exp.$f" 2> "$T/err.$f"
    rc=$?
    case $f in
    tsv | csv | jsonl)
        t_is "export $f exits 0" "$rc" 0 ;;
    *)  # the md5-only entry has no PDQ hash: not representable
        t_is "export $f exits 1 (an entry without PDQ)" "$rc" 1
        t_like "export $f says which entry" "$(cat "$T/err.$f")" "entry [0-9]* not exported" ;;
    esac
    "$P" index create "$T/rt.$f"
    "$P" index import --source ncmec "$T/rt.$f" "$T/exp.$f" > /dev/null
    t_is "import of the $f export exits 0" "$?" 0
    "$P" index export --format "$f" "$T/rt.$f" > "$T/exp2.$f"
    t_ok "$f round trip: export, import, export is identical" \
        cmp -s "$T/exp.$f" "$T/exp2.$f"
    case $f in
    tsv | csv | jsonl)
        "$P" index export "$T/rt.$f" > "$T/rt.$f.tsv"
        t_ok "$f round trip keeps every field" cmp -s "$T/list.tsv" "$T/rt.$f.tsv" ;;
    esac
done
printf 'pdq %s\n' "$H1" > "$T/hma.txt"
"$P" index create "$T/fmt.phmi"
out=$("$P" index import --format hma --source x "$T/fmt.phmi" "$T/hma.txt")
t_is "--format hma import" "$out" "added 1, unchanged 0, updated 0, removed 0"
out=$("$P" index import --format csv --source x "$T/fmt.phmi" "$T/hma.txt" 2>&1)
t_is "wrong --format gives an error" "$?" 1
out=$("$P" index import "$T/fmt.phmi" "$T/hma.txt" 2>&1)
t_is "a list without sources and no --source: refused" "$?" 1
t_like "... each record says to give --source" "$out" \
    "hma.txt:1: invalid entry: source is empty (the list gives no source: import it with --source NAME)"
out=$(printf '%s,80,stdin-name\n' "$H2" | "$P" index import --source x "$T/fmt.phmi" -)
t_is "import from standard input" "$out" "added 1, unchanged 0, updated 0, removed 0"

# ---- one transaction; --skip-bad ----
before=$(count "$DB")
{
    echo "$H1"
    echo "f8f8"                 # wrong length
    echo "${H1%?}x"             # not hex
    echo "$H2$H2"               # too long
    echo "$H3"
} > "$T/bad.txt"
out=$("$P" index import --source bad "$DB" "$T/bad.txt" 2>&1)
t_is "a bad line fails the import" "$?" 1
t_like "wrong length reported with FILE:LINE" "$out" "bad.txt:2: .*expected 64"
t_like "non-hex reported with FILE:LINE" "$out" "bad.txt:3: .*not a hex digit"
t_like "too long reported with FILE:LINE" "$out" "bad.txt:4: "
t_like "says nothing was imported" "$out" "nothing imported"
t_is "nothing was committed" "$(count "$DB")" "$before"
out=$("$P" index import --skip-bad --source bad "$DB" "$T/bad.txt" 2>"$T/err")
t_is "--skip-bad exits 1" "$?" 1
t_is "--skip-bad stores the good lines" "$out" \
    "added 2, unchanged 0, updated 0, removed 0"
t_like "--skip-bad lists the bad lines" "$(cat "$T/err")" "bad.txt:3: "
t_is "--skip-bad committed" "$(count "$DB")" $((before + 2))

# Strings the index refuses are bad lines too.
long=$(printf '%0200d' 0)
out=$("$P" index import --source "$long" "$DB" "$T/hma.txt" 2>&1)
t_is "a source over the index's limit fails" "$?" 1
t_like "too-long source reported as a bad line" "$out" "hma.txt:1: "
printf '{"hash":"%s","source":"s","id":"a\\u0001b"}\n' "$H1" > "$T/ctl.jsonl"
out=$("$P" index import "$DB" "$T/ctl.jsonl" 2>&1)
t_is "a control character in an id fails" "$?" 1
t_like "control character reported as a bad line" "$out" "ctl.jsonl:1: "

# Duplicates: the same (source, id) twice is one entry (the last wins);
# the same hash under two ids is two entries.
printf '%s,10,dup\n%s,20,dup\n%s,30,other\n' "$H1" "$H1" "$H1" > "$T/dup.pdq"
"$P" index create "$T/dup.phmi"
out=$("$P" index import --source d "$T/dup.phmi" "$T/dup.pdq")
t_is "duplicate lines: import exits 0" "$?" 0
t_is "duplicate (source, id) is one entry" "$(count "$T/dup.phmi")" 2
t_like "the last duplicate wins" "$("$P" index export --format pdq "$T/dup.phmi")" ",20,dup$"

# ---- add, remove ----
out=$("$P" index add "$DB" --hash "$H3" --source manual --id m1 --category Z --note hi --quality 70)
t_is "add" "$out" "added 1, unchanged 0, updated 0, removed 0"
out=$("$P" index add "$DB" --hash "$H3" --source manual --id m1 --category Z --note hi --quality 70)
t_is "add again changes nothing" "$out" "added 0, unchanged 1, updated 0, removed 0"
"$P" index add "$DB" --hash zz --source manual --id m2 2>/dev/null
t_is "add with a malformed hash is a usage error" "$?" 2
"$P" index add "$DB" --hash "$H3" --source manual 2>/dev/null
t_is "add without --id is a usage error" "$?" 2
"$P" index add "$DB" --hash "$H1" --source manual --id m2 > /dev/null
out=$("$P" index remove "$DB" --source manual --id m1)
t_is "remove by id" "$out" "removed 1"
out=$("$P" index remove "$DB" --source manual --id m1 2>&1)
t_is "remove of a missing id exits 1" "$?" 1
out=$("$P" index remove "$DB" --source bad --all)
t_is "remove a whole source" "$out" "removed 2"
"$P" index remove "$DB" --source x 2>/dev/null
t_is "remove needs --id or --all" "$?" 2
# an invalid source or id is a usage error (exit 2) for add and remove alike
long=$(printf '%0129d' 0)
"$P" index add "$DB" --hash "$H3" --source "$long" --id m3 2>/dev/null
t_is "add with a source over 128 bytes exits 2" "$?" 2
out=$("$P" index remove "$DB" --source "$long" --id m3 2>&1)
t_is "remove with a source over 128 bytes exits 2" "$?" 2
t_like "remove with a source over 128 bytes: says why" "$out" "source is empty or longer than 128 bytes"
"$P" index remove "$DB" --source "$long" --all 2>/dev/null
t_is "remove --all with a source over 128 bytes exits 2" "$?" 2
"$P" index remove "$DB" --source manual --id "$(printf '%0257d' 0)" 2>/dev/null
t_is "remove with an id over 256 bytes exits 2" "$?" 2

# ---- a feed's deletions (removed together: phm_index_remove_many) ----
# Deletions between adds apply in the list's order: f2 deleted then added
# again stays (category B), a deletion of an id not stored is no error, a
# bad record's message comes where it is.
nx() { printf '<image><id>%s</id><classification>%s</classification><fingerprints><pdq>%s</pdq></fingerprints></image>\n' "$1" "$2" "$3"; }
nd() { printf '<deletedImage><id>%s</id></deletedImage>\n' "$1"; }
{ echo '<queryResult><images>'; nx f1 A "$H1"; nx f2 A "$H2"; nx f3 A "$H3"; nx f4 A "$H1"
  nx f5 A "$H2"; echo '</images></queryResult>'; } >"$T/feed1.xml"
{ echo '<queryResult><images>'; nd f1; nd f2; nx f2 B "$H3"; nd f3; nd f9; echo '<image></image>'
  nd f4; echo '</images></queryResult>'; } >"$T/feed2.xml"
"$P" index create "$T/feed.phmi"
"$P" index import --format ncmec --source feed "$T/feed.phmi" "$T/feed1.xml" >/dev/null
out=$("$P" index import --skip-bad --format ncmec --source feed "$T/feed.phmi" "$T/feed2.xml" \
    2>"$T/feed.err")
t_is "feed deletions: counts" "$out" "added 1, unchanged 0, updated 0, removed 4"
t_is "feed deletions: the bad record said, as before" "$(head -n 1 "$T/feed.err")" \
    "$T/feed2.xml: record 6: <image> without an <id>"
t_is "feed deletions: what is left" \
    "$("$P" index export --format csv "$T/feed.phmi" | cut -d, -f3-5 | sort | tr '\n' ' ')" \
    "feed,f2,B feed,f5,A source,id,category "

# ---- stats, verify, compact ----
st=$("$P" index stats "$DB")
t_like "stats: format version" "$st" "^format_version${TAB}6$"
t_like "stats: count per source and category" "$st" "^group${TAB}ncmec${TAB}A1${TAB}1$"
t_like "stats: size on disk" "$st" "^file_bytes${TAB}[1-9]"
t_like "stats: entries since compaction" "$st" "^delta_entries${TAB}"
for f in format_version entries pdq_entries video_entries video_frames video_hashes \
    digests sources base_entries delta_entries dead_entries generation file_bytes \
    used_bytes map_bytes created compacted simd; do
    printf '%s\n' "$st" | grep -q "^$f${TAB}" || missing="${missing:-} $f"
done
t_is "stats: every field of phm_index_stats by its name" "${missing:-none}" none
js=$("$P" index stats --format json "$DB")
t_is "stats --format json exits 0" "$?" 0
t_like "stats --format json: one object" "$js" '^{"path":".*","format_version":6,"entries":[0-9]*,.*"groups":\[.*\]}$'
t_like "stats --format json: video counts" "$js" '"video_entries":0,"video_frames":0,"video_hashes":0,'
t_like "stats --format json: a group" "$js" '{"source":"ncmec","category":"A1","count":1}'
t_like "stats --format json: the same values as text" "$js" \
    "\"entries\":$(printf '%s\n' "$st" | sed -n "s/^entries${TAB}//p"),"
"$P" index stats --format csv "$DB" 2>/dev/null
t_is "stats --format csv: usage error" "$?" 2
out=$("$P" index verify "$DB")
t_is "verify passes" "$?" 0
"$P" index compact "$DB"
t_is "compact exits 0" "$?" 0
st=$("$P" index stats "$DB")
t_like "compact empties the delta" "$st" "^delta_entries${TAB}0$"
t_ok "verify after compact" verify "$DB"
"$P" index export "$DB" > "$T/after.tsv"
t_ok "compact keeps the entries" grep -q "ncmec${TAB}n-1" "$T/after.tsv"

# ---- bad index paths ----
out=$("$P" index stats "$T/missing.phmi" 2>&1)
t_is "missing index: exit 2" "$?" 2
t_like "missing index: names the path" "$out" "missing.phmi"
t_ok "missing index is not created" test ! -e "$T/missing.phmi"
echo "just some text, not an index" > "$T/foreign"
out=$("$P" index stats "$T/foreign" 2>&1)
t_is "foreign file: exit 2" "$?" 2
t_like "foreign file: names the path" "$out" "foreign"
out=$("$P" index import "$T/foreign" "$T/hma.txt" 2>&1)
t_is "import into a foreign file: exit 2" "$?" 2
t_is "foreign file untouched" "$(cat "$T/foreign")" "just some text, not an index"
out=$("$P" index verify "$T/foreign" 2>&1)
t_is "verify of a foreign file: exit 1" "$?" 1
cp "$DB" "$T/trunc.phmi"
truncate -s 6000 "$T/trunc.phmi"
out=$("$P" index stats "$T/trunc.phmi" 2>&1)
t_is "truncated index: exit 2" "$?" 2
t_like "truncated index: names the path" "$out" "trunc.phmi"
out=$("$P" index verify "$T/trunc.phmi" 2>&1)
t_is "verify of a truncated index: exit 1" "$?" 1
out=$("$P" index stats "$T" 2>&1)
t_is "a directory as the index: exit 2" "$?" 2
# Another format version (1, before video entries): meta/format rewritten with LMDB's own tools.
if t_have mdb_dump && t_have mdb_load; then
    cp "$DB" "$T/v1.phmi"
    mdb_dump -n -s meta "$T/v1.phmi" |
        awk 'p { $0 = " 01000000"; p = 0 } $1 == "666f726d6174" { p = 1 } { print }' |
        mdb_load -n -s meta "$T/v1.phmi" 2>/dev/null
    out=$("$P" index stats "$T/v1.phmi" 2>&1)
    t_is "another format version: exit 2" "$?" 2
    t_like "another format version: says so, names the path" "$out" \
        "v1.phmi.*version 1 is not supported .this build reads version 6."
    out=$("$P" index import "$T/v1.phmi" "$T/hma.txt" 2>&1)
    t_is "import into another format version: exit 2" "$?" 2
else
    t_skip "index of another format version" "mdb_dump/mdb_load (lmdb-utils) not installed"
fi

# Read-only file: the reading commands open it read-only.
cp "$DB" "$T/ro.phmi"
chmod 0400 "$T/ro.phmi"
"$P" index stats "$T/ro.phmi" > /dev/null
t_is "stats of a read-only file" "$?" 0
"$P" index export "$T/ro.phmi" > /dev/null
t_is "export of a read-only file" "$?" 0
t_ok "verify of a read-only file" verify "$T/ro.phmi"
# Root passes permission checks: then the import runs as nobody, on a file
# (and lock file) of nobody's, in a directory nobody may enter.
as=
if [ "$(id -u)" = 0 ]; then
    if t_nobody; then
        chmod 755 "$T" && chmod 644 "$T/hma.txt" && chown 65534:65534 "$T/ro.phmi" &&
            { [ ! -e "$T/ro.phmi-lock" ] || chown 65534:65534 "$T/ro.phmi-lock"; } || exit 1
        as=$NOBODY
    else
        as=skip
    fi
fi
if [ "$as" = skip ]; then
    t_skip "import into a read-only file fails" "cannot run as another user"
else
    out=$($as "$P" index import --source x "$T/ro.phmi" "$T/hma.txt" 2>&1)
    rc=$?
    t_is "import into a read-only file: exit 2" "$rc" 2
    t_like "read-only: names the path and the cause" "$out" "ro.phmi.*Permission denied"
fi

# ---- full map: clear error, index intact ----
"$P" index create "$T/full.phmi"
"$P" index import --source s "$T/full.phmi" "$T/hma.txt" > /dev/null
awk 'BEGIN { srand(7); for (i = 0; i < 20000; i++) {
    s = ""; for (j = 0; j < 64; j++) s = s substr("0123456789abcdef", int(rand() * 16) + 1, 1)
    print s } }' > "$T/many.txt"
out=$("$P" index import --map-size 256Ki --source big "$T/full.phmi" "$T/many.txt" 2>&1)
t_is "full map: exit 1" "$?" 1
t_like "full map: clear error" "$out" "full"
t_is "full map: nothing stored" "$(count "$T/full.phmi")" 1
t_ok "full map: verify passes" verify "$T/full.phmi"

# ---- import killed with -9: the last committed state ----
"$P" index create "$T/kill.phmi"
"$P" index import --source s "$T/kill.phmi" "$T/hma.txt" > /dev/null
cat "$T/many.txt" "$T/many.txt" "$T/many.txt" "$T/many.txt" "$T/many.txt" | \
    awk '{ print $0 "," NR ",n" NR }' > "$T/kill.pdq"
"$P" index import --source k "$T/kill.phmi" "$T/kill.pdq" > /dev/null 2>&1 &
pid=$!
sleep 0.1
kill -9 "$pid" 2>/dev/null
wait "$pid" 2>/dev/null
n=$(count "$T/kill.phmi")
case $n in
1 | 100001) t_pass "killed import: last committed state ($n entries)" ;;
*) t_fail "killed import: last committed state"; t_diag "entries: $n" ;;
esac
t_ok "killed import: verify passes" verify "$T/kill.phmi"

# ---- round trip (issue 11): every record that export writes, in every
# format, is accepted by import, answering unchanged ----
R=$T/rich.phmi
t_ok "round trip: the rich index" rt_rich_index "$R"
for f in pdq hex hma csv tsv jsonl; do
    # E0: the rich index in format f (what f cannot carry is left out);
    # DB: a fresh index of E0; E1: DB exported again.
    "$P" index export --format "$f" "$R" >"$T/rt-$f.0" 2>/dev/null
    "$P" index create "$T/rt-$f.phmi"
    n=$(rt_counts "$("$P" index import --source rt --category c "$T/rt-$f.phmi" "$T/rt-$f.0")")
    n=${n%% *}
    "$P" index export --format "$f" "$T/rt-$f.phmi" >"$T/rt-$f.1"
    t_is "round trip $f: export, import again: all $n unchanged" \
        "$("$P" index import --source rt --category c "$T/rt-$f.phmi" "$T/rt-$f.1" 2>&1)" \
        "added 0, unchanged $n, updated 0, removed 0"
    case $f in
    csv | tsv | jsonl)
        t_is "round trip $f: the rich index's own export: all $n unchanged" \
            "$("$P" index import "$R" "$T/rt-$f.0" 2>&1)" \
            "added 0, unchanged $n, updated 0, removed 0" ;;
    esac
done
# lines: pdq/hex/hma the 4 PDQ entries; csv/tsv a header and all but the
# video; jsonl all but the entry whose note is not UTF-8
t_is "round trip: lines written (pdq hex hma csv tsv jsonl)" \
    "$(for f in pdq hex hma csv tsv jsonl; do printf '%s ' "$(grep -c . "$T/rt-$f.1")"; done)" \
    "4 4 4 7 7 6 "
mkdir "$T/rt-vpdq"
"$P" index export --format vpdq --output-dir "$T/rt-vpdq" "$R" >/dev/null 2>&1
t_is "round trip vpdq: its file imported again: unchanged" \
    "$("$P" index import --source vid --category clips "$R" "$T/rt-vpdq"/*.txt 2>&1)" \
    "added 0, unchanged 1, updated 0, removed 0"

# ---- usage ----
"$P" index 2>/dev/null
t_is "no subcommand: exit 2" "$?" 2
"$P" index frob "$DB" 2>/dev/null
t_is "unknown subcommand: exit 2" "$?" 2
"$P" index stats --skip-bad "$DB" 2>/dev/null
t_is "an option the subcommand does not take: exit 2" "$?" 2
"$P" index import "$DB" 2>/dev/null
t_is "import without FILE: exit 2" "$?" 2
t_like "index --help" "$("$P" index --help)" "^usage: phmatch index"

t_done

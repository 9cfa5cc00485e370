#!/bin/sh
# import_ahead.sh - `phmatch index import` of a file reads it ahead in a
# thread (phm_hashlist_options.read_ahead); from a pipe it reads on the
# importing thread. Both must import the same: every sample list of every
# format (tests/data/hashlists/) and generated ones (line-numbered hex
# lists past "9" -> "10" with bad and all-zero lines and comments, a csv
# giving one id two hashes, a csv with quoted notes), imported from
# the file and from a pipe into fresh indexes: the same exit status,
# summary, error lines (the list's name aside) and export. A hex list's
# content is also checked against awk's reading of it (ids = line numbers,
# bad lines refused), and an import without --skip-bad must store nothing.
# TAP on stdout.
. "$(dirname "$0")/lib.sh"

t_need_phmatch

# import NAME LIST MODE ARGS... - imports LIST into a fresh $T/NAME.phmi from
# the file (MODE file) or a pipe (MODE pipe); keeps status, stdout, stderr
# (the list's name written LIST) and the export (jsonl, added times out:
# entries without one get the import's clock).
import() {
    _db=$T/$1.phmi
    _list=$2
    _mode=$3
    shift 3
    rm -f "$_db" "$_db-lock"
    "$PHMATCH" index create "$_db" >/dev/null 2>&1
    if [ "$_mode" = file ]; then
        "$PHMATCH" index import "$@" "$_db" "$_list" >"$T/out" 2>"$T/err.raw"
    else
        cat "$_list" | "$PHMATCH" index import "$@" "$_db" - >"$T/out" 2>"$T/err.raw"
    fi
    echo "status $?" >>"$T/out"
    # the list's name as messages show it (hl_shown: at most 200 bytes)
    awk -v a="$_list" -v b="(standard input)" '{
        while ((i = index($0, a)) > 0) $0 = substr($0, 1, i - 1) "LIST" substr($0, i + length(a))
        while ((i = index($0, b)) > 0) $0 = substr($0, 1, i - 1) "LIST" substr($0, i + length(b))
        print }' "$T/err.raw" >"$T/err"
    "$PHMATCH" index export --format jsonl "$_db" 2>&1 |
        sed 's/"added":"[^"]*"//' >"$T/export"
    cat "$T/out" "$T/err" "$T/export"
}

# same NAME LIST ARGS... - imports LIST from a pipe and from the file (the
# index $T/NAME.phmi is then the file's).
same() {
    _n=$1
    _l=$2
    shift 2
    # one index name for both (messages name it); the file's import last
    import "$_n" "$_l" pipe "$@" >"$T/$_n.pipe"
    import "$_n" "$_l" file "$@" >"$T/$_n.file"
    if cmp -s "$T/$_n.file" "$T/$_n.pipe" && [ -s "$T/$_n.file" ]; then
        t_pass "$_n: the same from the file and from a pipe"
    else
        t_fail "$_n: the same from the file and from a pipe"
        t_diag "$(diff "$T/$_n.file" "$T/$_n.pipe" | head -20)"
    fi
}

for f in "$ROOT"/tests/data/hashlists/*; do
    case $f in *.md) continue ;; esac
    same "$(basename "$f")" "$f" --skip-bad --source s --category c
done

# A hex list of 25,000 random hashes numbered by line: every 997th too
# short, every 1499th a comment, every 2503rd all zero.
awk 'BEGIN {
    srand(17)
    for (i = 1; i <= 25000; i++) {
        h = ""
        for (j = 0; j < 64; j++) h = h substr("0123456789abcdef", int(rand() * 16) + 1, 1)
        if (i % 997 == 5) print substr(h, 1, 60)
        else if (i % 1499 == 7) print "# comment " i
        else if (i % 2503 == 11) print "0000000000000000000000000000000000000000000000000000000000000000"
        else print h
    } }' >"$T/big.hex"
same big.hex "$T/big.hex" --skip-bad --source bench

# awk's reading: ids are line numbers; lines of 64 hex digits with 96..160
# bits set are stored, the others refused
awk 'BEGIN { split("0 1 1 2 1 2 2 3 1 2 2 3 2 3 3 4", pc, " ") }
    /^#/ { next }
    length($0) == 64 {
        c = 0
        for (i = 1; i <= 64; i++) c += pc[index("0123456789abcdef", substr($0, i, 1))]
        if (c >= 96 && c <= 160) print NR "," $0
    }' "$T/big.hex" | sort >"$T/big.want"
"$PHMATCH" index export --format csv "$T/big.hex.phmi" |
    awk -F, 'NR > 1 { print $4 "," $1 }' | sort >"$T/big.got"
if cmp -s "$T/big.got" "$T/big.want"; then
    t_pass "big.hex: the index holds awk's reading of the list ($(wc -l <"$T/big.want") entries)"
else
    t_fail "big.hex: the index holds awk's reading of the list"
    t_diag "$(diff "$T/big.got" "$T/big.want" | head -10)"
fi
t_like "big.hex: bad lines named" "$(cat "$T/big.hex.file")" "^LIST:5: invalid hash: 60 hex digits, expected 64"

# Without --skip-bad: nothing stored, exit 1, from either.
same big.hex-strict "$T/big.hex" --source bench
t_like "big.hex without --skip-bad: nothing imported" "$(cat "$T/big.hex-strict.file")" \
    "nothing imported into"

# One id given two hashes (refused, the first kept), the same hash again
# (fine), notes with commas and quotes.
awk 'BEGIN {
    print "hash,id,note"
    for (i = 1; i <= 6000; i++) {
        h = ""
        for (j = 0; j < 32; j++) h = h substr("0123456789abcdef", int(rand() * 16) + 1, 1)
        h = h h # 32 random digits twice: never an all-zero hash
        id = i % 2000
        printf "%s,x%d,\"note %d, \"\"quoted\"\"\"\n", (i % 3 == 0 ? prev[id] : h), id, i
        if (!(id in prev)) prev[id] = h
    } }' >"$T/dup.csv"
same dup.csv "$T/dup.csv" --skip-bad --source s
t_like "dup.csv: an id given another hash refused" "$(cat "$T/dup.csv.file")" \
    "was given another hash earlier in this import"

t_done

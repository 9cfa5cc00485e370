#!/bin/sh
# lookup.sh - `phmatch lookup`: exact results at several radii against
# hashes made at known distances, k-nearest, formats, exit statuses, and a
# long-running lookup seeing entries another process imports.
. "$(dirname "$0")/lib.sh"

P=$PHMATCH
DB=$T/k.phmi
B=f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22
TAB=$(printf '\t')

# flip HEX N - HEX with the low bit of each of its first N digits flipped
# (N <= 64): exactly N bits from HEX.
flip() {
    awk -v h="$1" -v n="$2" 'BEGIN {
        a = "0123456789abcdef"; b = "1032547698badcfe"; out = ""
        for (i = 1; i <= 64; i++) {
            c = substr(h, i, 1)
            if (i <= n) c = substr(b, index(a, c), 1)
            out = out c
        }
        print out }'
}

# An entry d<D> at distance D from B, for each D; and an unrelated one.
DISTS="0 1 5 20 31 32 40 64"
for d in $DISTS; do
    printf '%s,,d%s\n' "$(flip "$B" "$d")" "$d"
done > "$T/known.pdq"
"$P" index create "$DB"
"$P" index import --source t --category C "$DB" "$T/known.pdq" > /dev/null

# ids R - the ids lookup of B reports at radius R, sorted.
ids() {
    echo "$B" | "$P" lookup --index "$DB" --max-distance "$1" |
        awk -F '\t' 'NR > 1 && $4 == "match" { print $7 }' | sort | tr '\n' ' '
}
# expected R - the ids within R, by construction.
expected() {
    for d in $DISTS; do [ "$d" -le "$1" ] && echo "d$d"; done | sort | tr '\n' ' '
}
for r in 0 1 4 5 30 31 32 63 64 128; do
    t_is "radius $r: exactly the entries within $r" "$(ids "$r")" "$(expected "$r")"
done
t_is "default radius is 31" \
    "$(echo "$B" | "$P" lookup --index "$DB" | awk -F '\t' 'NR > 1 { print $7 }' | sort | tr '\n' ' ')" \
    "$(expected 31)"

# Distances reported are the Hamming distances.
out=$(echo "$B" | "$P" lookup --index "$DB" --max-distance 64 |
    awk -F '\t' 'NR > 1 { print $7 "=" $10 }' | sort | tr '\n' ' ')
t_is "distances are exact" "$out" "$(for d in $DISTS; do echo "d$d=$d"; done | sort | tr '\n' ' ')"

# Results come sorted by distance.
out=$(echo "$B" | "$P" lookup --index "$DB" --max-distance 64 |
    awk -F '\t' 'NR > 1 { print $10 }' | tr '\n' ' ')
t_is "sorted by distance" "$out" "0 1 5 20 31 32 40 64 "

out=$(echo "$B" | "$P" lookup --index "$DB" --knn 3 --max-distance 64 |
    awk -F '\t' 'NR > 1 { print $7 }' | tr '\n' ' ')
t_is "--knn 3: the 3 nearest" "$out" "d0 d1 d5 "
out=$(echo "$B" | "$P" lookup --index "$DB" --knn 2 --max-distance 0 |
    awk -F '\t' 'NR > 1 { print $7 }' | tr '\n' ' ')
t_is "--knn within --max-distance" "$out" "d0 "

# A query with no match: one row, status none; exit 0.
far=$(flip "$(flip "$B" 64 | tr '0123456789abcdef' 'fedcba9876543210')" 0)
out=$(echo "$far" | "$P" lookup --index "$DB")
t_is "no match: exit 0" "$?" 0
t_is "no match: a row of status none" "$(echo "$out" | sed -n 2p)" \
    "-${TAB}1${TAB}${far}${TAB}none${TAB}${TAB}${TAB}${TAB}${TAB}${TAB}${TAB}${TAB}${TAB}${TAB}${TAB}${TAB}${TAB}${TAB}"

# Several queries, in order, from files in any format.
{ echo "$far"; echo "$B"; } > "$T/q.hex"
printf '%s,50,a\n%s,60,b\n' "$B" "$far" > "$T/q.pdq"
out=$("$P" lookup --index "$DB" --max-distance 0 "$T/q.hex" "$T/q.pdq" |
    awk -F '\t' 'NR > 1 { print $2 $4 }' | tr '\n' ' ')
t_is "queries answered in input order, pdq lines auto-detected" "$out" \
    "1none 2match 1match 2none "
printf 'pdq %s\n' "$B" | "$P" lookup --index "$DB" --max-distance 0 > "$T/o"
t_is "hma lines auto-detected" "$(awk -F '\t' 'NR == 2 { print $7 }' "$T/o")" d0

# A list of 5000 queries (several batches): one row each when nothing is
# within 0 but the one.
awk -v b="$B" 'BEGIN { for (i = 0; i < 5000; i++) print (i == 4321 ? b : sprintf("%064x", i + 1)) }' \
    > "$T/many.hex"
out=$("$P" lookup --index "$DB" --max-distance 0 "$T/many.hex" |
    awk -F '\t' 'NR > 1 { n++ } $4 == "match" { m = $2 } END { print n, m }')
t_is "5000 queries: one row each, the match on its line" "$out" "5000 4322"

# Large inputs are split between threads: the same rows, in input order,
# as one query at a time from a pipe.
for k in $(seq 0 64); do flip "$B" "$k"; done > "$T/fam.hex"
for i in $(seq 1 40); do cat "$T/fam.hex"; done > "$T/fam40.hex"
OMP_NUM_THREADS=2 "$P" lookup --index "$DB" - < "$T/fam40.hex" > "$T/par.tsv"
t_is "threads: exit 0" "$?" 0
cat "$T/fam40.hex" | OMP_NUM_THREADS=1 "$P" lookup --index "$DB" > "$T/ser.tsv"
t_ok "threads: same output, same order as one by one" cmp -s "$T/par.tsv" "$T/ser.tsv"
t_is "threads: every query answered" "$(awk -F '\t' 'NR > 1 { print $2 }' "$T/par.tsv" | sort -un | wc -l)" 2600
"$P" lookup -j 2 --index "$DB" - < "$T/fam40.hex" > "$T/j2.tsv"
t_ok "-j 2: the same output as one thread" cmp -s "$T/j2.tsv" "$T/ser.tsv"
OMP_NUM_THREADS=1 "$P" lookup --jobs 0 --index "$DB" - < "$T/fam40.hex" > "$T/j0.tsv"
t_ok "-j 0 (all cores) over OMP_NUM_THREADS=1: the same output" cmp -s "$T/j0.tsv" "$T/ser.tsv"
"$P" lookup -j 17 --index "$DB" - < "$T/fam40.hex" > /dev/null 2> "$T/j17.err"
t_is "-j 17: usage error" "$?" 2
t_like "... naming the option" "$(cat "$T/j17.err")" "for -j: must be 0..16"

# Formats.
out=$(echo "$B" | "$P" lookup --index "$DB" --max-distance 0 --format csv)
t_is "csv: the match record's columns, as phmatch match" "$out" "input,line,query,status,entry,source,id,category,entry_kind,distance,orientation,variant,known_variant,frame,timestamp,frames,query_percent,compared_percent
-,1,$B,match,1,t,d0,C,image,0,original,,,,,,,"
out=$(echo "$B" | "$P" lookup --index "$DB" --max-distance 1 --format jsonl)
t_is "jsonl: the match records" "$out" "{\"input\":\"-\",\"line\":1,\"query\":\"$B\",\"matches\":[{\"entry\":1,\"source\":\"t\",\"id\":\"d0\",\"category\":\"C\",\"kind\":\"image\",\"distance\":0,\"orientation\":\"original\",\"variant\":null,\"known_variant\":null,\"frame\":null,\"timestamp\":null,\"frames\":null,\"query_percent\":null,\"compared_percent\":null,\"suppressed_by\":null},{\"entry\":2,\"source\":\"t\",\"id\":\"d1\",\"category\":\"C\",\"kind\":\"image\",\"distance\":1,\"orientation\":\"original\",\"variant\":null,\"known_variant\":null,\"frame\":null,\"timestamp\":null,\"frames\":null,\"query_percent\":null,\"compared_percent\":null,\"suppressed_by\":null}]}"

# Digest-only queries match exactly on the digest.
printf 'hash,md5,source,id\n,0123456789abcdef0123456789abcdef,t,m1\n' > "$T/md5.csv"
"$P" index import "$DB" "$T/md5.csv" > /dev/null
out=$("$P" lookup --index "$DB" --format csv "$T/md5.csv" | sed -n 2p)
t_like "a digest query matches on the digest" "$out" ",md5:0123456789abcdef0123456789abcdef,match,.*,m1,"
S1=00112233445566778899aabbccddeeff00112233
S256=ffeeddccbbaa99887766554433221100ffeeddccbbaa99887766554433221100
printf 'hash,sha1,sha256,source,id\n,%s,,t,s1\n,,%s,t,s256\n' "$S1" "$S256" > "$T/sha.csv"
"$P" index import "$DB" "$T/sha.csv" > /dev/null
out=$("$P" lookup --index "$DB" --format csv "$T/sha.csv" | sed -n '2,3p' | cut -d, -f3,4,6,7)
t_is "sha1 and sha256 queries match on their digests" "$out" "sha1:$S1,match,t,s1
sha256:$S256,match,t,s256"

# --knn over a file of 1,200 queries (a batch split between threads),
# PDQ and digest queries alternating: each PDQ query its 2 nearest, each
# digest query its digest's entry, in input order.
awk -v b="$B" 'BEGIN { print "hash,md5"
    for (i = 0; i < 600; i++) { print b ","; print ",0123456789abcdef0123456789abcdef" } }' \
    > "$T/knn.csv"
out=$("$P" lookup --index "$DB" --knn 2 --max-distance 64 -j 2 "$T/knn.csv" |
    awk -F '\t' 'NR > 1 { print $2 ":" $7 }' | md5sum)
t_is "--knn in parallel batches: PDQ and digest queries, in order" "$out" \
    "$(awk 'BEGIN { for (i = 0; i < 600; i++) printf "%d:d0\n%d:d1\n%d:m1\n", 2 * i + 2, 2 * i + 2, 2 * i + 3 }' | md5sum)"

# Exit statuses.
echo "$B" | "$P" lookup --index "$DB" --fail-on-match > /dev/null
t_is "--fail-on-match with a match: exit 4" "$?" 4
echo "$far" | "$P" lookup --index "$DB" --fail-on-match > /dev/null
t_is "--fail-on-match without a match: exit 0" "$?" 0
out=$(printf '%s\nf8f8\n%s\n' "$B" "$B" | "$P" lookup --index "$DB" 2>&1 >"$T/o")
t_is "a bad line: exit 1" "$?" 1
t_like "a bad line is reported with its line number" "$out" "(standard input):2: "
t_is "the other lines are answered" "$(awk -F '\t' '$4 == "match" { print $2 }' "$T/o" | sort -u | tr '\n' ' ')" "1 3 "
echo "$B" | "$P" lookup --index "$DB" --dihedral > /dev/null 2>"$T/err"
t_is "--dihedral: exit 2" "$?" 2
t_like "--dihedral: says why" "$(cat "$T/err")" "match --dihedral"
echo "$B" | "$P" lookup --index "$DB" --max-distance 129 2>/dev/null
t_is "--max-distance 129: exit 2" "$?" 2
echo "$B" | "$P" lookup 2>/dev/null
t_is "no --index: exit 2" "$?" 2
out=$(echo "$B" | "$P" lookup --index "$T/none.phmi" 2>&1)
t_is "missing index: exit 2" "$?" 2
t_like "missing index: names it" "$out" "none.phmi"
"$P" lookup --index "$DB" "$T/nosuch" > /dev/null 2>&1
t_is "missing query file: exit 1" "$?" 1

# jsonl of a file of queries (the batch path): several records a line,
# long ids, sources and categories full of quotes (JSON escapes them), read
# back by python's json module and compared with the tsv rows of the
# same lookup (another writer).
if t_python; then
    long=$(awk 'BEGIN { for (i = 0; i < 60; i++) printf "q\"/"; }')
    src=$(echo "$long" | cut -c 1-100) # sources, categories: <= 128 bytes
    : > "$T/long.csv"
    echo 'hash,source,id,category' > "$T/long.csv"
    for d in 0 2 4 6 8 10; do
        printf '%s,"s%s","%s-%s","c%s"\n' "$(flip "$B" "$d")" "$(echo "$src" | sed 's/"/""/g')" \
            "$(echo "$long" | sed 's/"/""/g')" "$d" "$(echo "$src" | sed 's/"/""/g')" >> "$T/long.csv"
    done
    "$P" index create "$T/long.phmi"
    "$P" index import "$T/long.phmi" "$T/long.csv" > /dev/null
    for i in 1 2 3; do echo "$B"; echo "$(flip "$B" 7)"; echo "$far"; done > "$T/lq.txt"
    "$P" lookup --index "$T/long.phmi" -j 1 --format jsonl "$T/lq.txt" > "$T/lq.jsonl"
    "$P" lookup --index "$T/long.phmi" -j 1 --format tsv "$T/lq.txt" > "$T/lq.tsv"
    out=$(python3 - "$T/lq.jsonl" "$T/lq.tsv" <<'PYEOF'
import csv, json, sys
got = []
for line in open(sys.argv[1], encoding="utf-8"):
    o = json.loads(line)
    if not o["matches"]:
        got.append((str(o["line"]), "", "", "", ""))
    for m in o["matches"]:
        got.append((str(o["line"]), m["source"], m["id"], m["category"], str(m["distance"])))
want = [(r["line"], r["source"], r["id"], r["category"], r["distance"])
        for r in csv.DictReader(open(sys.argv[2], encoding="utf-8"), delimiter="\t",
                                quoting=csv.QUOTE_NONE)]
print("%d records %s" % (len(got), "same" if got == want else "differ: %r %r" % (got[:3], want[:3])))
PYEOF
)
    t_is "jsonl of a query file: the records of the tsv rows" "$out" "39 records same"
else
    t_skip "jsonl of a query file: no python3" 1
fi

# jsonl bytes of ids and input names that are user data: quotes,
# backslashes, UTF-8, U+2028, a byte that is not UTF-8, and in the file
# name a tab and a control character; the same line from the batch path
# (a regular file) and the line-by-line one (a pipe).
Z=$(flip "$B" 0)
printf 'hash,source,id,category\n%s,"s""q","a""b\\c","c\\d"\n%s,s2,"\303\251\342\202\254\360\237\230\200\342\200\250",C\n%s,s3,"x\377y",C\n' \
    "$Z" "$Z" "$Z" > "$T/tricky.csv"
"$P" index create "$T/tricky.phmi"
"$P" index import "$T/tricky.phmi" "$T/tricky.csv" > /dev/null
qf=$T/$(printf 'q"u\\o\tte\001\303\251\377.txt')
printf '%s\n%s\n' "$B" "$far" > "$qf"
rest='"kind":"image","distance":0,"orientation":"original","variant":null,"known_variant":null,"frame":null,"timestamp":null,"frames":null,"query_percent":null,"compared_percent":null,"suppressed_by":null}'
matches="[{\"entry\":1,\"source\":\"s\\\"q\",\"id\":\"a\\\"b\\\\c\",\"category\":\"c\\\\d\",$rest,{\"entry\":2,\"source\":\"s2\",\"id\":\"$(printf '\303\251\342\202\254\360\237\230\200')\\u2028\",\"category\":\"C\",$rest,{\"entry\":3,\"source\":\"s3\",\"id\":\"x\\ufffdy\",\"category\":\"C\",$rest]"
qname=$(printf '%s' "$T/" | sed 's/\\/\\\\/g; s/"/\\"/g')$(printf 'q\\"u\\\\o\\tte\\u0001\303\251\\ufffd.txt')
want="{\"input\":\"$qname\",\"line\":1,\"query\":\"$B\",\"matches\":$matches}
{\"input\":\"$qname\",\"line\":2,\"query\":\"$far\",\"matches\":[]}"
t_is "jsonl: ids and the input name escaped, byte for byte" \
    "$("$P" lookup --index "$T/tricky.phmi" -j 1 --format jsonl "$qf")" "$want"
t_is "jsonl from a pipe: the same bytes, input \"-\"" \
    "$(cat "$qf" | "$P" lookup --index "$T/tricky.phmi" --format jsonl)" \
    "$(printf '%s\n' "$want" | sed "s|\"input\":\"[^,]*\.txt\"|\"input\":\"-\"|")"

# A jsonl line longer than the buffer it is built in (8 KB): 40 matches
# with ids of 250 bytes full of quotes (tsv writes a backslash escaped:
# none here), every byte of it as the json module rebuilds it
# from the tsv rows of the same lookup; batches of more than 512 queries
# split between 2 threads, the same bytes as one thread.
if t_python; then
    awk -v b="$B" 'BEGIN { print "hash,source,id,category"
        for (i = 0; i < 40; i++) {
            id = sprintf("%03d", i); while (length(id) < 250) id = id "\"x/"
            gsub(/"/, "\"\"", id); print b ",big,\"" substr(id, 1, 250) "\",C" } }' \
        > "$T/big.csv"
    "$P" index create "$T/big.phmi"
    "$P" index import "$T/big.phmi" "$T/big.csv" > /dev/null
    for i in $(seq 1 300); do echo "$B"; echo "$far"; done > "$T/big.txt"
    "$P" lookup --index "$T/big.phmi" -j 1 --format jsonl "$T/big.txt" > "$T/big1.jsonl"
    "$P" lookup --index "$T/big.phmi" -j 2 --format jsonl "$T/big.txt" > "$T/big2.jsonl"
    "$P" lookup --index "$T/big.phmi" -j 1 --format tsv "$T/big.txt" > "$T/big.tsv"
    out=$(python3 - "$T/big1.jsonl" "$T/big.tsv" "$T/big.txt" <<'PYEOF'
import csv, json, sys
rows = list(csv.DictReader(open(sys.argv[2], encoding="utf-8"), delimiter="\t",
                           quoting=csv.QUOTE_NONE))
want, cur = [], None
tail = ('"kind":"image","distance":%s,"orientation":"original","variant":null,'
        '"known_variant":null,"frame":null,"timestamp":null,"frames":null,'
        '"query_percent":null,"compared_percent":null,"suppressed_by":null}')
for r in rows:
    if cur is None or cur[0] != r["line"]:
        cur = [r["line"], r["query"], []]
        want.append(cur)
    if r["status"] == "match":
        cur[2].append('{"entry":%s,"source":%s,"id":%s,"category":%s,' % (
            r["entry"], json.dumps(r["source"]), json.dumps(r["id"]),
            json.dumps(r["category"])) + tail % r["distance"])
text = "".join('{"input":%s,"line":%s,"query":"%s","matches":[%s]}\n' % (
    json.dumps(sys.argv[3]), w[0], w[1], ",".join(w[2])) for w in want)
got = open(sys.argv[1], encoding="utf-8").read()
longest = max(len(l) for l in got.splitlines())
print("%d lines %s, longest > 8192: %s" % (len(want), "same" if got == text else "differ",
                                           longest > 8192))
PYEOF
)
    t_is "jsonl lines past the buffer: the bytes rebuilt from the tsv" "$out" \
        "600 lines same, longest > 8192: True"
    t_ok "jsonl, -j 2 over 600 queries: the same bytes as -j 1" cmp -s "$T/big1.jsonl" "$T/big2.jsonl"
else
    t_skip "jsonl lines past the buffer: no python3" 2
fi

# A read-only index file: lookup opens it read-only.
cp "$DB" "$T/ro.phmi"
chmod 0400 "$T/ro.phmi"
echo "$B" | "$P" lookup --index "$T/ro.phmi" > /dev/null
t_is "lookup of a read-only index file" "$?" 0

# Live update: a lookup reading a FIFO sees an entry imported meanwhile by
# another process, without reopening.
new=$(flip "$B" 10)
mkfifo "$T/fifo"
: > "$T/live"
"$P" lookup --index "$DB" --max-distance 0 < "$T/fifo" > "$T/live" &
lpid=$!
exec 3> "$T/fifo"
echo "$new" >&3
i=0
while [ "$(wc -l < "$T/live")" -lt 2 ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
t_is "live: first answer is none" "$(awk -F '\t' 'NR == 2 { print $4 }' "$T/live")" none
printf '%s,,live\n' "$new" | "$P" index import --source t "$DB" - > /dev/null
echo "$new" >&3
exec 3>&-
wait "$lpid"
t_is "live: the imported entry is found" "$(awk -F '\t' 'NR == 3 { print $4 " " $7 }' "$T/live")" "match live"

t_done

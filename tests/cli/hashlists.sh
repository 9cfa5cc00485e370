#!/bin/sh
# hashlists.sh - the publishers' hash-list formats (docs/HASHLISTS.md):
# VICS, NCMEC XML, StopNCII, ThreatExchange JSON and CSV, TAT, ICSE and
# HMA's local file, written by tests/cli/hashlists.py from the format
# descriptions with benign hashes (PDQ hashes of data/ images, random
# digests); each detected, every field stored, deletions applied, errors
# numbered by record, the import checks, bounded memory on large files, a
# hostile XML refused, and the same over phmatchd's socket.
. "$(dirname "$0")/lib.sh"

P=$PHMATCH
case $BUILD in
/*) D=$BUILD ;;
*) D=$ROOT/$BUILD ;;
esac
PY="python3 $ROOT/tests/cli/hashlists.py"
if ! t_have python3; then
    echo "1..0 # SKIP python3 not installed (make deps installs it)"
    exit 0
fi

G=$T/g
mkdir "$G"
"$P" hash --format pdq "$ROOT"/data/known/*.jpg "$ROOT"/data/photos/*.jpg >"$T/h.pdq" 2>/dev/null
$PY gen "$G" "$T/h.pdq"

# import FORMAT-NAME FILE [OPTIONS...]: a fresh index, the import's output in
# $T/out and $T/err, the export as jsonl in $T/exp.jsonl
import() {
    rm -f "$T/x.phmi" "$T/x.phmi-lock"
    "$P" index create "$T/x.phmi"
    _f=$1
    shift
    "$P" index import --source src "$@" "$T/x.phmi" "$_f" >"$T/out" 2>"$T/err"
    RC=$?
    "$P" index export --format jsonl "$T/x.phmi" >"$T/exp.jsonl"
}

# ---- every format: detected from the content, and named ----
for f in vics1:vics1.json:vics vics2:vics2.json:vics ncmec:ncmec.xml:ncmec \
    stopncii:stopncii.json:stopncii te:te.json:threatexchange \
    te-csv:te.csv:threatexchange-csv tat:tat.json:tat icse:icse.csv:icse hma:hma.txt:hma; do
    name=${f%%:*}
    rest=${f#*:}
    file=${rest%%:*}
    fmt=${rest#*:}
    import "$G/$file"
    t_is "$name: detected and imported" "$RC" 0
    t_is "$name: every field stored" "$($PY check "$G/expect.json" "$name" "$T/exp.jsonl")" ok
    import "$G/$file" --format "$fmt"
    t_is "$name: --format $fmt" "$($PY check "$G/expect.json" "$name" "$T/exp.jsonl")" ok
done

# jsonl carries photodna and attrs: export, import, export gives the same bytes
import "$G/vics1.json"
cp "$T/exp.jsonl" "$T/vics.jsonl"
import "$T/vics.jsonl"
t_is "jsonl round trip of photodna and attrs" "$(cat "$T/exp.jsonl")" "$(cat "$T/vics.jsonl")"
"$P" index import "$T/x.phmi" "$T/vics.jsonl" >"$T/out"
t_is "... imported again: unchanged" "$(cat "$T/out")" "added 0, unchanged 3, updated 0, removed 0"
sed 's/"Series A"/"Series B"/' "$T/vics.jsonl" >"$T/vics2.jsonl"
"$P" index import "$T/x.phmi" "$T/vics2.jsonl" >"$T/out"
t_is "... other attrs: updated" "$(cat "$T/out")" "added 0, unchanged 2, updated 1, removed 0"

# ---- deletions ----
for u in ncmec:ncmec.xml:ncmec-update.xml stopncii:stopncii.json:stopncii-update.json \
    te:te.json:te-update.json tat:tat.json:tat-update.json; do
    name=${u%%:*}
    rest=${u#*:}
    first=${rest%%:*}
    upd=${rest#*:}
    import "$G/$first"
    "$P" index import --source src "$T/x.phmi" "$G/$upd" >"$T/out" 2>"$T/err"
    t_like "$name: the deletion is counted" "$(cat "$T/out")" "removed 1$"
    "$P" index export --format jsonl "$T/x.phmi" >"$T/exp.jsonl"
    t_is "$name: the deletion applied" "$($PY check "$G/expect.json" "$name-update" "$T/exp.jsonl")" ok
done

# ---- errors numbered by record: all or nothing, unless --skip-bad ----
python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
d["value"][1]["MD5"] = "not-hex"
json.dump(d, open(sys.argv[2], "w"), indent=1)' "$G/vics1.json" "$T/vbad.json"
import "$T/vbad.json"
t_is "a bad record in the middle: exit 1" "$RC" 1
t_like "... named by its record number" "$(cat "$T/err")" "vbad.json: record 2: invalid md5"
t_is "... nothing stored" "$(wc -l <"$T/exp.jsonl")" 0
import "$T/vbad.json" --skip-bad
t_is "--skip-bad: exit 1" "$RC" 1
t_is "... the good records stored" "$(wc -l <"$T/exp.jsonl")" 2
t_like "... the bad one counted" "$(cat "$T/err")" "1 bad record refused"
awk '/<id>9002</ { sub(/<id>9002<\/id>/, "") } { print }' "$G/ncmec.xml" >"$T/nbad.xml"
import "$T/nbad.xml"
t_like "ncmec: a record without an id, by number" "$(cat "$T/err")" "nbad.xml: record 2: <image> without an <id>"
t_is "... nothing stored" "$(wc -l <"$T/exp.jsonl")" 0
head -c 900 "$G/ncmec.xml" >"$T/ntrunc.xml"
import "$T/ntrunc.xml"
t_is "a truncated XML list: exit 1" "$RC" 1
t_is "... nothing stored" "$(wc -l <"$T/exp.jsonl")" 0
head -c 300 "$G/te.json" >"$T/tetrunc.json"
import "$T/tetrunc.json" --format threatexchange
t_like "a truncated JSON document: an error" "$(cat "$T/err")" "truncated"
t_is "... nothing stored" "$(wc -l <"$T/exp.jsonl")" 0

# ---- the import checks, each with its record number ----
H=$(sed -n 1p "$T/h.pdq" | cut -d, -f1)
H2=$(sed -n 2p "$T/h.pdq" | cut -d, -f1)
Z=0000000000000000000000000000000000000000000000000000000000000000
F=ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff
FEW=000000000000000000000000000000000000000000000000000000000000ffff # 16 bits
{
    printf '{"hash":"%s","id":"good","quality":90}\n' "$H"
    printf '{"hash":"%s","id":"zero"}\n' "$Z"
    printf '{"hash":"%s","id":"one"}\n' "$F"
    printf '{"hash":"%s","id":"few"}\n' "$FEW"
    printf '{"md5":"00000000000000000000000000000000","id":"md5zero"}\n'
    printf '{"hash":"%s","id":"lowq","quality":10}\n' "$H2"
    printf '{"hash":"%s","id":"good","quality":90}\n' "$H2"
    printf '{"hash":"%s","id":"good","quality":90}\n' "$H"
    printf '{"hash":"%s","id":"short"}\n' "abcd"
    printf '{"hash":"%s","id":"nothex"}\n' "$(echo "$H" | sed 's/^./g/')"
    printf '{"hash":"%s","id":"ok2","quality":60}\n' "$H2"
} >"$T/v.jsonl"
import "$T/v.jsonl" --min-quality 50
t_is "checks: exit 1" "$RC" 1
e=$(cat "$T/err")
t_like "all-zero PDQ refused, line 2" "$e" "v.jsonl:2: PDQ hash is all zero"
t_like "all-one PDQ refused, line 3" "$e" "v.jsonl:3: PDQ hash is all one"
t_like "16 bits set refused, line 4" "$e" "v.jsonl:4: PDQ hash sets 16 of its 256 bits"
t_like "all-zero md5 refused, line 5" "$e" "v.jsonl:5: md5 is all zero"
t_like "quality below --min-quality, line 6" "$e" "v.jsonl:6: quality 10 is below the minimum 50"
t_like "one id with two hashes, line 7" "$e" "v.jsonl:7: .*was given another hash"
t_ok "... the same hash again is no error (line 8)" sh -c "! grep -q 'v.jsonl:8:' '$T/err'"
t_like "wrong length, line 9" "$e" "v.jsonl:9: invalid hash: 4 hex digits"
t_like "non-hex, line 10" "$e" "v.jsonl:10: invalid hash: 'g'"
t_like "... counted" "$e" "8 bad records: nothing imported"
t_is "... nothing stored" "$(wc -l <"$T/exp.jsonl")" 0
import "$T/v.jsonl" --min-quality 50 --skip-bad
t_is "--skip-bad: the good ones stored" "$(grep -o '"id":"[^"]*"' "$T/exp.jsonl" | tr '\n' ' ')" \
    '"id":"good" "id":"ok2" '
t_like "... the refused counted" "$(cat "$T/err")" "8 bad records refused"
import "$T/v.jsonl" --skip-bad
t_like "without --min-quality: quality 10 is taken" "$(cat "$T/exp.jsonl")" '"id":"lowq"'
python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
d["value"][2]["SHA1"] = "0" * 40
json.dump(d, open(sys.argv[2], "w"))' "$G/vics1.json" "$T/vzero.json"
import "$T/vzero.json"
t_like "vics: an all-zero SHA1 refused by record" "$(cat "$T/err")" "vzero.json: record 3: sha1 is all zero"

# ---- hostile XML: external entities and entity expansion ----
cat >"$T/xxe.xml" <<'EOF'
<?xml version="1.0"?>
<!DOCTYPE queryResult [ <!ENTITY xxe SYSTEM "file:///etc/passwd"> ]>
<queryResult><images><image><id>&xxe;</id><fingerprints><md5>0123456789abcdef0123456789abcdef</md5></fingerprints></image></images></queryResult>
EOF
import "$T/xxe.xml"
t_is "XXE: refused" "$RC" 1
t_like "... a DOCTYPE is not accepted" "$(cat "$T/err")" "DOCTYPE"
t_ok "... nothing of the file read" sh -c "! grep -q root: '$T/err' '$T/exp.jsonl'"
{
    echo '<?xml version="1.0"?>'
    echo '<!DOCTYPE lolz [ <!ENTITY lol "lollollollollollollollollollol">'
    i=1
    prev=lol
    while [ $i -le 9 ]; do
        printf '<!ENTITY lol%d "%s">\n' $i "$(printf "&$prev;%.0s" 1 2 3 4 5 6 7 8 9 10)"
        prev=lol$i
        i=$((i + 1))
    done
    echo ']><queryResult><images><image><id>&lol9;</id></image></images></queryResult>'
} >"$T/lol.xml"
/usr/bin/time -f '%M' -o "$T/lol.rss" "$P" index import --source src "$T/x.phmi" "$T/lol.xml" \
    >/dev/null 2>"$T/err"
t_is "billion laughs: refused" "$?" 1
t_like "... as a DOCTYPE or an entity loop" "$(cat "$T/err")" "DOCTYPE\|entity"
case $BUILD in
*asan*) t_skip "billion laughs: peak RSS" "the sanitizers' shadow memory dominates it" ;;
*) t_ok "... in bounded memory (< 64 MB peak)" [ "$(tail -n 1 "$T/lol.rss")" -lt 65536 ] ;;
esac

# ---- bounded memory: large files streamed ----
COUNTER=$D/tests/test_hashlist_formats
# 64 MB each, twice the 32 MB bound on the peak RSS, so that a file read
# whole would fail it (20 MB on the sanitizer build, which reads ten times
# slower and checks no RSS)
case $BUILD in
*asan*) BIG_MB=${HASHLISTS_BIG_MB:-20} ;;
*) BIG_MB=${HASHLISTS_BIG_MB:-64} ;;
esac
if [ -x /usr/bin/time ] && [ -x "$COUNTER" ]; then
    for fmt in vics ncmec; do
        n=$($PY big $fmt "$T/big.$fmt" "$BIG_MB")
        /usr/bin/time -f '%M' -o "$T/rss" "$COUNTER" --count "$T/big.$fmt" >"$T/count" 2>"$T/err"
        t_is "$fmt: $BIG_MB MB streamed, every record read" "$(cat "$T/count")" \
            "records $n removed 0 bad 0"
        rss=$(tail -n 1 "$T/rss")
        t_diag "$fmt: peak RSS $rss KB for $(wc -c <"$T/big.$fmt") bytes"
        case $BUILD in
        *asan*) t_skip "$fmt: peak RSS" "the sanitizers' shadow memory and quarantine dominate it" ;;
        *) t_ok "$fmt: peak RSS below 32 MB ($rss KB)" [ "$rss" -lt 32768 ] ;;
        esac
        rm -f "$T/big.$fmt"
    done
else
    t_skip "bounded memory" "/usr/bin/time or the counter is missing"
fi

# ---- over phmatchd's socket ----
PHMATCHD=$D/phmatchd
if t_have curl && [ -x "$PHMATCHD" ]; then
    trap 'svc_kill_all; t_cleanup' EXIT
    "$P" index create "$T/s.phmi"
    S=$T/d.sock
    svc_start d --socket "$S" --index "$T/s.phmi"
    post() { # CONTENT-TYPE FILE
        curl -s -m 20 --unix-socket "$S" -o "$T/out" -w '%{http_code}' -H "Content-Type: $1" \
            --data-binary @"$2" "http://localhost/v1/index/entries?source=src"
    }
    t_is "POST an NCMEC XML list (application/xml): 200" "$(post application/xml "$G/ncmec.xml")" 200
    t_is "... stored" "$(cat "$T/out")" '{"added":3,"updated":0,"unchanged":0,"removed":0}'
    t_is "POST its update: 200" "$(post application/xml "$G/ncmec-update.xml")" 200
    t_is "... the deletion applied" "$(cat "$T/out")" '{"added":1,"updated":0,"unchanged":0,"removed":1}'
    t_is "POST a VICS document (application/json, odata keys): 200" \
        "$(post application/json "$G/vics1.json")" 200
    t_is "... stored" "$(cat "$T/out")" '{"added":3,"updated":0,"unchanged":0,"removed":0}'
    t_is "POST a VICS case file: 200" "$(post application/json "$G/vics2.json")" 200
    t_is "POST a TAT update (deletion): 200" "$(post application/json "$G/tat.json")" 200
    t_is "... then its deletion" "$(post application/json "$G/tat-update.json")/$(cat "$T/out")" \
        '200/{"added":0,"updated":0,"unchanged":0,"removed":1}'
    t_is "POST a list with a bad record: 400" "$(post application/json "$T/vbad.json")" 400
    t_like "... naming the record" "$(cat "$T/out")" 'record 2: invalid md5'
    t_is "POST the checks' list: 400" "$(post application/x-ndjson "$T/v.jsonl")" 400
    t_like "... the first refusal named" "$(cat "$T/out")" 'body:2: PDQ hash is all zero'
    t_is "POST a hostile XML: 400" "$(post application/xml "$T/xxe.xml")" 400
    svc_stop "$PID"
    t_ok "no sanitizer report in phmatchd's log" sh -c \
        "! grep -q 'Sanitizer\|runtime error' '$T/d.log'"
    "$P" index export --format jsonl "$T/s.phmi" >"$T/exp.jsonl"
    t_like "... the stored photodna and attrs exported" "$(cat "$T/exp.jsonl")" \
        '"id":"101".*"photodna":"[A-Za-z0-9+/]\{192\}","attrs":{"Series":"Series A"'
    t_ok "... 9002, 9003, 9004 from NCMEC, 9001 deleted" sh -c \
        "grep -c '\"id\":\"900[234]\"' '$T/exp.jsonl' | grep -qx 3 && ! grep -q '\"id\":\"9001\"' '$T/exp.jsonl'"
else
    t_skip "phmatchd" "curl or phmatchd is missing"
fi
t_done

#!/bin/sh
# service_hma.sh - phmatchd's HMA 2 ("Hasher-Matcher-Actioner") API over
# TCP with tokens, as an HMA client uses it, checked against HMA's
# documented behaviour: GET /status; banks (POST/GET /c/banks, GET, PUT
# (rename, enabled, enabled_ratio) and DELETE /c/bank/NAME, the name rule,
# 403 on a taken name, deleting a missing bank succeeds); content
# (multipart upload with metadata and note, unknown metadata keys 400,
# GET with include_signals, PUT disable_until_ts and its bounds, DELETE,
# POST .../signal); matching (/m/raw_lookup, GET and POST /m/lookup with
# banks= (an unknown bank gives no match), disabled content and banks
# excluded, the ratio's choice per content id against an independent
# Python reference of phm_source_ratio_admits, seed and bypass_coinflip),
# /m/index/status, /m/compare; url= refused with 400; roles; misbehaving
# clients; ids kept across a restart; video content (multipart `video`:
# a video entry, HMA's vpdq signal checked against python-threatexchange's
# serialization of `phmatch hash -f vpdq`, found by a frame through
# /m/lookup; images, noise, max_body and max_frames refused). TAP on
# stdout. Needs curl, python3 (ffmpeg to make the video, else the
# committed synthetic clip).
. "$(dirname "$0")/lib.sh"

case $BUILD in
/*) D=$BUILD ;;
*) D=$ROOT/$BUILD ;;
esac
PHMATCHD=$D/phmatchd
if ! t_have curl || ! t_python; then
    echo "1..0 # SKIP needs curl and python3"
    exit 0
fi
for b in "$PHMATCHD" "$PHMATCH"; do
    if [ ! -x "$b" ]; then
        t_fail "built: $b"
        t_done
    fi
done
trap 'svc_kill_all; [ -z "${HMA_KEEP:-}" ] || cat "$T"/hma*.log >&2; t_cleanup' EXIT

JPG=$IMAGES/misc-images/wee.jpg
ADMIN_TOKEN=admin-token-hma-0123456789abcdef
LOOKUP_TOKEN=lookup-token-hma-0123456789abcdef
printf 'ops admin %s\nclient lookup %s\n' "$ADMIN_TOKEN" "$LOOKUP_TOKEN" >"$T/tokens"
chmod 600 "$T/tokens"
AUTH_L="Authorization: Bearer $LOOKUP_TOKEN"
AUTH_A="Authorization: Bearer $ADMIN_TOKEN"
JSON="Content-Type: application/json"

req() { curl -s -m 20 -o "$T/out" -w '%{http_code}' "$@"; }
body() { cat "$T/out"; }
U() { echo "http://127.0.0.1:$PORT$1"; }
# a - an admin request; l - a lookup-token request (curl arguments)
a() { req -H "$AUTH_A" "$@"; }
l() { req -H "$AUTH_L" "$@"; }
# aj METHOD PATH JSON - an admin JSON request
aj() { req -H "$AUTH_A" -H "$JSON" -X "$1" -d "$3" "$(U "$2")"; }
# jq EXPR - evaluates a Python expression on the last body as `j`
jq() { python3 -c 'import json,sys; j=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$T/out" "$1"; }

DB=$T/hma.phmi
"$PHMATCH" index create "$DB" || { t_fail "index create"; t_done; }
cat >"$T/phmatchd.conf" <<CONF
index = $DB
socket = $T/s.sock
listen = 127.0.0.1:0
tokens = $T/tokens
threads = 2
max_matches = 1000
max_body = 1MiB
audit_log = $T/audit.jsonl
CONF
svc_start hma -c "$T/phmatchd.conf" || { t_fail "phmatchd started"; t_diag "$(cat "$T/hma.log")"; t_done; }

# The photo's PDQ hash as the CLI computes it (the reference).
WANT=$("$PHMATCH" hash --format tsv "$JPG" 2>/dev/null | awk -F'\t' 'NR == 2 { print $8 }')

# ---- status and roles ----
t_is "GET /status: 200 I-AM-ALIVE, no token needed" "$(req "$(U /status)")/$(body)" "200/I-AM-ALIVE"
t_like "... as text/plain" "$(curl -s -D - -o /dev/null "$(U /status)")" "Content-Type: text/plain"
t_is "GET /c/banks without a token: 401" "$(req "$(U /c/banks)")" 401
t_is "GET /c/banks with a lookup token: 403 (curation is admin)" "$(l "$(U /c/banks)")" 403
t_is "GET /m/raw_lookup without a token: 401" \
    "$(req "$(U "/m/raw_lookup?signal_type=pdq&signal=$WANT")")" 401
t_is "POST /m/compare without a token: 401" \
    "$(req -H "$JSON" -d '{}' "$(U /m/compare)")" 401

# ---- banks ----
t_is "POST /c/banks BANK_A: 201 with the bank" "$(aj POST /c/banks '{"name":"BANK_A"}')/$(body)" \
    '201/{"name":"BANK_A","matching_enabled_ratio":1.0}'
t_is "POST /c/banks with enabled false: ratio 0" \
    "$(aj POST /c/banks '{"name":"_OFF","enabled":false}')/$(jq 'j["matching_enabled_ratio"]')" "201/0.0"
t_is "POST /c/banks with enabled_ratio 0.25" \
    "$(aj POST /c/banks '{"name":"QUARTER1","enabled_ratio":0.25}')/$(jq 'j["matching_enabled_ratio"]')" \
    "201/0.25"
t_is "... phmatchd's own GET /v1/index/sources/QUARTER1 shows matching_ratio" \
    "$(a "$(U /v1/index/sources/QUARTER1)")/$(jq '(j["matching_ratio"], j["enabled"])')" "200/(0.25, True)"
bad=""
for n in '"bank_a"' '"1BANK"' '"A-B"' '""' '"A B"' '"ÄB"'; do
    code=$(aj POST /c/banks "{\"name\":$n}")
    [ "$code" = 400 ] || bad="$bad $n:$code"
done
t_is "names outside [A-Z_][A-Z0-9_]*: 400" "${bad:-none}" none
t_is "... and a name too long for a source: 400" \
    "$(aj POST /c/banks "{\"name\":\"$(python3 -c 'print("A" * 129)')\"}")" 400
t_is "enabled_ratio 1.5: 400" "$(aj POST /c/banks '{"name":"R","enabled_ratio":1.5}')" 400
t_is "a taken name: 403" "$(aj POST /c/banks '{"name":"BANK_A"}')" 403
t_is "POST /c/banks {\"name\":\"BANK_B\"}" "$(aj POST /c/banks '{"name":"BANK_B"}')" 201
t_is "GET /c/banks: every bank with its ratio" \
    "$(a "$(U /c/banks)")/$(jq 'sorted((b["name"], b["matching_enabled_ratio"]) for b in j)')" \
    "200/[('BANK_A', 1.0), ('BANK_B', 1.0), ('QUARTER1', 0.25), ('_OFF', 0.0)]"
t_is "GET /c/bank/BANK_A" "$(a "$(U /c/bank/BANK_A)")/$(body)" \
    '200/{"name":"BANK_A","matching_enabled_ratio":1.0}'
t_is "GET /c/bank/NOPE: 404" "$(a "$(U /c/bank/NOPE)")" 404

# ---- content ----
META='{"content_id":"c-1","content_uri":"https://example.invalid/1.jpg","json":{"case":7}}'
t_is "POST content: multipart photo, metadata and note: id 1 and the photo's pdq" \
    "$(a -F "photo=@$JPG" -F "metadata=$META" -F "note=first" "$(U /c/bank/BANK_A/content)")/$(body)" \
    "200/{\"id\":1,\"signals\":{\"pdq\":\"$WANT\"}}"
t_is "... unknown metadata keys: 400" \
    "$(a -F "photo=@$JPG" -F 'metadata={"content_id":"x","colour":"red"}' "$(U /c/bank/BANK_A/content)")" 400
t_like "... naming them" "$(body)" "unexpected keys: colour"
t_is "... metadata not an object: 400" \
    "$(a -F "photo=@$JPG" -F 'metadata=[1]' "$(U /c/bank/BANK_A/content)")" 400
t_is "... a note of 256 characters: 400" \
    "$(a -F "photo=@$JPG" -F "note=$(python3 -c 'print("n" * 256)')" "$(U /c/bank/BANK_A/content)")" 400
t_is "... to a missing bank: 404" "$(a -F "photo=@$JPG" "$(U /c/bank/NOPE/content)")" 404
t_is "... ?url=: 400 (phmatchd never fetches URLs)" \
    "$(a -X POST "$(U "/c/bank/BANK_A/content?url=http://127.0.0.1:1/x.jpg")")" 400
t_like "... saying so" "$(body)" "never fetches URLs"
t_is "... no photo field: 400" "$(a -F "file=@$JPG" "$(U /c/bank/BANK_A/content)")" 400
t_is "... not multipart: 415" \
    "$(a -H "Content-Type: image/jpeg" --data-binary @"$JPG" "$(U /c/bank/BANK_A/content)")" 415
t_is "... with a lookup token: 403" "$(l -F "photo=@$JPG" "$(U /c/bank/BANK_A/content)")" 403

# A second hash for BANK_B, 5 bits from the photo's.
H2=$(python3 -c "print('%064x' % (int('$WANT', 16) ^ 0x1f))")
t_is "POST /c/bank/BANK_B/signal {\"pdq\": ...}: id 2 (ids unique across banks)" \
    "$(aj POST /c/bank/BANK_B/signal "{\"pdq\":\"$H2\"}")/$(body)" \
    "200/{\"id\":2,\"signals\":{\"pdq\":\"$H2\"}}"
t_is "... an unknown signal type: 400" "$(aj POST /c/bank/BANK_B/signal '{"md5":"00"}')" 400
t_is "... no signal: 400" "$(aj POST /c/bank/BANK_B/signal '{}')" 400
t_is "... a malformed hash: 400" "$(aj POST /c/bank/BANK_B/signal '{"pdq":"xyz"}')" 400
t_is "... a missing bank: 404" "$(aj POST /c/bank/NOPE/signal "{\"pdq\":\"$H2\"}")" 404

t_is "GET /c/bank/BANK_A/content/1: the content, no signals by default" \
    "$(a "$(U /c/bank/BANK_A/content/1)")/$(jq '(j["id"], j["disable_until_ts"], j["bank"], j["original_media_uri"], j["metadata"], j["note"], "signals" in j)')" \
    "200/(1, 1, {'name': 'BANK_A', 'matching_enabled_ratio': 1.0}, 'https://example.invalid/1.jpg', {'content_id': 'c-1', 'content_uri': 'https://example.invalid/1.jpg', 'json': {'case': 7}}, 'first', False)"
t_is "... ?include_signals=true: the pdq" \
    "$(a "$(U "/c/bank/BANK_A/content/1?include_signals=true")")/$(jq 'j["signals"]')" \
    "200/{'pdq': '$WANT'}"
t_is "... content 2 is not BANK_A's: 404" "$(a "$(U /c/bank/BANK_A/content/2)")" 404
t_is "... content 99: 404" "$(a "$(U /c/bank/BANK_A/content/99)")" 404
t_is "... content abc: 404" "$(a "$(U /c/bank/BANK_A/content/abc)")" 404
t_is "... a missing bank: 404" "$(a "$(U /c/bank/NOPE/content/1)")" 404

# ---- matching ----
lk() { l "$(U "/m/lookup?signal_type=pdq&signal=$1${2:-}")"; }
t_is "GET /m/lookup: {BANK: [{bank_content_id, distance}]}" "$(lk "$WANT")/$(body)" \
    '200/{"BANK_A":[{"bank_content_id":1,"distance":"0"}],"BANK_B":[{"bank_content_id":2,"distance":"5"}]}'
before=$(wc -l <"$T/audit.jsonl")
t_is "... banks=BANK_B: BANK_B's only (issue 18: banks= was ignored)" \
    "$(lk "$WANT" "&banks=BANK_B")/$(body)" '200/{"BANK_B":[{"bank_content_id":2,"distance":"5"}]}'
t_is "... and the audit log records that match only" \
    "$(tail -n +$((before + 1)) "$T/audit.jsonl" | python3 -c 'import json,sys; print([(r["source"], r["id"]) for r in map(json.loads, sys.stdin)])')" \
    "[('BANK_B', '2')]"
t_is "... banks=NOPE: no matches, not an error" "$(lk "$WANT" "&banks=NOPE")/$(body)" '200/{}'
t_is "... banks=NOPE,BANK_A" "$(lk "$WANT" "&banks=NOPE,BANK_A")/$(jq 'sorted(j)')" "200/['BANK_A']"
t_is "POST /m/lookup?banks=BANK_A with a photo" \
    "$(l -F "photo=@$JPG" "$(U "/m/lookup?banks=BANK_A")")/$(body)" \
    '200/{"pdq":{"BANK_A":[{"bank_content_id":1,"distance":"0"}]}}'
t_is "GET /m/lookup?url=: 400" "$(l "$(U "/m/lookup?url=http://127.0.0.1:1/x.jpg")")" 400
t_is "POST /m/lookup?url=: 400" "$(l -X POST "$(U "/m/lookup?url=http://127.0.0.1:1/x.jpg")")" 400
t_is "GET /m/raw_lookup: {matches: [ids]}" \
    "$(l "$(U "/m/raw_lookup?signal_type=pdq&signal=$WANT")")/$(body)" '200/{"matches":[1,2]}'
t_is "... include_distance=true" \
    "$(l "$(U "/m/raw_lookup?signal_type=pdq&signal=$WANT&include_distance=true")")/$(body)" \
    '200/{"matches":[{"bank_content_id":1,"distance":"0"},{"bank_content_id":2,"distance":"5"}]}'
t_is "... banks=BANK_B" \
    "$(l "$(U "/m/raw_lookup?signal_type=pdq&signal=$WANT&banks=BANK_B")")/$(body)" '200/{"matches":[2]}'
t_is "... banks=NOPE" \
    "$(l "$(U "/m/raw_lookup?signal_type=pdq&signal=$WANT&banks=NOPE")")/$(body)" '200/{"matches":[]}'
t_is "... signal_type=video_md5: 400" \
    "$(l "$(U "/m/raw_lookup?signal_type=video_md5&signal=$WANT")")" 400
t_is "... no signal: 422 (HMA's schema)" "$(l "$(U "/m/raw_lookup?signal_type=pdq")")" 422

# ---- disable_until_ts ----
NOW=$(date +%s)
t_is "PUT content 1 disable_until_ts 0 (disabled): 200" \
    "$(aj PUT /c/bank/BANK_A/content/1 '{"disable_until_ts":0}')/$(jq 'j["disable_until_ts"]')" "200/0"
t_is "... /m/lookup leaves it out" "$(lk "$WANT" "&banks=BANK_A")/$(body)" '200/{}'
t_is "... /m/raw_lookup does not (HMA: no enabled check)" \
    "$(l "$(U "/m/raw_lookup?signal_type=pdq&signal=$WANT&banks=BANK_A")")/$(body)" '200/{"matches":[1]}'
t_is "disable_until_ts an hour ahead: disabled" \
    "$(aj PUT /c/bank/BANK_A/content/1 "{\"disable_until_ts\":$((NOW + 3600))}")/$(lk "$WANT" "&banks=BANK_A")/$(body)" \
    '200/200/{}'
t_is "disable_until_ts passed: enabled again" \
    "$(aj PUT /c/bank/BANK_A/content/1 "{\"disable_until_ts\":$((NOW - 60))}")/$(lk "$WANT" "&banks=BANK_A")/$(jq 'sorted(j)')" \
    "200/200/['BANK_A']"
t_is "disable_until_ts 1 (enabled), as a string" \
    "$(aj PUT /c/bank/BANK_A/content/1 '{"disable_until_ts":"1"}')/$(jq 'j["disable_until_ts"]')" "200/1"
t_is "disable_until_ts -1: 400" "$(aj PUT /c/bank/BANK_A/content/1 '{"disable_until_ts":-1}')" 400
t_is "... 5 years and a day ahead: 400" \
    "$(aj PUT /c/bank/BANK_A/content/1 "{\"disable_until_ts\":$((NOW + 5 * 365 * 86400 + 86400))}")" 400
t_is "... 4 years ahead: 200" \
    "$(aj PUT /c/bank/BANK_A/content/1 "{\"disable_until_ts\":$((NOW + 4 * 365 * 86400))}")" 200
t_is "... abc: 400" "$(aj PUT /c/bank/BANK_A/content/1 '{"disable_until_ts":"abc"}')" 400
t_is "PUT a note" "$(aj PUT /c/bank/BANK_A/content/1 '{"note":"second","disable_until_ts":1}')/$(jq '(j["note"], j["disable_until_ts"])')" \
    "200/('second', 1)"
t_is "... kept with the metadata" "$(a "$(U /c/bank/BANK_A/content/1)")/$(jq 'j["metadata"]["content_id"]')" "200/c-1"
t_is "PUT on missing content: 404" "$(aj PUT /c/bank/BANK_A/content/99 '{"disable_until_ts":0}')" 404

# ---- disabled banks ----
t_is "PUT /c/bank/BANK_A {enabled: false}: ratio 0" \
    "$(aj PUT /c/bank/BANK_A '{"enabled":false}')/$(body)" '200/{"name":"BANK_A","matching_enabled_ratio":0.0}'
t_is "... its content leaves /m/lookup" "$(lk "$WANT")/$(jq 'sorted(j)')" "200/['BANK_B']"
t_is "... back with enabled: true" "$(aj PUT /c/bank/BANK_A '{"enabled":true}')/$(lk "$WANT")/$(jq 'sorted(j)')" \
    "200/200/['BANK_A', 'BANK_B']"
t_is "PUT on a missing bank: 404" "$(aj PUT /c/bank/NOPE '{"enabled":true}')" 404

# ---- the ratio: a deterministic choice per content id ----
# 200 hashes near Q in bank HALF at ratio 0.5; the admitted ids must be
# those the reference coin (FNV-1a 64 of the id, a 64-bit finaliser, the
# top 53 bits as a fraction) puts below 0.5.
aj POST /c/banks '{"name":"HALF","enabled_ratio":0.5}' >/dev/null
Q=0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f
python3 - "$Q" >"$T/near" <<'PY'
import sys, random
q = int(sys.argv[1], 16)
rnd = random.Random(18)
seen = set()
while len(seen) < 200:
    h = q
    for b in rnd.sample(range(256), rnd.randint(1, 10)):
        h ^= 1 << b
    seen.add("%064x" % h)
print("\n".join(sorted(seen)))
PY
# Each answer kept, their ids read by one python3 after the loop (one per
# answer was most of this test's time).
mkdir -p "$T/sig"
fails=0
n=0
while read -r h; do
    [ "$(aj POST /c/bank/HALF/signal "{\"pdq\":\"$h\"}")" = 200 ] || fails=$((fails + 1))
    n=$((n + 1))
    cp "$T/out" "$T/sig/$n"
done <"$T/near"
python3 -c 'import json, sys
for i in range(1, int(sys.argv[2]) + 1):
    print(json.load(open("%s/%d" % (sys.argv[1], i)))["id"])' "$T/sig" "$n" >"$T/halfids"
t_is "200 signals added to HALF" "$fails" 0
cat >"$T/coin.py" <<'PY'
import sys
def coin(key):
    h = 0xcbf29ce484222325
    for c in key.encode():
        h = ((h ^ c) * 0x100000001b3) & (2**64 - 1)
    h ^= h >> 33
    h = (h * 0xff51afd7ed558ccd) & (2**64 - 1)
    h ^= h >> 33
    h = (h * 0xc4ceb9fe1a85ec53) & (2**64 - 1)
    h ^= h >> 33
    return (h >> 11) / 2.0**53
PY
lk "$Q" "&banks=HALF" >/dev/null
cp "$T/out" "$T/half1"
got=$(python3 -c 'import json,sys; print(" ".join(str(m["bank_content_id"]) for m in sorted(json.load(open(sys.argv[1])).get("HALF", []), key=lambda m: m["bank_content_id"])))' "$T/half1")
ref=$(python3 -c "
import sys; sys.path.insert(0, '$T'); from coin import coin
ids = sorted(int(x) for x in open('$T/halfids').read().split())
print(' '.join(str(i) for i in ids if coin(str(i)) < 0.5))")
t_is "ratio 0.5: the contents admitted are those of the reference coin" "$got" "$ref"
n=$(echo "$got" | wc -w)
t_ok "... about half of them ($n of 200)" test "$n" -ge 70 -a "$n" -le 130
lk "$Q" "&banks=HALF" >/dev/null
t_is "... the same at the next request (deterministic)" "$(cmp -s "$T/out" "$T/half1" && echo same)" same
t_is "... bypass_coinflip=true: all 200" \
    "$(lk "$Q" "&banks=HALF&bypass_coinflip=true")/$(jq 'len(j["HALF"])')" "200/200"
s1=$(python3 -c "import sys; sys.path.insert(0, '$T'); from coin import coin; print(200 if coin('s1') < 0.5 else 0)")
s2=$(python3 -c "import sys; sys.path.insert(0, '$T'); from coin import coin; print(200 if coin('s2') < 0.5 else 0)")
t_is "... seed=s1 / s2: the request's coin, all or none (reference: $s1 / $s2)" \
    "$(lk "$Q" "&banks=HALF&seed=s1" >/dev/null; jq 'len(j.get("HALF", []))')/$(lk "$Q" "&banks=HALF&seed=s2" >/dev/null; jq 'len(j.get("HALF", []))')" \
    "$s1/$s2"
t_is "ratio 0 (PUT enabled_ratio 0): none" \
    "$(aj PUT /c/bank/HALF '{"enabled_ratio":0}')/$(lk "$Q" "&banks=HALF")/$(body)" "200/200/{}"
t_is "ratio 1: all 200" \
    "$(aj PUT /c/bank/HALF '{"enabled_ratio":1}')/$(lk "$Q" "&banks=HALF")/$(jq 'len(j["HALF"])')" "200/200/200"

# ---- rename ----
aj PUT /c/bank/BANK_B/content/2 '{"disable_until_ts":0}' >/dev/null
t_is "PUT /c/bank/BANK_B {name: BANK_C}: the renamed bank" \
    "$(aj PUT /c/bank/BANK_B '{"name":"BANK_C","enabled_ratio":0.75}')/$(body)" \
    '200/{"name":"BANK_C","matching_enabled_ratio":0.75}'
t_is "... BANK_B is gone" "$(a "$(U /c/bank/BANK_B)")" 404
t_is "... BANK_C has content 2, still disabled" \
    "$(a "$(U /c/bank/BANK_C/content/2)")/$(jq '(j["bank"]["name"], j["disable_until_ts"])')" "200/('BANK_C', 0)"
aj PUT /c/bank/BANK_C/content/2 '{"disable_until_ts":1}' >/dev/null
aj PUT /c/bank/BANK_C '{"enabled_ratio":1}' >/dev/null
t_is "... and matches as BANK_C" "$(lk "$WANT" "&banks=BANK_B,BANK_C")/$(body)" \
    '200/{"BANK_C":[{"bank_content_id":2,"distance":"5"}]}'
t_is "rename to a taken name: 403" "$(aj PUT /c/bank/BANK_C '{"name":"BANK_A"}')" 403
t_is "rename to a bad name: 400" "$(aj PUT /c/bank/BANK_C '{"name":"bank_d"}')" 400
t_is "rename of a bank with settings only" \
    "$(aj PUT /c/bank/_OFF '{"name":"OFF2"}')/$(a "$(U /c/bank/OFF2)")/$(body)" \
    '200/200/{"name":"OFF2","matching_enabled_ratio":0.0}'

# ---- deleting ----
t_is "DELETE content 2: {deleted: 1}" "$(a -X DELETE "$(U /c/bank/BANK_C/content/2)")/$(body)" '200/{"deleted":1}'
t_is "... again: {deleted: 0}" "$(a -X DELETE "$(U /c/bank/BANK_C/content/2)")/$(body)" '200/{"deleted":0}'
t_is "DELETE /c/bank/HALF: Done" "$(a -X DELETE "$(U /c/bank/HALF)")/$(body)" '200/{"message":"Done"}'
t_is "... gone, with its content" \
    "$(a "$(U /c/bank/HALF)")/$(lk "$Q")/$(body)" '404/200/{}'
t_is "DELETE a missing bank: succeeds" "$(a -X DELETE "$(U /c/bank/NEVER)")/$(body)" '200/{"message":"Done"}'

# ---- index status, compare ----
t_is "GET /m/index/status" "$(l "$(U /m/index/status)")/$(jq '(sorted(j), j["pdq"]["present"], j["pdq"]["size"], type(j["pdq"]["built_to"]).__name__)')" \
    "200/(['pdq'], True, 1, 'int')"
t_is "... signal_type=vmd5: 400" "$(l "$(U "/m/index/status?signal_type=vmd5")")" 400
FAR=$(python3 -c "print('%064x' % (int('$WANT', 16) ^ ((1 << 40) - 1)))")
t_is "POST /m/compare: [match, {distance}]" \
    "$(l -H "$JSON" -d "{\"pdq\":[\"$WANT\",\"$H2\"]}" "$(U /m/compare)")/$(body)" \
    '200/{"pdq":[true,{"distance":5}]}'
t_is "... 40 bits apart: no match" \
    "$(l -H "$JSON" -d "{\"pdq\":[\"$WANT\",\"$FAR\"]}" "$(U /m/compare)")/$(body)" \
    '200/{"pdq":[false,{"distance":40}]}'
t_is "... three hashes: 400" "$(l -H "$JSON" -d "{\"pdq\":[\"$WANT\",\"$H2\",\"$H2\"]}" "$(U /m/compare)")" 400
t_is "... another signal type: 400" "$(l -H "$JSON" -d '{"vmd5":["a","b"]}' "$(U /m/compare)")" 400
t_is "... not an object: 400" "$(l -H "$JSON" -d '[1]' "$(U /m/compare)")" 400
t_is "... a bad hash: 400" "$(l -H "$JSON" -d '{"pdq":["zz","zz"]}' "$(U /m/compare)")" 400

# ---- misbehaving clients ----
t_is "bad JSON: 400" "$(aj POST /c/banks '{"name":')" 400
t_is "wrong content type: 415" "$(a -H "Content-Type: text/plain" -d '{"name":"X"}' "$(U /c/banks)")" 415
head -c 2000000 /dev/zero >"$T/huge"
t_is "a body over max_body: 413, HMA's JSON error (not libmicrohttpd's page)" \
    "$(a -H "$JSON" --data-binary @"$T/huge" "$(U /c/banks)")/$(jq 'list(j)')" \
    "413/['message']"
t_is "... naming the limit" "$(jq 'j["message"]')" \
    "the request body (2000000 bytes) is larger than 1048576 bytes"
t_is "... a photo over max_body on /h/hash too" \
    "$(l -F "photo=@$T/huge" "$(U /h/hash)")/$(jq 'list(j)')" "413/['message']"
t_is "... and sent chunked to /m/lookup, with no Content-Length to refuse early" \
    "$(l -H 'Transfer-Encoding: chunked' -F "photo=@$T/huge" "$(U /m/lookup)")/$(jq 'j["message"]')" \
    "413/the request body is larger than 1048576 bytes"
python3 -c "open('$T/huge.txt','w').write('{\"json\":{\"a\":\"' + 'x' * 9000 + '\"}}')"
t_is "a metadata field over 8 KiB: 400" \
    "$(a -F "photo=@$JPG" -F "metadata=<$T/huge.txt" "$(U /c/bank/BANK_A/content)")" 400
t_is "a wrong token: 401" "$(req -H "Authorization: Bearer nope" "$(U /c/banks)")" 401
t_is "a malformed escape in a bank name: 400" "$(a "$(U /c/bank/%zz)")" 400
t_is "the server still answers" "$(req "$(U /status)")" 200

# ---- ids survive a restart; the index is consistent ----
# An entry imported into BANK_A under the decimal id 203 (phmatchd's own
# endpoint): the next content id skips it rather than replace it.
t_is "an entry BANK_A:203 imported by POST /v1/index/entries" \
    "$(aj POST /v1/index/entries "{\"source\":\"BANK_A\",\"id\":\"203\",\"hash\":\"$H2\"}")" 200
svc_stop "$PID"
svc_start hma2 -c "$T/phmatchd.conf" || { t_fail "restarted"; t_done; }
t_is "after a restart the next id is new, past the imported 203: 204" \
    "$(aj POST /c/bank/BANK_A/signal "{\"pdq\":\"$FAR\"}")/$(jq 'j["id"]')" "200/204"
t_is "... and BANK_A:203 is still the imported entry" \
    "$(a "$(U "/c/bank/BANK_A/content/203?include_signals=true")")/$(jq 'j["signals"]["pdq"]')" "200/$H2"

# ---- video content (HMA's multipart `video`) ----
# The video: 4 s of FFmpeg's test pattern (or the committed synthetic clip).
VID=$T/clip.mp4
if t_have ffmpeg && ffmpeg -v error -f lavfi -i testsrc=size=160x120:rate=10 -t 4 \
    -pix_fmt yuv420p "$VID" </dev/null 2>/dev/null; then
    FRAME_AT=2
else
    VID=$ROOT/tests/data/vpdq/synthetic/mandelbrot-160x120.mp4
    FRAME_AT=
fi
# The reference: phmatch's vPDQ frames as python-threatexchange's
# vpdq_to_json writes them (json.dumps of "hex,quality,{timestamp:.3}").
"$PHMATCH" hash -q -f vpdq "$VID" >"$T/ref.vpdq" || t_fail "phmatch hash -f vpdq"
WANT_VPDQ=$(python3 -c '
import json, sys
feats = []
for line in open(sys.argv[1]):
    frame, q, h, ts = line.strip().split(",")
    feats.append(f"{h},{int(q)},{float(ts):.3}")
print(json.dumps(feats))' "$T/ref.vpdq")
NFRAMES=$(wc -l <"$T/ref.vpdq")
FRAME_HASH=$(sed -n 3p "$T/ref.vpdq" | cut -d, -f3)
# jqa EXPR ARG - jq with ARG as sys.argv[3]
jqa() { python3 -c 'import json,sys; j=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$T/out" "$1" "$2"; }
t_is "POST /c/banks VIDS" "$(aj POST /c/banks '{"name":"VIDS"}')" 201
t_is "POST content with a video: the next id (205) and HMA's vpdq signal" \
    "$(a -F "video=@$VID;type=video/mp4" -F 'note=clip' "$(U /c/bank/VIDS/content)")/$(jq '(j["id"], list(j["signals"]))')" \
    "200/(205, ['vpdq'])"
t_is "... the signal is python-threatexchange's serialization of the frames" \
    "$(jq 'j["signals"]["vpdq"]')" "$WANT_VPDQ"
t_is "... all $NFRAMES frames" "$(jq 'len(json.loads(j["signals"]["vpdq"]))')" "$NFRAMES"
t_is "GET it with include_signals: the same vpdq, the note" \
    "$(a "$(U "/c/bank/VIDS/content/205?include_signals=true")")/$(jqa '(j["signals"]["vpdq"] == sys.argv[3], j["note"])' "$WANT_VPDQ")" \
    "200/(True, 'clip')"
t_is "... without include_signals: none" \
    "$(a "$(U /c/bank/VIDS/content/205)")/$(jq '"signals" in j')" "200/False"
t_is "GET /m/lookup with a frame's hash finds the video's content" \
    "$(lk "$FRAME_HASH" "&banks=VIDS")/$(body)" '200/{"VIDS":[{"bank_content_id":205,"distance":"0"}]}'
if [ -n "$FRAME_AT" ]; then
    ffmpeg -v error -ss "$FRAME_AT" -i "$VID" -frames:v 1 "$T/frame.png" </dev/null 2>/dev/null
    t_is "POST /m/lookup with a frame extracted as a PNG finds it" \
        "$(l -F "photo=@$T/frame.png" "$(U "/m/lookup?banks=VIDS")")/$(jq '[c["bank_content_id"] for c in j["pdq"]["VIDS"]]')" \
        "200/[205]"
else
    t_skip "POST /m/lookup with an extracted frame" "no ffmpeg"
fi
t_is "a photo next: id 206" "$(a -F "photo=@$JPG" "$(U /c/bank/VIDS/content)")/$(jq 'j["id"]')" "200/206"
t_is "an image as 'video': 415" "$(a -F "video=@$JPG" "$(U /c/bank/VIDS/content)")" 415
t_like "... saying to send it as 'photo' (HMA's error shape)" "$(body)" "^{\"message\":\".*as 'photo'"
head -c 3000 /dev/urandom >"$T/noise.bin"
t_is "noise as 'video': 415 unsupported_format" \
    "$(a -F "video=@$T/noise.bin" "$(U /c/bank/VIDS/content)")/$(jq 'list(j)')" "415/['message']"
t_is "'photo' and 'video' together: 400, one file" \
    "$(a -F "photo=@$JPG" -F "video=@$VID" "$(U /c/bank/VIDS/content)")/$(jq '"one \x27photo\x27 or \x27video\x27 file" in j["message"]')" "400/True"
t_is "no file field: 400 naming both" \
    "$(a -F "note=x" "$(U /c/bank/VIDS/content)")/$(jq '"no \x27photo\x27 or \x27video\x27 field" in j["message"]')" "400/True"
t_is "'video' on POST /m/lookup: 400" "$(l -F "video=@$VID" "$(U /m/lookup)")" 400
head -c 1200000 /dev/urandom >"$T/big.bin"
t_is "a 'video' over max_body: 413" "$(a -F "video=@$T/big.bin" "$(U /c/bank/VIDS/content)")" 413
t_is "... nothing stored: content 207 missing" "$(a "$(U /c/bank/VIDS/content/207)")" 404
svc_stop "$PID"
t_is "phmatchd stops cleanly" "$RC" 0
printf 'max_frames = 2\n' | cat "$T/phmatchd.conf" - >"$T/lim.conf"
svc_start hma3 -c "$T/lim.conf" || { t_fail "phmatchd started (max_frames 2)"; t_done; }
t_is "max_frames 2: a longer video is 422, naming the limit" \
    "$(a -F "video=@$VID" "$(U /c/bank/VIDS/content)")/$(jq '"limit of 2 frames" in j["message"]')" \
    "422/True"
t_is "... nothing stored: content 207 missing" "$(a "$(U /c/bank/VIDS/content/207)")" 404

# ---- a video by its vpdq signal (POST .../signal {"vpdq": TEXT}) ----
vsig() { python3 -c 'import json,sys; print(json.dumps({"vpdq": sys.argv[1]}))' "$1"; }
t_is "POST /c/bank/VIDS/signal {\"vpdq\": TEXT}: id 207, the signal as sent" \
    "$(aj POST /c/bank/VIDS/signal "$(vsig "$WANT_VPDQ")")/$(jqa '(j["id"], j["signals"]["vpdq"] == sys.argv[3])' "$WANT_VPDQ")" \
    "200/(207, True)"
t_is "... stored as a video of $NFRAMES frames: GET gives the same vpdq" \
    "$(a "$(U "/c/bank/VIDS/content/207?include_signals=true")")/$(jqa 'j["signals"]["vpdq"] == sys.argv[3]' "$WANT_VPDQ")" \
    "200/True"
t_is "... a frame's hash finds both videos" \
    "$(lk "$FRAME_HASH" "&banks=VIDS")/$(jq 'sorted(c["bank_content_id"] for c in j["VIDS"])')" "200/[205, 207]"
t_is "... a frame with a bad hash: 400" \
    "$(aj POST /c/bank/VIDS/signal "$(vsig '["zz,100,0.0"]')")/$(jq 'j["message"]')" \
    "400/Invalid vpdq signal: frame 0 is not \"HEX,QUALITY,TIMESTAMP\""
t_is "... quality 101: 400" "$(aj POST /c/bank/VIDS/signal "$(vsig "[\"$H2,101,0.0\"]")")" 400
t_is "... a negative timestamp: 400" "$(aj POST /c/bank/VIDS/signal "$(vsig "[\"$H2,100,-1.0\"]")")" 400
t_is "... no frames: 400" "$(aj POST /c/bank/VIDS/signal "$(vsig '[]')")" 400
t_is "... not JSON: 400" "$(aj POST /c/bank/VIDS/signal "$(vsig 'frames')")" 400
t_is "... pdq and vpdq in one content: 400" \
    "$(aj POST /c/bank/VIDS/signal "{\"pdq\":\"$H2\",\"vpdq\":\"[]\"}")" 400
t_is "... nothing stored by them: content 208 missing" "$(a "$(U /c/bank/VIDS/content/208)")" 404

# ---- HMA's error shape and its 422s (issue 18's leftovers) ----
t_is "a 404 on an HMA route: HMA's {\"message\"}" "$(a "$(U /c/bank/NOPE)")/$(body)" \
    "404/{\"message\":\"bank 'NOPE' not found\"}"
t_is "... a 401 too" "$(req "$(U /c/banks)")/$(jq 'list(j)')" "401/['message']"
t_is "phmatchd's own routes keep their shape" \
    "$(aj POST /v1/lookup '{"hashes":[1]}')/$(jq 'list(j)')" "400/['error']"
t_is "raw_lookup without signal: 422, a schema error naming it" \
    "$(l "$(U "/m/raw_lookup?signal_type=pdq")")/$(jq '[(e["type"], e["loc"]) for e in j]')" \
    "422/[('missing', ['signal'])]"
t_is "... without signal_type: 422" \
    "$(l "$(U "/m/raw_lookup?signal=$WANT")")/$(jq 'j[0]["loc"]')" "422/['signal_type']"
t_is "... include_distance=maybe: 422 bool_parsing" \
    "$(l "$(U "/m/raw_lookup?signal_type=pdq&signal=$WANT&include_distance=maybe")")/$(jq 'j[0]["type"]')" \
    "422/bool_parsing"
t_is "... include_distance=yes: a boolean to HMA too" \
    "$(l "$(U "/m/raw_lookup?signal_type=pdq&signal=$FRAME_HASH&include_distance=yes")")/$(jq 'type(j["matches"][0]).__name__')" \
    "200/dict"
t_is "GET /m/lookup bypass_coinflip=maybe: 422" \
    "$(lk "$WANT" "&bypass_coinflip=maybe")/$(jq 'j[0]["loc"]')" "422/['bypass_coinflip']"
t_is "POST /m/lookup bypass_coinflip=maybe: not true, no error (as HMA's POST)" \
    "$(l -F "photo=@$JPG" "$(U "/m/lookup?bypass_coinflip=maybe")")" 200
t_is "GET /m/lookup without signal: 400 (HMA's own check)" "$(l "$(U "/m/lookup?signal_type=pdq")")" 400
t_is "POST /c/banks {}: 422 name missing" "$(aj POST /c/banks '{}')/$(jq '(j[0]["type"], j[0]["loc"])')" \
    "422/('missing', ['name'])"
bad=""
for b in '{"name":123}' '{"name":null}' '[1]' '{"name":"X9","enabled":"maybe"}' \
    '{"name":"X9","enabled":2}' '{"name":"X9","enabled_ratio":"abc"}' '{"name":"X9","enabled_ratio":[1]}'; do
    code=$(aj POST /c/banks "$b")
    [ "$code" = 422 ] || bad="$bad $b:$code"
done
t_is "POST /c/banks with values HMA's schema refuses: 422" "${bad:-none}" none
t_is "... nothing created" "$(a "$(U /c/bank/X9)")" 404
t_is "... enabled \"yes\" and enabled_ratio \"0.5\" read as HMA's schema reads them" \
    "$(aj POST /c/banks '{"name":"X9","enabled":"yes","enabled_ratio":"0.5"}')/$(jq 'j["matching_enabled_ratio"]')" \
    "201/0.5"
t_is "PUT /c/bank/X9 {\"name\": 5}: 422" "$(aj PUT /c/bank/X9 '{"name":5}')/$(jq 'j[0]["type"]')" \
    "422/string_type"
t_is "PUT /c/bank/X9 [1]: 422" "$(aj PUT /c/bank/X9 '[1]')" 422
# Every one of the next 1,000 content ids taken by an entry of X9 (imported
# under decimal ids): a new content is refused, and none is replaced.
python3 -c 'import random
r = random.Random(7)
for i in range(208, 1300):
    print("%064x,,%d" % (sum(1 << b for b in r.sample(range(256), 128)), i))' >"$T/taken.pdq"
"$PHMATCH" index import --source X9 "$DB" "$T/taken.pdq" >/dev/null
"$PHMATCH" index export --format jsonl "$DB" >"$T/before.jsonl"
t_is "the next 1,000 content ids all taken: 500, naming the bank" \
    "$(aj POST /c/bank/X9/signal "{\"pdq\":\"$FAR\"}")/$(jq 'j["message"]')" \
    "500/bank 'X9' has entries under the next 1000 content ids: none is free"
"$PHMATCH" index export --format jsonl "$DB" >"$T/after.jsonl"
t_ok "... no entry replaced" cmp -s "$T/before.jsonl" "$T/after.jsonl"
svc_stop "$PID"
"$PHMATCH" index verify "$DB" >"$T/verify" 2>&1
t_is "phmatch index verify passes" "$?" 0
t_done

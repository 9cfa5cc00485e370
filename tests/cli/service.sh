#!/bin/sh
# service.sh - phmatchd end to end, over real sockets (issue 4): a server on
# a temporary Unix socket and an ephemeral 127.0.0.1 port, against a small
# index; every endpoint through curl; authentication and roles; every error
# status; hostile input (malformed JSON, wrong content types, a truncated
# JPEG, a PNG claiming 100000x100000, an oversized body); a client that
# sends its headers byte by byte and stalls, and one that trickles forever;
# overload; an entry added by another process; SIGHUP reload; SIGTERM
# during a request; TLS. After each abuse the server must still answer.
# Request loops are bounded; TAP on stdout. Needs curl.
. "$(dirname "$0")/lib.sh"
svc_need

JPG=$IMAGES/misc-images/wee.jpg
JPG2=$IMAGES/bridge-mods/aaa-orig.jpg
PNG=$IMAGES/misc-images/c.png
ADMIN_TOKEN=admin-token-0123456789abcdef
LOOKUP_TOKEN=lookup-token-0123456789abcdef
printf '# name role token\nops admin %s\nupload-pipeline lookup %s\n' \
    "$ADMIN_TOKEN" "$LOOKUP_TOKEN" >"$T/tokens"
chmod 600 "$T/tokens"

trap 'svc_kill_all; t_cleanup' EXIT

start() { svc_start "$@"; }

stop() { svc_stop "$1"; }

# req ARGS... - runs curl; prints the HTTP status, the body goes to $T/out.
req() {
    curl -s -m 20 -o "$T/out" -w '%{http_code}' "$@"
}
body() { cat "$T/out"; }
TCP() { echo "http://127.0.0.1:$PORT$1"; }
AUTH_L="Authorization: Bearer $LOOKUP_TOKEN"
AUTH_A="Authorization: Bearer $ADMIN_TOKEN"
OCT="Content-Type: application/octet-stream"
JSON="Content-Type: application/json"

# ---------------------------------------------------------------------------
# Configuration checks, before any server runs.

"$CLIENT" mkindex "$T/idx.phmi" 200 7 || { t_fail "make the test index"; t_done; }
cat >"$T/phmatchd.conf" <<EOF
# phmatchd test configuration
index = $T/idx.phmi
socket = $T/s.sock
listen = 127.0.0.1:0
tokens = $T/tokens
threads = 2
connection_timeout = 2
request_timeout = 4
max_body = 1500KiB
max_batch = 10
audit_log = $T/audit.jsonl
EOF

"$PHMATCHD" -c "$T/phmatchd.conf" -n >"$T/check.out" 2>"$T/check.err"
t_is "--check-config: a valid configuration exits 0" "$?" 0
t_like "--check-config prints the settings" "$(cat "$T/check.out")" '^max_body = 1536000$'
# Sizes and durations as phmatch reads them (phm_size_parse, phm_duration_parse).
out=$("$PHMATCHD" -c "$T/phmatchd.conf" -n --max-body 2M --max-body-memory 1GiB \
    --request-timeout 2m --shutdown-timeout 1h 2>&1)
t_like "sizes: M is 10^6" "$out" '^max_body = 2000000$'
t_like "sizes: GiB is 2^30" "$out" '^max_body_memory = 1073741824$'
t_like "durations: 2m is 120 s" "$out" '^request_timeout = 120$'
t_like "durations: 1h is 3600 s" "$out" '^shutdown_timeout = 3600$'
"$PHMATCHD" -c "$T/phmatchd.conf" -n --max-body 1.5M >/dev/null 2>"$T/check.err"
t_is "sizes: no fractions (exit 2)" "$?" 2
"$PHMATCHD" -c "$T/phmatchd.conf" -n --request-timeout 1500ms >/dev/null 2>"$T/check.err"
t_like "durations: timeouts are whole seconds" "$(cat "$T/check.err")" \
    "invalid value '1500ms' for request_timeout: expected whole seconds"
"$PHMATCHD" -c "$T/phmatchd.conf" -n --max-batch 0 >/dev/null 2>"$T/check.err"
t_is "--check-config: a value out of bounds exits 2" "$?" 2
t_like "... naming the setting" "$(cat "$T/check.err")" "max_batch"
"$PHMATCHD" -n --socket '' --listen 0.0.0.0:0 >/dev/null 2>"$T/check.err"
t_is "a non-loopback address without tokens is refused" "$?" 2
t_like "... saying why" "$(cat "$T/check.err")" "needs tokens"
"$PHMATCHD" -n --socket '' --listen 127.0.0.1:0 >/dev/null 2>"$T/check.err"
t_is "a loopback address without tokens is refused too" "$?" 2
t_like "... saying every TCP request is authenticated" "$(cat "$T/check.err")" \
    "listening on TCP (127.0.0.1:0) needs tokens: every TCP request is authenticated"
"$PHMATCHD" --socket '' --listen '[::1]:0' --index "$T/none.phmi" >/dev/null 2>"$T/check.err"
t_is "... and phmatchd does not start (exit 2)" "$?" 2
t_like "... saying so" "$(cat "$T/check.err")" "needs tokens"
"$PHMATCHD" -n --socket "$T/x.sock" >/dev/null 2>"$T/check.err"
t_is "the Unix socket alone needs no tokens" "$?" 0
cp "$T/tokens" "$T/tokens-open"
chmod 644 "$T/tokens-open"
"$PHMATCHD" -c "$T/phmatchd.conf" --tokens "$T/tokens-open" -n >/dev/null 2>"$T/check.err"
rc=$?
t_ok "a token file readable by others is refused (exit $rc)" test "$rc" -ne 0
t_like "... saying to chmod it" "$(cat "$T/check.err")" "chmod 600"
"$PHMATCHD" -c "$T/phmatchd.conf" --no-such-setting 1 -n >/dev/null 2>&1
t_is "an unknown option exits 2" "$?" 2

# ---------------------------------------------------------------------------
# The main server.

if ! start main -c "$T/phmatchd.conf"; then
    t_fail "phmatchd starts"
    t_diag "$(cat "$T/main.log")"
    t_done
fi
MAIN=$PID
t_pass "phmatchd starts on a Unix socket and port $PORT"
U="http://localhost"
US="--unix-socket $T/s.sock"
t_is "the Unix socket has mode 0660" "$(stat -c %a "$T/s.sock")" 660

# health
t_is "GET /healthz (TCP, no token)" "$(req "$(TCP /healthz)")" 200
t_like "GET /readyz" "$(req "$(TCP /readyz)")/$(body)" \
    '^200/{"status":"ready","index":true,"entries":200,"generation":[0-9]*}$'

# authentication and roles
t_is "no token on TCP: 401" "$(req "$(TCP /v1/index)")" 401
t_like "... with WWW-Authenticate" \
    "$(curl -s -D - -o /dev/null "$(TCP /v1/index)")" "^WWW-Authenticate: Bearer"
t_like "... and a JSON error" "$(body)" '"code":"unauthorized"'
t_is "a wrong token: 401" \
    "$(req -H 'Authorization: Bearer wrong-token-0123456789' "$(TCP /v1/index)")" 401
t_is "not a bearer token: 401" "$(req -H 'Authorization: Basic eDp5' "$(TCP /v1/index)")" 401
t_is "a lookup token: 200" "$(req -H "$AUTH_L" "$(TCP /v1/index)")" 200
# Every endpoint but the health probes, with a body it would accept.
bad=""
for ep in "POST /v1/hash $OCT" "POST /v1/match $OCT" "POST /v1/lookup $JSON" \
    "GET /v1/index" "POST /v1/index/entries $JSON" "DELETE /v1/index/entries/s/1" \
    "DELETE /v1/index/sources/s" "GET /metrics" "GET /m/lookup" "POST /h/hash" \
    "POST /m/lookup"; do
    set -- $ep
    case $# in
    2) code=$(req -X "$1" "$(TCP "$2")") ;;
    *) code=$(req -X "$1" -H "$3 $4" --data-binary @"$JPG" "$(TCP "$2")") ;;
    esac
    [ "$code" = 401 ] || bad="$bad $1 $2:$code"
done
t_is "no token on TCP: 401 from every endpoint but /healthz and /readyz" "${bad:-none}" none
t_is "a lookup token on an admin endpoint: 403" \
    "$(req -H "$AUTH_L" -H "$JSON" -d '{"source":"s","id":"1","hash":"'"$(printf '%064d' 0)"'"}' \
        "$(TCP /v1/index/entries)")" 403
t_is "the Unix socket without a token (unix_auth optional): admin" \
    "$(req $US -X DELETE "$U/v1/index/entries/nosuch/1")" 404
t_is "a wrong token on the Unix socket: 401" \
    "$(req $US -H 'Authorization: Bearer wrong-token-0123456789' "$U/v1/index")" 401

# POST /v1/hash
want=$("$PHMATCH" hash --format pdq "$JPG" 2>/dev/null | cut -d , -f 1)
want_png=$("$PHMATCH" hash --format pdq "$PNG" 2>/dev/null | cut -d , -f 1)
t_is "POST /v1/hash (JPEG): 200" \
    "$(req -H "$AUTH_L" -H 'Content-Type: image/jpeg' --data-binary @"$JPG" "$(TCP /v1/hash)")" 200
t_like "... the hash of phmatch hash" "$(body)" "\"pdq\":\"$want\""
t_like "... quality, size and format" "$(body)" '"quality":[0-9]*,"width":[0-9]*,"height":[0-9]*,"format":"jpeg"'
t_is "POST /v1/hash (PNG, Unix socket): the hash of phmatch hash" \
    "$(req $US -H "$OCT" --data-binary @"$PNG" "$U/v1/hash")/$(body | grep -o '"pdq":"[0-9a-f]*"')" \
    "200/\"pdq\":\"$want_png\""
req -H "$AUTH_L" -H "$OCT" --data-binary @"$JPG" "$(TCP '/v1/hash?dihedral=1&digest=sha256,md5')" >/dev/null
t_is "?dihedral=1: the seven other orientations" \
    "$(body | grep -o '"rot90":"[0-9a-f]\{64\}","rot180":"[0-9a-f]\{64\}","rot270":"[0-9a-f]\{64\}","flipx":"[0-9a-f]\{64\}","flipy":"[0-9a-f]\{64\}","flipplus1":"[0-9a-f]\{64\}","flipminus1":"[0-9a-f]\{64\}"' | wc -l)" 1
t_like "?digest=sha256,md5: the file's SHA-256" "$(body)" "\"sha256\":\"$(sha256sum "$JPG" | cut -c 1-64)\""
t_like "... and MD5" "$(body)" "\"md5\":\"$(md5sum "$JPG" | cut -c 1-32)\""
t_is "?digest=crc32: 400" \
    "$(req -H "$AUTH_L" -H "$OCT" --data-binary @"$JPG" "$(TCP '/v1/hash?digest=crc32')")" 400

# POST /v1/match and an entry added by another process
t_is "POST /v1/match: 200" \
    "$(req -H "$AUTH_L" -H "$OCT" --data-binary @"$JPG" "$(TCP /v1/match)")" 200
t_like "... no match yet" "$(body)" '"matches":\[\]'
t_ok "(another process adds the photo's hash to the index)" \
    "$CLIENT" add "$T/idx.phmi" case-1 img-1 "$want" A1
t_like "POST /v1/match: the new entry is found at once, as the match record" \
    "$(req -H "$AUTH_L" -H "$OCT" --data-binary @"$JPG" "$(TCP /v1/match)")/$(body | grep -o '"matches":\[.*\]')" \
    '^200/"matches":\[{"entry":[0-9]*,"source":"case-1","id":"img-1","category":"A1","kind":"image","distance":0,"orientation":"original","variant":null,"known_variant":null,"frame":null,"timestamp":null,"frames":null,"query_percent":null,"compared_percent":null,"suppressed_by":null}\]$'
# A rotated copy: the entry holds the rot90 hash of the second photo.
req -H "$AUTH_L" -H "$OCT" --data-binary @"$JPG2" "$(TCP '/v1/hash?dihedral=1')" >/dev/null
rot90=$(body | sed -n 's/.*"rot90":"\([0-9a-f]*\)".*/\1/p')
"$CLIENT" add "$T/idx.phmi" case-1 img-2-rotated "$rot90" B2
req -H "$AUTH_L" -H "$OCT" --data-binary @"$JPG2" "$(TCP '/v1/match?dihedral=1')" >/dev/null
t_like "?dihedral=1 finds a rotated copy, and says which orientation" "$(body)" \
    '"id":"img-2-rotated","category":"B2","kind":"image","distance":0,"orientation":"rot90"'
req -H "$AUTH_L" -H "$OCT" --data-binary @"$JPG2" "$(TCP '/v1/match')" >/dev/null
t_like "... not without it" "$(body)" '"matches":\[\]'
t_is "?max_distance=300: 400" \
    "$(req -H "$AUTH_L" -H "$OCT" --data-binary @"$JPG" "$(TCP '/v1/match?max_distance=300')")" 400

# POST /v1/lookup
far=aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa # 128 bits set, far from the images
t_is "POST /v1/lookup: 200" \
    "$(req -H "$AUTH_L" -H "$JSON" -d "{\"hashes\":[\"$want\",\"$far\"],\"max_distance\":0}" "$(TCP /v1/lookup)")" 200
t_like "... per-hash matches, in order" "$(body)" \
    '^{"results":\[{"matches":\[{"entry":[0-9]*,"source":"case-1","id":"img-1","category":"A1","kind":"image","distance":0,"orientation":"original","variant":null,"known_variant":null,"frame":null,"timestamp":null,"frames":null,"query_percent":null,"compared_percent":null,"suppressed_by":null}\]},{"matches":\[\]}\],"max_distance":0}$'
# A known video (imported from its vPDQ file by another process): a hash of
# one of its frames finds the video, marked as one.
VPDQ=$ROOT/tests/data/vpdq/expected/chair-19-sd-bar.txt
frame0=$(head -n 1 "$VPDQ" | cut -d, -f3)
t_ok "(another process imports a known video's vPDQ file)" \
    "$PHMATCH" index import --source case-2 --category V1 "$T/idx.phmi" "$VPDQ"
req -H "$AUTH_L" -H "$JSON" -d "{\"hashes\":[\"$frame0\"],\"max_distance\":0}" "$(TCP /v1/lookup)" >/dev/null
t_like "POST /v1/lookup: a frame of a known video says kind video" "$(body)" \
    '"source":"case-2","id":"chair-19-sd-bar","category":"V1","kind":"video","distance":0,"orientation":"original"'
t_ok "(and withdraws it)" "$PHMATCH" index remove "$T/idx.phmi" --source case-2 --all
t_is "a batch over max_batch: 413" \
    "$(req -H "$AUTH_L" -H "$JSON" -d "{\"hashes\":[$(printf '"%s",' 1 2 3 4 5 6 7 8 9 10)\"11\"]}" "$(TCP /v1/lookup)")" 413
t_is "malformed JSON: 400" "$(req -H "$AUTH_L" -H "$JSON" -d '{"hashes":[' "$(TCP /v1/lookup)")" 400
t_like "... bad_json" "$(body)" '"code":"bad_json"'
t_is "a bad hash: 400" "$(req -H "$AUTH_L" -H "$JSON" -d '{"hashes":["xyz"]}' "$(TCP /v1/lookup)")" 400
t_is "JSON sent as text/plain: 415" \
    "$(req -H "$AUTH_L" -H 'Content-Type: text/plain' -d '{"hashes":[]}' "$(TCP /v1/lookup)")" 415

# audit log: matches only, no query hash by default
t_is "the audit log has mode 0600" "$(stat -c %a "$T/audit.jsonl")" 600
t_like "... a record per match, with the token's name" "$(cat "$T/audit.jsonl")" \
    '"token":"upload-pipeline","endpoint":"match","source":"case-1","id":"img-1","category":"A1","distance":0'
t_is "... never the query hash" "$(grep -c "$want" "$T/audit.jsonl")" 0
t_is "... and nothing for queries that matched nothing" \
    "$(grep -c '"id":"[0-9]' "$T/audit.jsonl")" 0

# index administration
t_is "POST /v1/index/entries (admin): 200" \
    "$(req -H "$AUTH_A" -H "$JSON" -d "{\"entries\":[{\"source\":\"s2\",\"id\":\"a/b\",\"hash\":\"$far\",\"quality\":90},{\"source\":\"s2\",\"id\":\"c\",\"md5\":\"$(md5sum "$JPG" | cut -c 1-32)\"}]}" "$(TCP /v1/index/entries)")" 200
t_is "... counts" "$(body)" '{"added":2,"updated":0,"unchanged":0,"removed":0}'
t_is "an entry without a signal: 400" \
    "$(req -H "$AUTH_A" -H "$JSON" -d '{"source":"s","id":"x"}' "$(TCP /v1/index/entries)")" 400
t_like "... naming the entry" "$(body)" 'entries\[0\]'
req -H "$AUTH_L" -H "$JSON" -d "{\"hashes\":[\"$far\"],\"max_distance\":0}" "$(TCP /v1/lookup)" >/dev/null
t_like "the added entry is found" "$(body)" '"id":"a/b"'
t_is "DELETE /v1/index/entries/s2/a%2Fb: 200" \
    "$(req -H "$AUTH_A" -X DELETE "$(TCP /v1/index/entries/s2/a%2Fb)")/$(body)" '200/{"removed":1}'
t_is "... again: 404" "$(req -H "$AUTH_A" -X DELETE "$(TCP /v1/index/entries/s2/a%2Fb)")" 404
t_is "a malformed escape in the path: 400" \
    "$(req -H "$AUTH_A" -X DELETE "$(TCP /v1/index/entries/s2/a%2)")" 400
t_is "DELETE /v1/index/sources/bench: 200" \
    "$(req -H "$AUTH_A" -X DELETE "$(TCP /v1/index/sources/bench)")/$(body)" '200/{"removed":200}'
# A feed's deletions in a POSTed list (removed together before the next
# add): in the list's order, y2 deleted and added again stays.
feed_x() { printf '<image><id>%s</id><fingerprints><pdq>%s</pdq></fingerprints></image>' "$1" "$2"; }
feed_d() { printf '<deletedImage><id>%s</id></deletedImage>' "$1"; }
req -H "$AUTH_A" -H "Content-Type: application/xml" -d "<r>$(feed_x y1 "$far")$(feed_x y2 "$far")$(feed_x y3 "$far")</r>" \
    "$(TCP '/v1/index/entries?source=s3')" >/dev/null
t_is "POST an NCMEC feed's deletions: counts" \
    "$(req -H "$AUTH_A" -H "Content-Type: application/xml" -d "<r>$(feed_d y1)$(feed_d y2)$(feed_x y2 "$far")$(feed_d y9)$(feed_d y3)</r>" \
        "$(TCP '/v1/index/entries?source=s3')")/$(body)" \
    '200/{"added":1,"updated":0,"unchanged":0,"removed":3}'
long=$(printf 's%.0s' $(seq 200))
t_is "a deletion under a source the index refuses (200 bytes): 400" \
    "$(req -H "$AUTH_A" -H "Content-Type: application/xml" -d "<r>$(feed_d y1)</r>" \
        "$(TCP "/v1/index/entries?source=$long")")" 400
t_like "... naming the record" "$(body)" 'record 1.*source is empty or longer than 128 bytes'
t_is "... y2 is left, y1 and y3 are gone" \
    "$(req -H "$AUTH_A" -X DELETE "$(TCP /v1/index/sources/s3)")/$(body)" '200/{"removed":1}'
req -H "$AUTH_L" "$(TCP /v1/index)" >/dev/null
t_like "GET /v1/index: statistics and groups" "$(body)" \
    '"entries":3,.*"groups":\[{"source":"case-1","category":"A1","count":1}'
t_like "GET /v1/index: video counts" "$(body)" \
    '"video_entries":0,"video_frames":0,"video_hashes":0,'
# The same names as `phmatch index stats --format json` (path aside).
stat_keys() { sed 's/,"groups":.*//; s/"path":"[^"]*",//' | grep -o '"[a-z_]*":' | tr -d '\n'; }
t_is "GET /v1/index: the names of phmatch index stats" "$(body | stat_keys)" \
    "$("$PHMATCH" index stats --format json "$T/idx.phmi" | stat_keys)"

# HMA compatibility
t_is "GET /m/lookup?signal_type=pdq&signal=...: 200" \
    "$(req -H "$AUTH_L" "$(TCP "/m/lookup?signal_type=pdq&signal=$want")")/$(body)" \
    '200/{"case-1":[{"bank_content_id":"img-1","distance":"0"}]}'
t_is "... signal_type=video_md5: 400" \
    "$(req -H "$AUTH_L" "$(TCP "/m/lookup?signal_type=video_md5&signal=$want")")" 400
t_is "POST /h/hash with a multipart photo: {\"pdq\": ...}" \
    "$(req -H "$AUTH_L" -F "photo=@$JPG" "$(TCP /h/hash)")/$(body)" "200/{\"pdq\":\"$want\"}"
t_is "POST /m/lookup with a multipart photo" \
    "$(req -H "$AUTH_L" -F "photo=@$JPG" "$(TCP /m/lookup)")/$(body)" \
    '200/{"pdq":{"case-1":[{"bank_content_id":"img-1","distance":"0"}]}}'
t_is "POST /h/hash without a photo field: 400" \
    "$(req -H "$AUTH_L" -F "video=@$JPG" "$(TCP /h/hash)")" 400
t_is "POST /h/hash with raw bytes: 415" \
    "$(req -H "$AUTH_L" -H "$OCT" --data-binary @"$JPG" "$(TCP /h/hash)")" 415

# error statuses and hostile input
B=$T/bad
mkdir "$B"
head -c 20000 "$JPG2" >"$B/truncated.jpg"
printf '\211PNG\r\n\032\n\000\000\000\rIHDR\000\001\206\240\000\001\206\240\010\000\000\000\000\215\071T\024' >"$B/bomb.png"
printf '\000\000\000\013IDATx\234c`@\005\000\000\020\000\001\071\275\217e' >>"$B/bomb.png"
printf '\000\000\000\000IEND\256B`\202' >>"$B/bomb.png"
printf 'P6\n4 4\n255\n' >"$B/tiny.ppm"
head -c 48 /dev/zero >>"$B/tiny.ppm"
echo "this is not an image" >"$B/text"
head -c 2000000 /dev/zero >"$B/big"
hash_of() { req -H "$AUTH_L" -H "$OCT" --data-binary @"$1" "$(TCP /v1/hash)"; }
t_is "no such endpoint: 404" "$(req -H "$AUTH_L" "$(TCP /v2/nothing)")" 404
t_is "GET /v1/hash: 405" "$(req -H "$AUTH_L" "$(TCP /v1/hash)")" 405
t_like "... with Allow: POST" "$(curl -s -D - -o /dev/null "$(TCP /v1/hash)")" '^Allow: POST'
t_is "a truncated JPEG: 422 corrupt" "$(hash_of "$B/truncated.jpg")/$(body | grep -o '"code":"[a-z_]*"')" \
    '422/"code":"corrupt"'
t_is "a PNG claiming 100000x100000 (decompression bomb): 422 too_large" \
    "$(hash_of "$B/bomb.png")/$(body | grep -o '"code":"[a-z_]*"')" '422/"code":"too_large"'
t_is "a 4x4 image: 422 too_small" "$(hash_of "$B/tiny.ppm")/$(body | grep -o '"code":"[a-z_]*"')" \
    '422/"code":"too_small"'
t_is "text sent as an image: 415 unsupported_format" \
    "$(hash_of "$B/text")/$(body | grep -o '"code":"[a-z_]*"')" '415/"code":"unsupported_format"'
t_is "an image sent as text/plain: 415" \
    "$(req -H "$AUTH_L" -H 'Content-Type: text/plain' --data-binary @"$JPG" "$(TCP /v1/hash)")" 415
t_is "an empty body: 400" "$(req -H "$AUTH_L" -H "$OCT" -X POST "$(TCP /v1/hash)")" 400
t_is "a body over max_body (Content-Length): 413" "$(hash_of "$B/big")" 413
t_is "a body over max_body (chunked): 413" \
    "$(req -H "$AUTH_L" -H "$OCT" -H 'Transfer-Encoding: chunked' --data-binary @"$B/big" "$(TCP /v1/hash)")" 413
t_is "the server still answers" "$(req "$(TCP /healthz)")" 200

# slow clients
if [ "${SERVICE_SKIP_SLOW:-0}" != 1 ]; then
    # a number of seconds, no less than connection_timeout (2): an empty
    # $s (the client did not connect) or a close at once must fail
    s=$("$CLIENT" slow "127.0.0.1:$PORT" 12)
    t_ok "a client that sends headers byte by byte and stalls is closed by connection_timeout ($s s)" \
        awk -v s="$s" 'BEGIN { exit !(s ~ /^[0-9.]+$/ && s + 0 >= 2 && s + 0 < 8) }'
    s=$("$CLIENT" trickle "$T/s.sock" 15)
    t_ok "a client that trickles its headers forever is closed by request_timeout ($s s)" \
        awk -v s="$s" 'BEGIN { exit !(s != "open" && s + 0 >= 3.5 && s + 0 < 10) }'
    t_is "the server still answers" "$(req "$(TCP /healthz)")" 200
fi

# metrics
t_is "GET /metrics: 200" "$(req -H "$AUTH_L" "$(TCP /metrics)")" 200
t_like "... requests by endpoint and status" "$(body)" \
    '^phmatchd_requests_total{endpoint="hash",status="200"} [1-9]'
t_like "... a latency histogram" "$(body)" \
    '^phmatchd_request_duration_seconds_bucket{endpoint="lookup",le="+Inf"} [1-9]'
t_like "... matches" "$(body)" '^phmatchd_matches_total [1-9]'
t_like "... index size" "$(body)" '^phmatchd_index_entries 3$'

# SIGHUP: tokens reloaded
printf 'ops admin %s\nnew-client lookup new-token-0123456789abcdef\n' "$ADMIN_TOKEN" >"$T/tokens"
kill -HUP "$MAIN"
i=0
while [ $i -lt 30 ] && [ "$(req -H 'Authorization: Bearer new-token-0123456789abcdef' "$(TCP /v1/index)")" != 200 ]; do
    sleep 0.1
    i=$((i + 1))
done
t_is "SIGHUP: a token added to the file works" \
    "$(req -H 'Authorization: Bearer new-token-0123456789abcdef' "$(TCP /v1/index)")" 200
t_is "... a removed one no longer does" "$(req -H "$AUTH_L" "$(TCP /v1/index)")" 401
chmod 644 "$T/tokens"
kill -HUP "$MAIN"
wait_until 100 grep -q 'reload failed.*chmod 600' "$T/main.log"
t_like "SIGHUP with a token file readable by others: refused, logged" \
    "$(cat "$T/main.log")" 'reload failed.*chmod 600'
t_is "... and the tokens in force stay" \
    "$(req -H 'Authorization: Bearer new-token-0123456789abcdef' "$(TCP /v1/index)")" 200
chmod 600 "$T/tokens"
cp "$T/phmatchd.conf" "$T/phmatchd.conf.orig"
grep -v -e '^tokens' -e '^listen' "$T/phmatchd.conf.orig" >"$T/phmatchd.conf"
kill -HUP "$MAIN"
wait_until 100 grep -q 'reload failed.*TCP listener .* needs tokens' "$T/main.log"
t_like "SIGHUP dropping the tokens (and listen, restart-only): refused, logged" \
    "$(cat "$T/main.log")" 'reload failed.*TCP listener .* needs tokens'
t_is "... TCP still needs a token" "$(req "$(TCP /v1/index)")" 401
t_is "... and the tokens in force stay" \
    "$(req -H 'Authorization: Bearer new-token-0123456789abcdef' "$(TCP /v1/index)")" 200
cp "$T/phmatchd.conf.orig" "$T/phmatchd.conf"

# SIGTERM during a request: it completes, then the server exits 0
# (wee.jpg, 13.6 KB, at 8 KB/s: about 1.7 s, within request_timeout). The
# signal goes once the upload is in progress (the /metrics request that
# asks is the other one).
curl -s -m 20 -o "$T/slow.out" -w '%{http_code}' --limit-rate 8k -H "$AUTH_A" -H "$OCT" \
    --data-binary @"$JPG" "$(TCP /v1/hash)" >"$T/slow.code" &
cpid=$!
uploading() {
    curl -s -m 5 -H "$AUTH_A" "$(TCP /metrics)" | grep -q '^phmatchd_requests_in_progress [2-9]'
}
wait_until 100 uploading || t_diag "the upload was not seen in progress within 10 s"
stop "$MAIN"
rc=$RC
wait "$cpid"
t_is "SIGTERM during an upload: the request completes" \
    "$(cat "$T/slow.code")/$(grep -c '"pdq"' "$T/slow.out")" "200/1"
t_is "... and phmatchd exits 0" "$rc" 0
# (2 when the signal comes before phmatchd has closed the /metrics request
# that saw the upload: its reply is out, its count not yet down)
t_like "... logging the drain" "$(cat "$T/main.log")" 'SIGTERM: stopping; \(1 request\|2 requests\) in progress'
t_ok "... and removes its socket" test ! -e "$T/s.sock"
t_is "no sanitizer report in the log" \
    "$(grep -c -e 'Sanitizer' -e 'runtime error' "$T/main.log")" 0
t_is "no token in the log" "$(grep -c -e "$ADMIN_TOKEN" -e "$LOOKUP_TOKEN" "$T/main.log")" 0

# ---------------------------------------------------------------------------
# A second server: overload, a second signal.

if start small --socket '' --listen 127.0.0.1:0 --tokens "$T/tokens" --threads 1 \
    --max-pending 1 --index "$T/idx.phmi"; then
    SMALL=$PID
    # An upload that holds the one request slot: 13.6 KB at 2 KB/s, about
    # 7 s, time enough for what follows on a loaded machine (it ends when
    # the server does).
    curl -s -m 20 -o /dev/null -w '%{http_code}' --limit-rate 2k -H "$AUTH_A" -H "$OCT" \
        --data-binary @"$JPG" "$(TCP /v1/hash)" >"$T/busy.code" &
    cpid=$!
    busy() { [ "$(req -H "$AUTH_A" "$(TCP /v1/index)")" = 503 ]; }
    wait_until 100 busy
    t_is "over max_pending: 503" "$(req -H "$AUTH_A" "$(TCP /v1/index)")" 503
    t_like "... with Retry-After" \
        "$(curl -s -D - -o /dev/null -H "$AUTH_A" "$(TCP /v1/index)")" '^Retry-After: 1'
    # The second signal once the first was handled (it logs "stopping"):
    # two sent before the server runs again are one pending signal, and
    # that one drains the upload and exits 0.
    kill -TERM "$SMALL"
    wait_until 100 grep -q 'SIGTERM: stopping' "$T/small.log" ||
        t_diag "no 'SIGTERM: stopping' logged within 10 s"
    kill -TERM "$SMALL"
    wait "$SMALL"
    t_is "a second SIGTERM exits at once, status 1" "$?" 1
    t_like "... saying so" "$(cat "$T/small.log")" 'second signal: exiting now'
    wait "$cpid"
else
    t_fail "a second phmatchd starts"
    t_diag "$(cat "$T/small.log")"
fi

# ---------------------------------------------------------------------------
# Round trip (issue 11): every record that `phmatch index export` writes, in
# every format, is accepted by POST /v1/index/entries, answering unchanged
# (tests/cli/index.sh does the same for `phmatch index import`). One server
# per format, on an index made from that format's export of a rich index.

R=$T/rich.phmi
rt_rich_index "$R" || t_fail "round trip: the rich index"
RS=$T/rt.sock
rt_post() { # TYPE FILE QUERY
    curl -s -m 20 -o "$T/out" -w '%{http_code}' --unix-socket "$RS" -H "Content-Type: $1" \
        --data-binary @"$2" "http://localhost/v1/index/entries$3"
}
for f in pdq hex hma csv tsv jsonl; do
    "$PHMATCH" index export --format "$f" "$R" >"$T/rt-$f.0" 2>/dev/null
    "$PHMATCH" index create "$T/rt-$f.phmi"
    n=$(rt_counts "$("$PHMATCH" index import --source rt --category c "$T/rt-$f.phmi" "$T/rt-$f.0")")
    n=${n%% *}
    "$PHMATCH" index export --format "$f" "$T/rt-$f.phmi" >"$T/rt-$f.1"
    if ! start "rt-$f" --index "$T/rt-$f.phmi" --socket "$RS" --threads 1; then
        t_fail "round trip $f: phmatchd starts"
        t_diag "$(cat "$T/rt-$f.log")"
        continue
    fi
    rt_want="200/{\"added\":0,\"updated\":0,\"unchanged\":$n,\"removed\":0}"
    case $f in
    csv) ct=text/csv ;;
    tsv) ct=text/tab-separated-values ;;
    jsonl) ct=application/x-ndjson ;;
    *) ct=text/plain ;;
    esac
    t_is "round trip $f: POST as $ct: all $n unchanged" \
        "$(rt_post "$ct" "$T/rt-$f.1" '?source=rt&category=c')/$(body)" "$rt_want"
    t_is "round trip $f: POST as text/plain (detected): all $n unchanged" \
        "$(rt_post text/plain "$T/rt-$f.1" '?source=rt&category=c')/$(body)" "$rt_want"
    if [ "$f" = jsonl ]; then
        # The JSON body: {"entries": [each line of the export]}
        { printf '{"entries":['; paste -s -d, "$T/rt-$f.1"; printf ']}'; } >"$T/rt-body.json"
        t_is "round trip jsonl: POST {\"entries\": [...]} as application/json: all $n unchanged" \
            "$(rt_post application/json "$T/rt-body.json" '')/$(body)" "$rt_want"
        head -n 1 "$T/rt-$f.1" >"$T/rt-one.json"
        t_is "round trip jsonl: one exported line as application/json: unchanged" \
            "$(rt_post application/json "$T/rt-one.json" '')/$(body)" \
            '200/{"added":0,"updated":0,"unchanged":1,"removed":0}'
        mkdir "$T/rt-vpdq"
        "$PHMATCH" index export --format vpdq --output-dir "$T/rt-vpdq" "$T/rt-$f.phmi" \
            >/dev/null 2>&1
        v=$(ls "$T/rt-vpdq")
        t_is "round trip vpdq: the video's file as text/plain: unchanged" \
            "$(rt_post text/plain "$T/rt-vpdq/$v" "?source=vid&category=clips&id=${v%.txt}")/$(body)" \
            '200/{"added":0,"updated":0,"unchanged":1,"removed":0}'
        t_is "... without ?id=: 400" "$(rt_post text/plain "$T/rt-vpdq/$v" '?source=vid')" 400
        printf '%s\n' "$(head -n 2 "$T/rt-$f.1" | tail -n 1)" '{"hash":"xyz"}' >"$T/rt-bad.jsonl"
        t_is "a bad line in a list body: 400" \
            "$(rt_post application/x-ndjson "$T/rt-bad.jsonl" '')" 400
        t_like "... naming the line" "$(body)" '"message":"body:2: invalid hash'
        t_is "a list body of an unknown type: 415" \
            "$(rt_post application/pdf "$T/rt-bad.jsonl" '')" 415
        # What export writes and the old grammar refused: aliases, null, ISO
        # times, unknown keys (ignored).
        printf '{"pdq":"%s","list":"s3","external_id":"x","label":null,"added":"2024-01-02T03:04:05Z","tags":[1],"note":null}' \
            "$(head -c 64 "$T/rt-hex.1")" >"$T/rt-alias.json"
        t_is "an ENTRY with aliases, null, an ISO time and an unknown key: added" \
            "$(rt_post application/json "$T/rt-alias.json" '')/$(body)" \
            '200/{"added":1,"updated":0,"unchanged":0,"removed":0}'
    fi
    stop "$PID"
done

# ---------------------------------------------------------------------------
# TLS with a self-signed certificate.

if t_have openssl &&
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
        -subj /CN=localhost -addext subjectAltName=IP:127.0.0.1 -days 1 \
        -keyout "$T/key.pem" -out "$T/cert.pem" >/dev/null 2>&1; then
    if start tls --socket '' --listen 127.0.0.1:0 --tokens "$T/tokens" \
        --tls-cert "$T/cert.pem" --tls-key "$T/key.pem" --threads 1; then
        t_is "TLS: GET /healthz over https" \
            "$(req --cacert "$T/cert.pem" "https://127.0.0.1:$PORT/healthz")" 200
        t_is "TLS: POST /v1/hash" \
            "$(req --cacert "$T/cert.pem" -H "$AUTH_A" -H "$OCT" --data-binary @"$JPG" \
                "https://127.0.0.1:$PORT/v1/hash")/$(body | grep -o '"pdq":"[0-9a-f]*"')" \
            "200/\"pdq\":\"$want\""
        t_is "TLS: plain HTTP is not answered" "$(req "http://127.0.0.1:$PORT/healthz")" 000
        stop "$PID"
        t_is "TLS: phmatchd stops cleanly" "$RC" 0
    else
        t_fail "phmatchd starts with TLS"
        t_diag "$(cat "$T/tls.log")"
    fi
else
    t_skip "TLS" "openssl cannot make a test certificate"
fi

t_is "no sanitizer report in any server's log" \
    "$(cat "$T"/*.log | grep -c -e 'Sanitizer' -e 'runtime error')" 0
t_done

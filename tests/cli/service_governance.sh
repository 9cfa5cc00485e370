#!/bin/sh
# service_governance.sh - governance over phmatchd's Unix socket: the
# settings endpoints (GET/PUT /v1/index/sources...), per-source distance,
# disabled entries (PUT/DELETE /v1/index/disabled/...), suppression in
# /v1/lookup and /v1/match and in the audit log, and the quarantine (its
# counts continued across a restart and a kill -9): a
# flood of distinct near-duplicate queries of one planted entry trips it;
# it is listed (GET /v1/index/quarantine, and `phmatch index quarantine`
# from another process), stops matching, is in the audit log and the
# log, and matches again after DELETE /v1/index/quarantine/{source}/{id}.
# The same query repeated never trips it (distinct queries are counted).
# TAP on stdout. Needs curl and python3.
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
trap 'svc_kill_all; t_cleanup' EXIT

P=$PHMATCH
DB=$T/g.phmi
S=$T/s.sock
B=f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22
JSON="Content-Type: application/json"

# near N - N distinct hashes at distance 1..8 from B, one a line (as a
# JSON array with "json").
near() {
    python3 - "$B" "$1" "${2:-}" <<'PY'
import sys, random
b, n = int(sys.argv[1], 16), int(sys.argv[2])
rnd = random.Random(7)
out = set()
while len(out) < n:
    h = b
    for bit in rnd.sample(range(256), rnd.randint(1, 8)):
        h ^= 1 << bit
    out.add("%064x" % h)
out = sorted(out)
print(("[" + ",".join('"%s"' % h for h in out) + "]") if sys.argv[3] == "json" else "\n".join(out))
PY
}
req() {
    curl -s -m 20 -o "$T/out" -w '%{http_code}' --unix-socket "$S" "$@"
}
body() { cat "$T/out"; }
# ids HASH [DIST [K]] - the "source:id" POST /v1/lookup reports for HASH.
ids() {
    req -X POST -H "$JSON" -d "{\"hashes\":[\"$1\"],\"max_distance\":${2:-31}${3:+,\"k\":$3}}" \
        http://x/v1/lookup >/dev/null
    python3 -c 'import json,sys; r=json.load(open(sys.argv[1]))["results"][0]
print(" ".join("%s:%s" % (m["source"], m["id"]) for m in r["matches"]) + (" suppressed" if r.get("suppressed") else ""))' "$T/out"
}

FAR=$(python3 -c "print('%064x' % (int('$B', 16) ^ ((1 << 20) - 1)))")
"$P" index create "$DB"
printf '%s,,planted\n' "$B" | "$P" index import --source s "$DB" - >/dev/null
printf '%s,,far20\n' "$FAR" | "$P" index import --source t "$DB" - >/dev/null
svc_start gov --index "$DB" --socket "$S" --audit-log "$T/audit.jsonl" --threads 2
if ! kill -0 "$PID" 2>/dev/null; then
    t_fail "phmatchd started"
    t_done
fi

# ---- settings ----
t_is "GET /v1/index/sources: 200" "$(req http://x/v1/index/sources)" 200
t_like "... the source with its entries and defaults" "$(body)" \
    '"source":"t","entries":1,"enabled":true,"kind":"normal","max_distance":null'
t_is "no settings: planted and far20 (at 20) match" "$(ids "$B")" "s:planted t:far20"
t_is "PUT /v1/index/sources/t: 200" \
    "$(req -X PUT -H "$JSON" -d '{"max_distance":10,"categories":{"A1":"first"}}' \
        http://x/v1/index/sources/t)" 200
t_like "... the settings stored" "$(body)" '"max_distance":10,.*"categories":{"A1":"first"}'
t_is "max_distance 10: far20 no longer matches" "$(ids "$B")" "s:planted"
t_is "GET /v1/index/sources/t: 200" "$(req http://x/v1/index/sources/t)" 200
t_like "... the same settings" "$(body)" '"max_distance":10'
t_is "PUT a bad value: 400" \
    "$(req -X PUT -H "$JSON" -d '{"max_distance":999}' http://x/v1/index/sources/t)" 400
t_is "PUT an unknown member: 400" \
    "$(req -X PUT -H "$JSON" -d '{"colour":1}' http://x/v1/index/sources/t)" 400
req -X PUT -H "$JSON" -d '{"max_distance":null}' http://x/v1/index/sources/t >/dev/null
t_is "max_distance null: the request's again" "$(ids "$B")" "s:planted t:far20"
t_like "the CLI sees the settings" "$("$P" index source show "$DB" t)" \
    "^t	1	yes	normal	default	default	0	3600.000s	A1=first$"

# ---- disabled entries ----
t_is "PUT /v1/index/disabled/t/far20: 200" "$(req -X PUT http://x/v1/index/disabled/t/far20)" 200
t_is "... it does not match" "$(ids "$B")" "s:planted"
t_is "GET /v1/index/disabled lists it" "$(req http://x/v1/index/disabled)" 200
t_like "..." "$(body)" '"source":"t","id":"far20","until":0'
t_is "DELETE /v1/index/disabled/t/far20: 200" \
    "$(req -X DELETE http://x/v1/index/disabled/t/far20)" 200
t_is "... it matches again" "$(ids "$B")" "s:planted t:far20"
t_is "disable an unknown entry: 404" "$(req -X PUT http://x/v1/index/disabled/s/nope)" 404
# "k": the k nearest entries the governance admits
t_is "k 1: the nearest, planted" "$(ids "$B" 31 1)" "s:planted"
req -X PUT http://x/v1/index/disabled/s/planted >/dev/null
t_is "k 1, planted disabled: far20, the nearest admitted" "$(ids "$B" 31 1)" "t:far20"
req -X DELETE http://x/v1/index/disabled/s/planted >/dev/null

# ---- suppression ----
printf '%s,,logo\n' "$(near 1)" | "$P" index import --source logos "$DB" - >/dev/null
req -X PUT -H "$JSON" -d '{"kind":"suppression","max_distance":8}' \
    http://x/v1/index/sources/logos >/dev/null
t_is "a suppression entry near the query: every match suppressed" "$(ids "$B")" \
    "s:planted logos:logo t:far20 suppressed"
t_like "... each record names it" "$(body)" \
    '"id":"planted",.*"suppressed_by":{"source":"logos","id":"logo","distance":[1-8]}'
t_like "the audit log records it with the reason" "$(cat "$T/audit.jsonl")" \
    '"id":"planted".*"suppressed_by":{.*"source":"logos".*"reason":"suppression source"'
t_is "HMA GET /m/lookup of a suppressed query: 200" \
    "$(req "http://x/m/lookup?signal_type=pdq&signal=$B")" 200
t_is "... no bank matches" "$(body)" "{}"
t_is "PUT logos: normal and disabled" \
    "$(req -X PUT -H "$JSON" -d '{"kind":"normal","enabled":false}' \
        http://x/v1/index/sources/logos)" 200
t_is "logos disabled: no suppression, logos not listed" "$(ids "$B")" "s:planted t:far20"

# ---- quarantine ----
req -X PUT -H "$JSON" -d '{"quarantine_limit":5,"quarantine_window":"1h"}' \
    http://x/v1/index/sources/s >/dev/null
for i in 1 2 3 4 5 6 7 8 9 10; do ids "$B" >/dev/null; done
t_is "the same query 10 times: not quarantined" "$("$P" index quarantine "$DB" | wc -l)" 1
t_is "a flood of 12 distinct near-duplicates in one request: 200" \
    "$(req -X POST -H "$JSON" -d "{\"hashes\":$(near 12 json)}" http://x/v1/lookup)" 200
t_is "GET /v1/index/quarantine: 200" "$(req http://x/v1/index/quarantine)" 200
t_like "... lists planted, tripped at the 6th distinct query" "$(body)" \
    '"quarantined":\[{"source":"s","id":"planted","since":[0-9]*,"count":6}\]'
t_like "another process sees it: phmatch index quarantine" \
    "$("$P" index quarantine "$DB")" "^s	planted	[0-9T:-]*Z	6$"
t_is "a quarantined entry does not match" "$(ids "$B")" "t:far20"
q=$(python3 -c "print('%064x' % (int('$B', 16) ^ 3))")
t_is "... nor for a new query" "$(ids "$q")" "t:far20"
t_like "the audit log records the quarantine" "$(cat "$T/audit.jsonl")" \
    '"source":"s","id":"planted",.*"event":"quarantine","count":6'
t_like "the log says so" "$(cat "$T/gov.log")" \
    "quarantine: 's:planted' matched 6 distinct queries within 3600 s (limit 5)"
t_like "GET /v1/index counts it" "$(req http://x/v1/index >/dev/null; body)" '"quarantined":1'
t_is "DELETE /v1/index/quarantine/s/planted: 200" \
    "$(req -X DELETE http://x/v1/index/quarantine/s/planted)" 200
t_is "released: it matches again" "$(ids "$B")" "s:planted t:far20"
t_is "releasing again: 404" "$(req -X DELETE http://x/v1/index/quarantine/s/planted)" 404
# The counts continue across a restart (kept in the index): since the
# release, B and 3 distinct queries (4, or 5 with a query of the flood
# counted after its trip), a stop, then 2 more: over the limit of 5, where
# a fresh count would stand at 2.
# hx K - B with the bits of K flipped from bit 100 on.
hx() { python3 -c "print('%064x' % (int('$B', 16) ^ ($1 << 100)))"; }
# lookupk K... - one POST /v1/lookup of hx K for each K
lookupk() {
    _l=""
    for _k; do _l="$_l${_l:+,}\"$(hx "$_k")\""; done
    req -X POST -H "$JSON" -d "{\"hashes\":[$_l]}" http://x/v1/lookup
}
t_is "3 distinct queries after the release: 200" "$(lookupk 1 2 3)" 200
t_is "... not quarantined yet" "$("$P" index quarantine "$DB" | wc -l)" 1
svc_stop "$PID"
svc_start gov2 --index "$DB" --socket "$S" --audit-log "$T/audit.jsonl" --threads 2 ||
    t_fail "phmatchd restarted"
t_is "after a restart, 2 more distinct queries: 200" "$(lookupk 4 5)" 200
t_like "... over the limit: quarantined, counting continued" \
    "$("$P" index quarantine "$DB")" "^s	planted	[0-9T:-]*Z	6$"
t_like "... and the log says so" "$(cat "$T/gov2.log")" \
    "quarantine: 's:planted' matched 6 distinct queries within 3600 s (limit 5)"
req -X DELETE http://x/v1/index/quarantine/s/planted >/dev/null
# ... and across a crash (kill -9), for the counts flushed (each second):
# 4 distinct (5 with one counted after the trip), a crash, 2 more
t_is "released; 4 distinct queries: 200" "$(lookupk 6 7 8 9)" 200
sleep 1.5
kill -9 "$PID"
wait "$PID" 2>/dev/null
svc_start gov3 --index "$DB" --socket "$S" --audit-log "$T/audit.jsonl" --threads 2 ||
    t_fail "phmatchd restarted after kill -9"
t_is "... not quarantined before the crash" "$("$P" index quarantine "$DB" | wc -l)" 1
t_is "after kill -9 and a restart, 2 more distinct queries: 200" "$(lookupk 10 11)" 200
t_like "... over the limit: quarantined" "$("$P" index quarantine "$DB")" \
    "^s	planted	[0-9T:-]*Z	6$"
req -X DELETE http://x/v1/index/quarantine/s/planted >/dev/null
t_is "released: it matches again" "$(ids "$B")" "s:planted t:far20"
# A source's stored minimum quality holds POST /v1/index/entries?source=,
# as it holds `phmatch index import --source`.
req -X PUT -H "$JSON" -d '{"min_quality":80}' http://x/v1/index/sources/strict >/dev/null
printf '{"hash":"%s","quality":60,"id":"weak"}\n' "$B" >"$T/weak.jsonl"
t_is "POST entries?source=strict (min_quality 80) with a quality-60 record: 400" \
    "$(req -X POST -H 'Content-Type: application/x-ndjson' --data-binary @"$T/weak.jsonl" \
        'http://x/v1/index/entries?source=strict')" 400
t_like "... bad_entry naming the minimum" "$(body)" '"bad_entry".*quality 60 is below the minimum 80'
t_is "... the same body for a source without a minimum: 200" \
    "$(req -X POST -H 'Content-Type: application/x-ndjson' --data-binary @"$T/weak.jsonl" \
        'http://x/v1/index/entries?source=lax')" 200
# A match of an entry whose id is not UTF-8 (the index stores bytes) is
# audited too, the id written as the answers write it (U+FFFD).
L=$(python3 -c "print('%064x' % (int('$B', 16) ^ (((1 << 128) - 1) << 64)))")
printf '%s,,caf\351\n' "$L" | "$P" index import --source latin "$DB" - >/dev/null
req -X POST -H "$JSON" -d "{\"hashes\":[\"$L\"],\"max_distance\":0}" http://x/v1/lookup >/dev/null
t_like "an id that is not UTF-8 matches" "$(body)" '"source":"latin","id":"caf\\ufffd"'
t_like "... and the audit log records it" "$(cat "$T/audit.jsonl")" \
    '"source":"latin","id":"caf\\u[fF][fF][fF][dD]","category":"","distance":0'
t_ok "the index verifies" sh -c "\"$P\" index verify \"$DB\" >/dev/null"
svc_stop "$PID"
t_is "phmatchd stopped cleanly" "$RC" 0
t_done

#!/bin/sh
# snapshot.sh - `phmatch index snapshot` and a read-only phmatchd that
# swaps its index (issue 16, item 4): a snapshot equals the index it was
# taken from, is one committed state when taken while writers run (a
# running import, a loop of adds), is replaced atomically and leaves no
# temporary file; phmatchd --read-only refuses writes (403), swaps to a
# file renamed over its index (and on SIGHUP) without failing a request in
# progress, keeps the old one when the new one is bad, and is not ready
# until its index exists. Needs curl and python3; wrk for the load part.
. "$(dirname "$0")/lib.sh"

case $BUILD in
/*) D=$BUILD ;;
*) D=$ROOT/$BUILD ;;
esac
PHMATCHD=$D/phmatchd
pids=
trap 'svc_kill_all; t_cleanup' EXIT

if ! t_have curl || ! t_have python3; then
    echo "1..0 # SKIP curl and python3 needed (make deps installs them)"
    exit 0
fi

entries() { "$PHMATCH" index stats "$1" | sed -n 's/^entries\t//p'; }

DB=$T/primary.phmi
gen_hashes 3000 1 base >"$T/base.tsv"
"$PHMATCH" index create "$DB" >/dev/null
"$PHMATCH" index import "$DB" "$T/base.tsv" >/dev/null

# ---- the snapshot itself ----
t_is "snapshot: prints its entry count" "$("$PHMATCH" index snapshot "$DB" "$T/s.phmi")" \
    "$T/s.phmi: 3000 entries"
t_is "... mode 0600" "$(stat -c %a "$T/s.phmi")" 600
t_is "... no temporary file, no lock file left beside it" \
    "$(ls "$T" | grep -c '^s\.phmi.')" 0
verify() { "$PHMATCH" index verify "$1" >/dev/null; }
t_ok "... verify passes" verify "$T/s.phmi"
"$PHMATCH" index export "$DB" >"$T/db.tsv"
"$PHMATCH" index export "$T/s.phmi" >"$T/s.tsv"
t_ok "... the same entries as the index (export)" cmp -s "$T/db.tsv" "$T/s.tsv"
ino=$(stat -c %i "$T/s.phmi")
"$PHMATCH" index snapshot "$DB" "$T/s.phmi" >/dev/null
t_ok "a second snapshot replaces the file (a new inode: renamed over it)" \
    test "$(stat -c %i "$T/s.phmi")" != "$ino"
t_is "onto the index itself: refused (exit 1)" \
    "$("$PHMATCH" index snapshot "$DB" "$DB" 2>"$T/err"; echo $?)" 1
t_like "... says why" "$(cat "$T/err")" "it is the index itself"
t_is "into a missing directory: exit 1" \
    "$("$PHMATCH" index snapshot "$DB" "$T/nodir/s.phmi" 2>"$T/err"; echo $?)" 1
t_like "... names it" "$(cat "$T/err")" "cannot snapshot index '.*nodir/s.phmi'"
t_is "... the index is untouched" "$(entries "$DB")" 3000
t_is "without OUT: usage error (exit 2)" \
    "$("$PHMATCH" index snapshot "$DB" 2>/dev/null; echo $?)" 2

# ---- while an import runs: one committed state ----
# The import is one transaction: a snapshot taken while it runs holds the
# entries before it, one taken after holds all of them; never a part.
gen_hashes 150000 2 big >"$T/big.tsv"
"$PHMATCH" index import "$DB" "$T/big.tsv" >/dev/null &
imp=$!
# The import's process outlives its commit a little (it closes the index
# and exits; longer under ASan), so a snapshot taken while it is still
# alive may already hold the committed state: each snapshot must hold one
# of the two states, and never the old one after the new.
n=0 during=0 bad=0 after=0
while [ $n -lt 40 ]; do
    n=$((n + 1))
    alive_before=0
    kill -0 $imp 2>/dev/null && alive_before=1
    "$PHMATCH" index snapshot "$DB" "$T/during.phmi" >/dev/null 2>"$T/err" ||
        { bad=$((bad + 1)); t_diag "snapshot $n failed: $(cat "$T/err")"; }
    c=$(entries "$T/during.phmi")
    case $c in
    3000)
        [ $after = 0 ] ||
            { bad=$((bad + 1)); t_diag "snapshot $n: the state before the import, after one of the state after it"; }
        ;;
    153000) after=1 ;;
    *) bad=$((bad + 1)); t_diag "snapshot $n: $c entries, neither the state before the import nor after it" ;;
    esac
    if [ "$alive_before" = 1 ] && kill -0 $imp 2>/dev/null && [ "$c" = 3000 ]; then
        # taken wholly while the import ran, before its commit
        during=$((during + 1))
        [ $during = 1 ] && cp "$T/during.phmi" "$T/mid.phmi"
    fi
    kill -0 $imp 2>/dev/null || break
done
wait $imp
t_is "snapshots during an import: each the state before or after it" $bad 0
t_diag "$n snapshots, $during taken wholly while the import ran and before its commit"
if [ $during -gt 0 ]; then
    "$PHMATCH" index export "$T/mid.phmi" >"$T/mid.tsv"
    t_ok "... one taken mid-import has exactly the committed entries" \
        cmp -s "$T/db.tsv" "$T/mid.tsv"
    t_ok "... and verifies" verify "$T/mid.phmi"
else
    t_skip "... one taken mid-import" "the import ended before a snapshot did"
    t_skip "... and verifies" "no mid-import snapshot"
fi
t_is "after it: all entries" "$(entries "$DB")" 153000

# ---- while entries are added one by one: a prefix of them ----
DB2=$T/adds.phmi
"$PHMATCH" index create "$DB2" >/dev/null
gen_hashes 80 3 add | tail -n +2 >"$T/adds.tsv"
(while IFS="$(printf '\t')" read -r h s i; do
    "$PHMATCH" index add "$DB2" --hash "$h" --source "$s" --id "$i" >/dev/null
done <"$T/adds.tsv") &
adder=$!
k=0 bad=0
while kill -0 $adder 2>/dev/null && [ $k -lt 30 ]; do
    k=$((k + 1))
    "$PHMATCH" index snapshot "$DB2" "$T/a$k.phmi" >/dev/null || bad=$((bad + 1))
done
wait $adder
"$PHMATCH" index export "$DB2" >"$T/adds-final.tsv"
for j in $(seq 1 $k); do
    c=$(entries "$T/a$j.phmi")
    "$PHMATCH" index export "$T/a$j.phmi" >"$T/a.tsv"
    head -n $((c + 1)) "$T/adds-final.tsv" | cmp -s - "$T/a.tsv" || bad=$((bad + 1))
done
t_is "snapshots while adds commit: each holds exactly the first N adds ($k snapshots)" $bad 0

# ---- phmatchd --read-only ----
if [ ! -x "$PHMATCHD" ]; then
    t_fail "built: $PHMATCHD"
    t_done
fi
ADMIN=snapshot-admin-0123456789abcdef
LOOKUP=snapshot-lookup-0123456789abcdef
printf 'ops admin %s\nreader lookup %s\n' "$ADMIN" "$LOOKUP" >"$T/tokens"
chmod 600 "$T/tokens"
req() { curl -s -m 20 -o "$T/out" -w '%{http_code}' "$@"; }
JSON="Content-Type: application/json"
AUTH_L="Authorization: Bearer $LOOKUP"
AUTH_A="Authorization: Bearer $ADMIN"
# lookup HASH - the ids POST /v1/lookup finds at distance 0
lookup() {
    req -H "$AUTH_L" -H "$JSON" -d "{\"hashes\":[\"$1\"],\"max_distance\":0}" \
        "http://127.0.0.1:$PORT/v1/lookup" >/dev/null
    sed -n 's/.*"id":"\([^"]*\)".*/\1/p' "$T/out"
}

R=$T/replica.phmi
t_ok "read_only with index_create: refused" \
    sh -c '! "$0" --index "$1" --read-only --index-create --socket "" --listen 127.0.0.1:0 \
        --tokens "$2" --check-config 2>/dev/null' "$PHMATCHD" "$R" "$T/tokens"
svc_start ro --index "$R" --read-only --socket '' --listen 127.0.0.1:0 --tokens "$T/tokens" ||
    t_fail "a read-only server starts before its index exists"
RO=$PID
t_is "... /readyz: 503 until the index exists" "$(req "http://127.0.0.1:$PORT/readyz")" 503
t_like "... not_ready" "$(cat "$T/out")" '"code":"not_ready"'
t_is "... a lookup meanwhile: 503" \
    "$(req -H "$AUTH_L" -H "$JSON" -d '{"hashes":[]}' "http://127.0.0.1:$PORT/v1/lookup")" 503
"$PHMATCH" index snapshot "$DB2" "$R" >/dev/null
ready() { [ "$(req "http://127.0.0.1:$PORT/readyz")" = 200 ]; }
t_ok "... ready once the snapshot appears" wait_until 100 ready
t_like "... with its entry count" "$(cat "$T/out")" '"entries":80'
t_like "... the log says so" "$(cat "$T/ro.log")" \
    "index swapped (file appeared): .*replica.phmi: 80 entries"
h5=$(sed -n 5p "$T/adds.tsv" | cut -f1)
t_is "... finds an entry" "$(lookup "$h5")" add4
t_is "... POST /v1/index/entries: 403" \
    "$(req -H "$AUTH_A" -H "$JSON" -d '{"entries":[]}' "http://127.0.0.1:$PORT/v1/index/entries")" 403
t_like "... read_only, with a clear message" "$(cat "$T/out")" \
    '"code":"read_only","message":"this server serves a read-only copy of the index.*primary'
t_is "... DELETE of a source: 403" \
    "$(req -X DELETE -H "$AUTH_A" "http://127.0.0.1:$PORT/v1/index/sources/add")" 403
t_is "... PUT of source settings: 403" \
    "$(req -X PUT -H "$AUTH_A" -H "$JSON" -d '{"enabled":false}' \
        "http://127.0.0.1:$PORT/v1/index/sources/add")" 403
t_is "... GET /v1/index/sources: 200" \
    "$(req -H "$AUTH_A" "http://127.0.0.1:$PORT/v1/index/sources")" 200
t_is "... nothing was removed" "$(lookup "$h5")" add4

# A newer snapshot renamed over the file: swapped within a few seconds.
NEW=$(gen_hashes 1 77 fresh | tail -n 1 | cut -f1)
"$PHMATCH" index add "$DB2" --hash "$NEW" --source fresh --id fresh0 >/dev/null
"$PHMATCH" index snapshot "$DB2" "$R" >/dev/null
found() { [ "$(lookup "$NEW")" = fresh0 ]; }
t_ok "a newer snapshot renamed over it: its new entry is found" wait_until 100 found
t_like "... the log says swapped, with the new count" "$(cat "$T/ro.log")" \
    "index swapped (file replaced): .*: 81 entries"
req -H "$AUTH_L" "http://127.0.0.1:$PORT/metrics" >/dev/null
t_like "... counted in the metrics" "$(cat "$T/out")" 'phmatchd_index_swaps_total 2'
kill -HUP "$RO"
swapped3() { grep -q 'index swapped (SIGHUP)' "$T/ro.log"; }
t_ok "SIGHUP: reopened" wait_until 100 swapped3
t_is "... still finds" "$(lookup "$NEW")" fresh0

# A bad file renamed over it: the previous index stays in use.
head -c 100000 /dev/urandom >"$T/junk"
mv "$T/junk" "$R"
failed() { grep -q 'index swap (file replaced): .*still serving the previous' "$T/ro.log"; }
t_ok "a file that is no index renamed over it: refused, logged" wait_until 100 failed
t_is "... still serving the previous one" "$(lookup "$NEW")" fresh0
t_is "... still ready" "$(req "http://127.0.0.1:$PORT/readyz")" 200
"$PHMATCH" index snapshot "$DB2" "$R" >/dev/null

# Swaps under load: requests in progress finish on the old index, new ones
# go to the new; not one fails (wrk counts non-2xx answers and socket
# errors). The ASan build runs this too.
if t_have wrk; then
    wrk_lookups "http://127.0.0.1:$PORT/v1/lookup" "$LOOKUP" \
        "{\"hashes\":[\"$h5\",\"$NEW\"],\"max_distance\":32}" 4 "$T/wrk.out" &
    wp=$!
    sw=0
    before=$(grep -c 'index swapped' "$T/ro.log")
    while kill -0 $wp 2>/dev/null; do
        "$PHMATCH" index snapshot "$DB2" "$R" >/dev/null && sw=$((sw + 1))
        sleep 0.4
        [ $((sw % 3)) = 0 ] && kill -HUP "$RO"
    done
    wait $wp
    wrk_parse "$T/wrk.out"
    t_ok "swaps under load: requests were served" test "$WRK_TOTAL" -gt 0
    t_is "... no non-2xx answer" "$WRK_NON2XX" 0
    t_is "... no socket error" "$WRK_SOCKERR" none
    t_diag "$WRK_TOTAL lookups in 4 s with $sw snapshots renamed over the index and SIGHUPs"
    after=$(grep -c 'index swapped' "$T/ro.log")
    t_ok "... while the index was swapped ($((after - before)) swaps)" \
        test $((after - before)) -ge 2
else
    t_skip "swaps under load" "wrk not installed (make deps installs it)"
fi
svc_stop "$RO"
t_is "SIGTERM: exit 0" "$RC" 0
[ "$RC" = 0 ] || t_diag "$(tail -n 40 "$T/ro.log")"
t_is "... no error logged" "$(grep -c 'error:' "$T/ro.log")" 1 # the junk file's
t_is "no lock file beside the replica's index (opened without one)" \
    "$(ls "$T" | grep -c '^replica.phmi-lock$')" 0

t_done

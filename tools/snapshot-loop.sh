#!/bin/sh
# snapshot-loop.sh - keeps read-only phmatchd replicas up to date: every
# SECONDS, a compacted snapshot of the primary's index DB is renamed over
# each replica's index file (`phmatch index snapshot`: written beside the
# target, synced, checked, renamed), and each replica swaps to it within
# a second (docs/DEPLOY.md, "Service replicas behind HAProxy").
#
#   tools/snapshot-loop.sh [-i SECONDS] [-n ROUNDS] DB TARGET...
#
# TARGET is a local path, or HOST:PATH for a replica on another machine:
# the snapshot is made once into DB.snapshot beside DB and copied with
# rsync, which writes a temporary file on the far side and renames it into
# place (never use --inplace: a replica must never see a partial file).
# -i SECONDS between rounds (default 10); -n ROUNDS then stop (default 0:
# until killed). PHMATCH names the phmatch binary (default: phmatch on
# PATH). A failed round is reported on stderr and the loop goes on; exit
# status 1 if the last round failed.
set -u

interval=10
rounds=0
while getopts i:n: opt; do
    case $opt in
    i) interval=$OPTARG ;;
    n) rounds=$OPTARG ;;
    *) echo "usage: $0 [-i SECONDS] [-n ROUNDS] DB TARGET..." >&2; exit 2 ;;
    esac
done
shift $((OPTIND - 1))
if [ $# -lt 2 ]; then
    echo "usage: $0 [-i SECONDS] [-n ROUNDS] DB TARGET..." >&2
    exit 2
fi
PHMATCH=${PHMATCH:-phmatch}
db=$1
shift

# one_round TARGET... - 0 if every target got the snapshot
one_round() {
    _rc=0 _staged=
    for _t in "$@"; do
        # HOST:PATH has a colon before its first slash
        case ${_t%%/*} in
        *:*) remote=1 ;;
        *) remote= ;;
        esac
        if [ -z "$remote" ]; then
            "$PHMATCH" index snapshot "$db" "$_t" >/dev/null || _rc=1
            continue
        fi
        if [ -z "$_staged" ]; then
            "$PHMATCH" index snapshot "$db" "$db.snapshot" >/dev/null || { _rc=1; continue; }
            _staged=1
        fi
        rsync -t "$db.snapshot" "$_t" || _rc=1
    done
    return $_rc
}

n=0
status=0
while :; do
    n=$((n + 1))
    if one_round "$@"; then
        status=0
    else
        status=1
        echo "snapshot-loop: round $n failed" >&2
    fi
    [ "$rounds" -gt 0 ] && [ "$n" -ge "$rounds" ] && break
    sleep "$interval"
done
exit $status

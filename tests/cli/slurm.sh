#!/bin/sh
# slurm.sh - tools/slurm/ on a real Slurm cluster on this machine
# (tools/slurm/local-cluster.sh: munged, slurmctld and slurmd, with all their
# files in the scratch directory, stopped at the end whatever happens).
# A generated image set (a few hundred JPEGs in four folders, a short video,
# an undecodable file) is hashed, then matched, by an array job of 4 shards
# and a merge job submitted with phmatch-submit.sh; each merged file must
# equal an unsharded single-process run's, byte for byte. Also: a shard file
# cut short and resubmitted resumes to the same result, and a failing task
# keeps the merge job from running. Prints the Slurm run's total time against
# the single process's. Skips (saying why) without root or without Slurm and
# munge installed (make deps installs them).
. "$(dirname "$0")/lib.sh"

TOOLS=$ROOT/$BUILD/tools
case $BUILD in /*) TOOLS=$BUILD/tools ;; esac
SL=$ROOT/tools/slurm

# The ASan build's phmatch runs --shard, --resume and merge in shard.sh and
# resume.sh; here it would only repeat the cluster run at twice the time.
case $BUILD in
*asan*)
    echo "1..0 # SKIP Slurm runs once, in the plain build's run"
    exit 0
    ;;
esac
if [ "$(id -u)" != 0 ]; then
    echo "1..0 # SKIP needs root: slurmd runs jobs as their users"
    exit 0
fi
for c in munged slurmctld slurmd sbatch squeue scontrol python3; do
    if ! t_have "$c"; then
        echo "1..0 # SKIP $c not installed (make deps installs slurm-wlm, munge and python3)"
        exit 0
    fi
done
t_need_phmatch

# The cluster's directory: not in $T (mode 0700), since munged wants every
# directory above its socket open to all. The cluster is stopped on any
# exit, then both directories are removed.
C=$(mktemp -d "${TMPDIR:-/tmp}/phmatch-slurm.XXXXXX") || exit 1
chmod 755 "$C"
trap 'sh "$SL/local-cluster.sh" stop "$C" >/dev/null 2>&1; rm -rf "$C"; t_cleanup' EXIT
if ! conf=$(sh "$SL/local-cluster.sh" start "$C" 2>"$T/cluster.err"); then
    t_fail "local-cluster.sh start"
    t_diag "$(cat "$T/cluster.err")"
    for f in "$C"/log/*.log; do [ -f "$f" ] && t_diag "$f:" "$(tail -n 15 "$f")"; done
    t_done
fi
t_pass "local-cluster.sh start: munged, slurmctld, slurmd up, node idle"
export "${conf?}"
export PHMATCH

now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b - a }'; }

# job_states ID - "ID STATE" for the job and, for an array, each task.
job_states() {
    scontrol -o show job "$1" 2>/dev/null |
        sed -n 's/^JobId=\([0-9]*\) .*JobState=\([A-Z_]*\).*/\1 \2/p'
}

# run_slurm NAME ARGS... - phmatch-submit.sh ARGS in $T, waits (180 s at
# most) until both jobs left the queue; sets ARRAY, MERGE, and SECS (submit
# to both jobs gone). Fails on a submit error or a timeout.
run_slurm() {
    _name=$1
    shift
    _t0=$(now)
    _ids=$(cd "$T" && sh "$SL/phmatch-submit.sh" "$@" 2>"$T/$_name.submit.err") || {
        t_diag "phmatch-submit.sh: $(cat "$T/$_name.submit.err")"
        return 1
    }
    ARRAY=${_ids% *} MERGE=${_ids#* }
    _i=0
    while [ -n "$(squeue -h -j "$ARRAY,$MERGE" -o %A 2>/dev/null)" ]; do
        _i=$((_i + 1))
        if [ "$_i" -gt 900 ]; then
            t_diag "$_name: jobs $ARRAY and $MERGE still queued after 180 s:" "$(squeue)"
            scancel "$ARRAY" "$MERGE"
            return 1
        fi
        sleep 0.2
    done
    SECS=$(elapsed "$_t0" "$(now)")
}

# ------------------------------------------------------------------
# Inputs: 4 folders of 100 JPEGs, a 3 s video, an undecodable file.

# SLURM_TEST_COUNT (images per folder) and SLURM_TEST_SIZE (WxH) make a
# bigger set for a timing run by hand.
count=${SLURM_TEST_COUNT:-100}
size=${SLURM_TEST_SIZE:-320x240}
for d in a b c d; do
    "$TOOLS/mkimages" -s "$(printf %d "'$d")" "$ROOT/data/photos/bridge.jpg" "$size" "$count" \
        "$T/in/$d" >/dev/null || break
done
t_is "mkimages: 4 x $count images" "$(find "$T/in" -name '*.jpg' | wc -l | tr -d ' ')" $((4 * count))
head -c 3000 "$T/in/a/img-$size-000.jpg" >"$T/in/b/cut.jpg"
have_video=no
if t_have ffmpeg && ffmpeg -nostdin -v error -f lavfi -i testsrc=size=160x120:rate=10 -t 3 \
    -pix_fmt yuv420p "$T/in/c/clip.mp4" 2>"$T/ffmpeg.err"; then
    have_video=yes
fi

# ------------------------------------------------------------------
# hash: 4 shards on Slurm against one process with the same CPUs

cpus=$(nproc)
t0=$(now)
(cd "$T" && "$PHMATCH" hash -q -j "$cpus" -o ref.tsv in 2>"$T/ref.err")
rc=$?
one=$(elapsed "$t0" "$(now)")
t_is "single process: exit 1 (the cut file)" "$rc" 1

run_slurm hash -n 4 -c 1 -f tsv hash out-hash hash.tsv in
t_is "hash: submitted, both jobs ran" "$?" 0
t_is "hash: every array task completed" \
    "$(job_states "$ARRAY" | grep -c ' COMPLETED$')" 4
t_is "hash: merge job completed" "$(job_states "$MERGE" | cut -d' ' -f2)" COMPLETED
t_ok "hash: merged file = single-process run's, byte for byte" cmp "$T/ref.tsv" "$T/hash.tsv"
t_is "hash: every input in it" "$(tail -n +2 "$T/hash.tsv" | cut -f 1 | sort -u | wc -l | tr -d ' ')" \
    "$(find "$T/in" -type f | wc -l | tr -d ' ')"
n_sh=0
for i in 1 2 3 4; do
    [ -s "$T/out-hash/shard-$i.tsv" ] && n_sh=$((n_sh + 1))
done
t_is "hash: 4 shard files, none empty" "$n_sh" 4
t_like "hash: the cut file's error record is there" "$(grep 'cut.jpg' "$T/hash.tsv")" 'cut.jpg'
if [ "$have_video" = yes ]; then
    t_like "hash: the video's records are there" "$(grep -c 'clip.mp4' "$T/hash.tsv")" '^[1-9]'
else
    t_skip "hash: the video's records are there" "ffmpeg could not make a video"
fi
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", a / b }'; }
t_diag "timing, hash of $(find "$T/in" -type f | wc -l | tr -d ' ') files ($size) on $cpus CPUs:"
t_diag "  one process (-j $cpus): $one s"
t_diag "  Slurm, 4 shards x 1 CPU + merge (submit to merged file): $SECS s ($(ratio "$SECS" "$one") x)"

# Resubmitted after a shard was cut part way through a record: the task
# resumes it and the merged file is the same.
sz=$(wc -c <"$T/out-hash/shard-2.tsv")
head -c $((sz / 2)) "$T/out-hash/shard-2.tsv" >"$T/cut-shard" &&
    mv "$T/cut-shard" "$T/out-hash/shard-2.tsv"
rm -f "$T/hash.tsv"
run_slurm resume -n 4 -c 1 -f tsv hash out-hash hash.tsv in
t_is "resume: resubmitted, both jobs ran" "$?" 0
t_ok "resume: merged file = single-process run's" cmp "$T/ref.tsv" "$T/hash.tsv"

# ------------------------------------------------------------------
# match: an index of 30 of the images, 4 shards, jsonl

"$PHMATCH" index create "$T/k.phmi" >/dev/null &&
    "$PHMATCH" hash -q -f pdq "$T/in/a/img-$size"-00*.jpg "$T/in/d/img-$size"-01*.jpg \
        "$T/in/c/img-$size"-02*.jpg >"$T/known.pdq" &&
    "$PHMATCH" index import --source lab "$T/k.phmi" "$T/known.pdq" >/dev/null
t_is "index of 30 known images" "$?" 0
t0=$(now)
(cd "$T" && "$PHMATCH" match -q -j "$cpus" -f jsonl --index k.phmi -o ref.jsonl in 2>"$T/ref.err")
one=$(elapsed "$t0" "$(now)")
run_slurm match -n 4 -c 1 -f jsonl match out-match match.jsonl --index k.phmi in
t_is "match: submitted, both jobs ran" "$?" 0
t_ok "match: merged file = single-process run's, byte for byte" \
    cmp "$T/ref.jsonl" "$T/match.jsonl"
t_like "match: the known images matched" \
    "$(grep -c '"distance":0' "$T/match.jsonl")" '^[1-9]'
t_diag "timing, match: one process (-j $cpus) $one s, Slurm $SECS s ($(ratio "$SECS" "$one") x)"

# ------------------------------------------------------------------
# A failing task (no such index: exit 2) keeps the merge job from running.

run_slurm fail -n 2 -c 1 -f tsv match out-fail fail.tsv --index no-such.phmi in
t_is "failing task: both jobs left the queue" "$?" 0
t_like "failing task: the array tasks failed" "$(job_states "$ARRAY")" ' FAILED$'
t_ok "failing task: no merged file" test ! -e "$T/fail.tsv"

daemons=$(cat "$C/slurmd.pid" "$C/slurmctld.pid" "$C/munge/munged.pid" 2>/dev/null)
sh "$SL/local-cluster.sh" stop "$C"
t_is "local-cluster.sh stop" "$?" 0
t_is "three daemons were running" "$(echo "$daemons" | wc -w | tr -d ' ')" 3
left=
for p in $daemons; do
    kill -0 "$p" 2>/dev/null && left="$left $p"
done
t_is "every daemon stopped" "$left" ""
t_done

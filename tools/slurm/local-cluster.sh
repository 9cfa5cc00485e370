#!/bin/sh
# local-cluster.sh - a throw-away Slurm cluster on this machine, for trying
# tools/slurm/ and for tests/cli/slurm.sh. Needs root and Debian's slurm-wlm
# and munge packages; uses no system file or service of theirs.
#
#   local-cluster.sh start DIR   munged, slurmctld and slurmd with all their
#                                files (key, socket, state, spool, logs, pid
#                                files, slurm.conf) under DIR (created);
#                                prints SLURM_CONF=DIR/slurm.conf, which the
#                                Slurm commands need in their environment
#   local-cluster.sh stop DIR    cancels the cluster's jobs and stops the
#                                three daemons (by their pid files)
#
# Every directory above DIR must be open to all (o+x; /tmp is, mktemp -d's
# directories are not): munged's rule for the directories of its socket.
#
# One node: this host with the CPUs and memory `slurmd -C` finds, one
# partition "phmatch", no accounting, proctrack/linuxproc and task/none (no
# cgroups or systemd needed). The ports are free ones the kernel chose (a
# new pair if another process takes one before slurmctld binds it).
set -u

die() {
    echo "local-cluster: $*" >&2
    exit 1
}

# fail MESSAGE - stops what start started, then dies.
fail() {
    stop
    die "$*"
}

# wait_for SECONDS COMMAND... - runs COMMAND every 0.2 s until it succeeds;
# fails after SECONDS of wall time (a Slurm command that cannot reach the
# controller takes seconds itself: counting tries would wait far longer).
wait_for() {
    _end=$(($(date +%s) + $1))
    shift
    while :; do
        "$@" >/dev/null 2>&1 && return 0
        [ "$(date +%s)" -lt "$_end" ] || return 1
        sleep 0.2
    done
}

# alive FILE - whether the process in pid file FILE runs.
alive() {
    [ -s "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null
}

# ctld_gone_or_idle - true once slurmctld has died (its pid file written,
# the process gone) or the node is idle.
ctld_gone_or_idle() {
    { [ -s "$dir/slurmctld.pid" ] && ! alive "$dir/slurmctld.pid"; } || node_idle
}

# stop_pid FILE - SIGTERM to the process in pid file FILE, SIGKILL after 10 s.
stop_pid() {
    [ -s "$1" ] || return 0
    _pid=$(cat "$1")
    case $_pid in '' | *[!0-9]*) return 0 ;; esac
    kill -TERM "$_pid" 2>/dev/null || return 0
    wait_for 10 sh -c "! kill -0 $_pid" || kill -KILL "$_pid" 2>/dev/null
    rm -f "$1"
}

node_idle() {
    sinfo -h -N -o %T | grep -q '^idle'
}

no_jobs() {
    [ -z "$(squeue -h -o %A)" ]
}

start() {
    for c in munged slurmctld slurmd sbatch python3; do
        command -v "$c" >/dev/null 2>&1 || die "$c not found (make deps installs slurm-wlm and munge)"
    done
    [ "$(id -u)" = 0 ] || die "needs root (slurmd runs jobs as their users)"
    mkdir -p "$dir" || exit 1
    dir=$(cd "$dir" && pwd) || exit 1
    # munged wants its key private and its socket's directory open to all.
    mkdir -p "$dir/munge" "$dir/run" "$dir/state" "$dir/spool" "$dir/log" || exit 1
    chmod 700 "$dir/munge" && chmod 755 "$dir" "$dir/run" || exit 1
    if [ ! -s "$dir/munge/munge.key" ]; then
        (umask 077 && head -c 1024 /dev/urandom >"$dir/munge/munge.key") || exit 1
    fi
    chmod 400 "$dir/munge/munge.key"
    munged --key-file="$dir/munge/munge.key" --socket="$dir/run/munge.sock" \
        --pid-file="$dir/munge/munged.pid" --log-file="$dir/log/munged.log" \
        --seed-file="$dir/munge/seed" || die "munged did not start: see $dir/log/munged.log"

    # The ports are free when chosen, but another process may take one
    # before slurmctld binds it (tests on this machine run servers on
    # kernel-chosen ports too): then slurmctld exits, and a new pair is
    # tried, three times at most.
    tries=0
    while :; do
        tries=$((tries + 1))
        start_daemons
        wait_for 30 ctld_gone_or_idle
        alive "$dir/slurmctld.pid" && break
        if [ "$tries" -lt 3 ] && grep -q 'Address already in use' "$dir/log/slurmctld.log"; then
            stop_pid "$dir/slurmd.pid"
            rm -f "$dir/slurmctld.pid"
            mv "$dir/log/slurmctld.log" "$dir/log/slurmctld.$tries.log"
            continue
        fi
        fail "slurmctld stopped: see $dir/log/slurmctld.log"
    done
    node_idle || fail "the node is not idle after 30 s: see $dir/log/"
    echo "SLURM_CONF=$SLURM_CONF"
}

# start_daemons - slurm.conf with two free ports, slurmctld and slurmd.
start_daemons() {
    ports=$(python3 -c '
import socket
ss = [socket.socket() for _ in range(2)]
for s in ss: s.bind(("127.0.0.1", 0))
print(" ".join(str(s.getsockname()[1]) for s in ss))') || fail "no free ports"
    # shellcheck disable=SC2086 # two numbers
    set -- $ports
    host=$(hostname -s)
    node=$(slurmd -C | sed -n 's/^NodeName=[^ ]* //p' | sed 's/ UpTime=.*//')
    [ -n "$node" ] || fail "slurmd -C gave no node line"
    # SchedulerParameters: a job is started as soon as it can be, not at
    # the next scheduling pass (backfill every 30 s, a batch job's start put
    # off up to 3 s): an array of 4 shards and its merge took 8.5 s from
    # submit to merged file, 2.4 s with these (tests/cli/slurm.sh, 42 s -> 20 s).
    cat >"$dir/slurm.conf" <<CONF
# Written by tools/slurm/local-cluster.sh: a one-node cluster for tests.
ClusterName=phmatch-local
SlurmctldHost=$host(127.0.0.1)
SlurmctldPort=$1
SlurmdPort=$2
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$dir/run/munge.sock
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool
SlurmctldPidFile=$dir/slurmctld.pid
SlurmdPidFile=$dir/slurmd.pid
SlurmctldLogFile=$dir/log/slurmctld.log
SlurmdLogFile=$dir/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
SwitchType=switch/none
MpiDefault=none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SchedulerType=sched/backfill
SchedulerParameters=batch_sched_delay=0,sched_min_interval=0,bf_interval=1
ReturnToService=2
NodeName=$host NodeAddr=127.0.0.1 $node State=UNKNOWN
PartitionName=phmatch Nodes=$host Default=YES MaxTime=INFINITE State=UP
CONF
    SLURM_CONF=$dir/slurm.conf
    export SLURM_CONF
    slurmctld -c -f "$SLURM_CONF" || fail "slurmctld did not start: see $dir/log/slurmctld.log"
    slurmd -f "$SLURM_CONF" || fail "slurmd did not start: see $dir/log/slurmd.log"
}

stop() {
    [ -d "$dir" ] || return 0
    if [ -f "$dir/slurm.conf" ] && alive "$dir/slurmctld.pid"; then
        SLURM_CONF=$dir/slurm.conf
        export SLURM_CONF
        ids=$(squeue -h -o %A 2>/dev/null)
        # shellcheck disable=SC2086
        [ -n "$ids" ] && scancel $ids 2>/dev/null && wait_for 15 no_jobs
    fi
    stop_pid "$dir/slurmd.pid"
    stop_pid "$dir/slurmctld.pid"
    stop_pid "$dir/munge/munged.pid"
    return 0
}

[ $# -eq 2 ] || {
    echo "usage: local-cluster.sh start|stop DIR" >&2
    exit 2
}
dir=$2
case $1 in
start) start ;;
stop) stop ;;
*) echo "usage: local-cluster.sh start|stop DIR" >&2; exit 2 ;;
esac

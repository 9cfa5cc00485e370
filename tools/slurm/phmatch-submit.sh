#!/bin/sh
# phmatch-submit.sh - submits a sharded phmatch run to Slurm: an array job of
# N tasks (phmatch-shard.sbatch, one shard each) and a merge job
# (phmatch-merge.sbatch) that starts when every task has succeeded. Prints
# the two job ids, "ARRAYJOB MERGEJOB", on standard output.
# See tools/slurm/README.md.
set -u

usage() {
    cat >&2 <<USAGE
usage: phmatch-submit.sh [options] hash|match OUTDIR OUT [PHMATCH-OPTIONS...] INPUT...
  OUTDIR          shard files (shard-I.FORMAT) and the jobs' logs; on a
                  file system every node sees. Submitting again with the
                  same OUTDIR resumes the shards already started.
  OUT             the merged output file
  -n SHARDS       number of shards = array tasks 1..SHARDS (default 4)
  -c THREADS      CPUs per task, passed to phmatch as -j (default 1)
  -f FORMAT       output format: tsv, csv, jsonl or pdq (default tsv)
  -p PARTITION    Slurm partition (default: the cluster's default)
  -t TIME         time limit per task, e.g. 4:00:00 (default: the partition's)
  -m MEM          memory per task, e.g. 4G (default: the partition's)
  -k MAXRUN       at most MAXRUN tasks running at once (array %MAXRUN)
  -P PHMATCH      the phmatch binary (default: phmatch on the jobs' PATH)
  -s 'OPTIONS'    more sbatch options for both jobs (split on blanks),
                  e.g. -s '--account=lab --qos=long'
USAGE
    exit 2
}

shards=4 threads=1 fmt=tsv partition='' time='' mem='' maxrun='' extra=''
while getopts n:c:f:p:t:m:k:P:s:h opt; do
    case $opt in
    n) shards=$OPTARG ;;
    c) threads=$OPTARG ;;
    f) fmt=$OPTARG ;;
    p) partition=$OPTARG ;;
    t) time=$OPTARG ;;
    m) mem=$OPTARG ;;
    k) maxrun=$OPTARG ;;
    P) PHMATCH=$OPTARG; export PHMATCH ;;
    s) extra=$OPTARG ;;
    *) usage ;;
    esac
done
shift $((OPTIND - 1))
[ $# -ge 4 ] || usage
cmd=$1 outdir=$2 out=$3
shift 3
case $cmd in hash | match) ;; *) echo "phmatch-submit: '$cmd': not hash or match" >&2; usage ;; esac
case $shards in '' | *[!0-9]* | 0*) echo "phmatch-submit: -n '$shards': not a number of shards" >&2; exit 2 ;; esac
case $threads in '' | *[!0-9]* | 0*) echo "phmatch-submit: -c '$threads': not a number of CPUs" >&2; exit 2 ;; esac
case $fmt in tsv | csv | jsonl | pdq) ;; *) echo "phmatch-submit: -f '$fmt': not tsv, csv, jsonl or pdq (the formats --resume and merge read)" >&2; exit 2 ;; esac

here=$(cd "$(dirname "$0")" && pwd) || exit 2
mkdir -p "$outdir" || exit 2

# Options for both jobs, split on blanks ($extra on purpose; the others hold
# none in Slurm's syntax).
common="--parsable${partition:+ --partition=$partition}${time:+ --time=$time}${mem:+ --mem=$mem} $extra"

# shellcheck disable=SC2086 # $common: options without blanks
array=$(sbatch $common --job-name="phmatch-$cmd" --array="1-$shards${maxrun:+%$maxrun}" \
    --cpus-per-task="$threads" --output="$outdir/slurm-%A_%a.log" \
    "$here/phmatch-shard.sbatch" "$shards" "$cmd" "$outdir" "$fmt" "$@") || exit 1
array=${array%%;*}
# shellcheck disable=SC2086
merge=$(sbatch $common --job-name=phmatch-merge --dependency="afterok:$array" \
    --kill-on-invalid-dep=yes --output="$outdir/slurm-%j-merge.log" \
    "$here/phmatch-merge.sbatch" "$shards" "$outdir" "$fmt" "$out") || {
    scancel "$array"
    exit 1
}
merge=${merge%%;*}
echo "phmatch-submit: array job $array ($shards tasks, $threads CPUs each), merge job $merge -> $out" >&2
echo "$array $merge"

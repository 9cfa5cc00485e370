#!/bin/sh
# bench/robustness.sh [PATH...] - the robustness benchmark of issue 15: how many
# edited copies of known images phmatch finds, and at what false-match cost.
#
# PATH: image files or directories (walked, sorted); default: the distinct
# photos in data/ (data/known and data/photos/labelme-*, grey-alpha.png; not
# data/queries, which are copies). The images, sorted by path, are split: every
# third (3rd, 6th, ...) is "unrelated", the others "known". Each is first made
# a JPEG (quality 85) of at most ROBUST_MAX pixels a side, by tools/mkqueries,
# the known ones then edited 27 ways (`mkqueries -t bench`). The known images
# go into an index; every known image, unrelated image and copy is matched
# against it once per mode (`phmatch match -f jsonl --max-distance 48`), and
# bench/robustness.py derives, for every distance 0..48, the share of copies
# matching their own original (TPR) and the false matches (a match of a query
# to any entry other than its own original: unrelated x known, known x other
# known, copy x other known).
#
# Modes (each needs its phmatch option; a missing one is skipped, with a note):
#   pdq            plain index (`index import` of `phmatch hash`), match --no-trim
#   pdq8           plain index, match --no-trim --dihedral
#   trim           plain index, match (border trimming on by default)
#   robust         plain index, match --robust
#   augment        index add --images --augment, match --no-trim
#   augment+robust augmented index, match --robust
#
# Output in ROBUST_OUT (default BUILD/bench/robustness): robustness.tsv,
# robustness.html (a self-contained page: tables, SVG charts), the match
# records (runs/MODE.jsonl) and the images; the summary on stdout.
# Environment: BUILD (default build), ROBUST_OUT, ROBUST_MAX (default 1024; 0:
# no shrinking), ROBUST_JOBS (match threads, default 1: CPU per query is the
# cost figure), ROBUST_MODES (space-separated subset of the modes).
set -eu
here=$(pwd)
cd "$(dirname "$0")/.."

die() { echo "robustness: $*" >&2; exit 1; }

build=${BUILD:-build}
phmatch=$build/phmatch
mkq=$build/tools/mkqueries
out=${ROBUST_OUT:-$(pwd)/$build/bench/robustness}
case $out in /*) ;; *) out=$here/$out ;; esac
maxside=${ROBUST_MAX:-1024}
jobs=${ROBUST_JOBS:-1}
modes=${ROBUST_MODES:-"pdq pdq8 trim robust augment augment+robust"}
[ -x "$phmatch" ] || die "no '$phmatch': run 'make BUILD=$build all' first"
[ -x "$mkq" ] || die "no '$mkq': run 'make BUILD=$build tools' first"
command -v python3 >/dev/null 2>&1 || die "python3 not found: run 'make deps'"
case $maxside in *[!0-9]*) die "ROBUST_MAX must be a number" ;; esac
case $jobs in '' | *[!0-9]* | 0) die "ROBUST_JOBS must be a positive number" ;; esac
py="python3 $(pwd)/bench/robustness.py"
phmatch=$(cd "$(dirname "$phmatch")" && pwd)/phmatch
mkq=$(cd "$(dirname "$mkq")" && pwd)/mkqueries

if [ $# -eq 0 ]; then
    cd_default=1
    set -- data/known data/photos/labelme-q0122.jpg data/photos/labelme-q0291.jpg \
        data/photos/labelme-q0746.jpg data/photos/labelme-q1050.jpg \
        data/photos/labelme-q2821.jpg data/photos/grey-alpha.png
fi
src="$*"

rm -rf "$out"
mkdir -p "$out/stage" "$out/runs"
list=$out/stage/images.list
for p in "$@"; do
    case $p in /*) ;; *) [ -n "${cd_default:-}" ] && p=$(pwd)/$p || p=$here/$p ;; esac
    [ -e "$p" ] || die "no such file or directory: '$p'"
    find "$p" -type f | grep -iE '\.(jpe?g|png|p[bgpn]m|webp|gif|bmp|tiff?|heic|heif|avif|jxl)$' || true
done | LC_ALL=C sort -u >"$list"
total=$(wc -l <"$list")
[ "$total" -ge 3 ] || die "need at least 3 images (found $total)"

# Split and normalise: KNNNN / UNNNN, every third image unrelated.
: >"$out/names.tsv"
i=0 k=0 u=0
while IFS= read -r f; do
    i=$((i + 1))
    ext=${f##*.}
    if [ $((i % 3)) -eq 0 ]; then
        u=$((u + 1)); n=$(printf 'U%04d' "$u"); set_=unrelated
    else
        k=$((k + 1)); n=$(printf 'K%04d' "$k"); set_=known
    fi
    ln -s "$f" "$out/stage/$n.$ext"
    printf '%s\t%s\t%s\n' "$n" "$set_" "$f" >>"$out/names.tsv"
done <"$list"
m=""
[ "$maxside" -eq 0 ] || m="-m $maxside"
echo "robustness: $total images: $k known, $u unrelated; making the edited copies" >&2
# shellcheck disable=SC2086 # $m: no option or two words
"$mkq" -t same $m "$out/known" "$out"/stage/K* || echo "robustness: some known images could not be read (skipped)" >&2
# shellcheck disable=SC2086
"$mkq" -t same $m "$out/unrelated" "$out"/stage/U* || echo "robustness: some unrelated images could not be read (skipped)" >&2
"$mkq" -t bench "$out/copies" "$out"/known/K*.jpg || die "mkqueries failed"

cd "$out"
{ ls known/*.jpg; ls unrelated/*.jpg 2>/dev/null || true; ls copies/*.jpg; } >queries.list
nq=$(wc -l <queries.list)
nk=$(grep -c '^known/' queries.list)
nu=$(grep -c '^unrelated/' queries.list || true)
nc=$(grep -c '^copies/' queries.list)

# The plain index: ids are the paths, as `index import` of `phmatch hash` gives.
"$phmatch" hash -q --no-progress -j "$jobs" known >known.tsv || die "phmatch hash failed on the known images"
"$phmatch" index create plain.db >/dev/null
# A flat picture (PDQ quality 0: all white, or a transparent PNG whose hidden
# colour is one value) hashes to a value the import refuses as no image's
# (docs/HASHLISTS.md, "Validation"): it stays out of the plain index, its
# copies count as misses there, and the run goes on (exit 1 is that alone).
rc=0
"$phmatch" index import --skip-bad --source bench plain.db known.tsv >/dev/null 2>runs/import.log ||
    rc=$?
[ "$rc" -le 1 ] || die "index import failed (runs/import.log)"
if [ "$rc" -eq 1 ]; then
    refused=$(grep -c ': PDQ hash \(is all\|sets\)' runs/import.log || true)
    [ "$refused" -gt 0 ] || die "index import failed (runs/import.log)"
    echo "robustness: $refused known image(s) with a flat hash (quality 0) left out of the plain index (runs/import.log)" >&2
fi

match_help=$("$phmatch" match --help 2>&1 || true)
index_help=$("$phmatch" index --help 2>&1; "$phmatch" index add --help 2>&1 || true)
has() { printf '%s\n' "$1" | grep -q -e "$2"; }
notrim=""
has "$match_help" '--no-trim' && notrim=--no-trim

stat_of() { # DB FIELD
    "$phmatch" index stats "$1" | awk -F '\t' -v f="$2" '$1 == f { print $2 }'
}
aug_ready=""
build_augmented() {
    [ -z "$aug_ready" ] || return 0
    aug_ready=1
    "$phmatch" index create aug.db >/dev/null
    # shellcheck disable=SC2046 # the paths: KNNNN.jpg, no spaces
    "$phmatch" index add --images --augment --source bench aug.db $(ls known/*.jpg) \
        >/dev/null 2>runs/augment.log || die "index add --images --augment failed (runs/augment.log)"
}

: >runs/modes.tsv
for mode in $modes; do
    why="" db=plain.db args=""
    case $mode in
    pdq) args=$notrim ;;
    pdq8) args="$notrim --dihedral" ;;
    trim) has "$match_help" '--no-trim' || why="no border trimming in this phmatch (match has no --no-trim)" ;;
    robust) args=--robust; has "$match_help" '--robust' || why="match has no --robust in this phmatch" ;;
    augment | augment+robust)
        db=aug.db
        args=$notrim
        [ "$mode" = augment ] || args=--robust
        has "$index_help" '--augment' || why="index add has no --augment in this phmatch"
        [ "$mode" = augment ] || has "$match_help" '--robust' || why="match has no --robust in this phmatch"
        ;;
    *) die "unknown mode '$mode'" ;;
    esac
    if [ -n "$why" ]; then
        printf '%s\tskipped\t%s\t0\t0\t0\n' "$mode" "$why" >>runs/modes.tsv
        echo "robustness: $mode skipped: $why" >&2
        continue
    fi
    [ "$db" = plain.db ] || build_augmented
    echo "robustness: $mode: matching $nq queries" >&2
    note=""
    [ -n "$notrim" ] || [ "$mode" != pdq ] || note="match has no --no-trim: plain match"
    [ -n "$notrim" ] || [ "$mode" != pdq8 ] || note="match has no --no-trim: match --dihedral"
    # shellcheck disable=SC2086 # $args: options
    $py time "runs/$mode.jsonl" "runs/$mode.time" -- "$phmatch" match -q --no-progress \
        -j "$jobs" -f jsonl --max-distance 48 --max-matches 100000 --index "$db" $args \
        -T queries.list || {
        rc=$?
        [ "$rc" -eq 1 ] || die "phmatch match failed in mode $mode (exit $rc)"
        note="${note:+$note; }some queries could not be read"
    }
    printf '%s\tok\t%s\t%s\t%s\t%s\n' "$mode" "$note" "$(stat_of "$db" file_bytes)" \
        "$(stat_of "$db" entries)" "$nq" >>runs/modes.tsv
done

{
    printf 'images\t%s\n' "$total"
    printf 'known\t%s\n' "$nk"
    printf 'unrelated\t%s\n' "$nu"
    printf 'copies\t%s\n' "$nc"
    printf 'max_side\t%s\n' "$([ "$maxside" -eq 0 ] && echo original || echo "$maxside px")"
    printf 'phmatch\t%s\n' "$("$phmatch" --version 2>/dev/null | head -n 1)"
    printf 'source\t%s\n' "$src"
} >runs/meta.tsv
$py stats runs
mv runs/robustness.tsv robustness.tsv
$py html robustness.tsv robustness.html
$py table robustness.tsv
echo "robustness: $(pwd)/robustness.tsv, $(pwd)/robustness.html"

#!/bin/sh
# bench/lowquality.sh BUILD_DIR INDEX DIR... - how near images that have
# nothing to do with an index's known pictures come to them, by the
# images' PDQ quality: the evidence the low-quality search of --robust is
# judged on (PHM_ROBUST_LOW_QUALITY_MIN and _DISTANCE, PHM_ROBUST_FLAT_DISTANCE;
# docs/ROBUST.md, "Low-quality copies" and "Near-blank copies").
#
# Every JPEG and PNG under DIR... (e.g. bench/unrelated_set.sh's output
# made with UNRELATED_DIM=1: blurred, dark and washed-out copies of
# unrelated photos, gradients) is matched against INDEX twice with
# `phmatch match -j 2`:
#   wide     --robust --min-quality 0 --max-distance 48: every image and
#            every query-side extra searched at full reach whatever its
#            quality, so each image's nearest known hash is seen;
#   robust   --robust as shipped (the low-quality search within its floor
#            and distance, the near-blank one within its distance).
# Prints per quality band (<10 blank: under 10 and the hash a pattern in
# its rows or columns, never searched; <10; 10-19, 20-29, 30-39, 40-49,
# >=50) the
# images, how many come within 16 / 24 / 31 bits of a known hash (wide),
# the nearest distances seen, and the matches --robust makes. Any match is
# a false one only if DIR holds no copy of a known picture: the caller's to
# ensure. Writes BUILD_DIR/bench/lowquality/{wide,robust}.jsonl and
# results.tsv. Needs python3.
set -eu
here=$(pwd)
cd "$(dirname "$0")/.."
usage="usage: bench/lowquality.sh BUILD_DIR INDEX DIR..."
[ $# -ge 3 ] || { echo "$usage" >&2; exit 2; }
build=$1
index=$2
shift 2
case $build in /*) ;; *) build=$here/$build ;; esac
case $index in /*) ;; *) index=$here/$index ;; esac
P=$build/phmatch
out=$build/bench/lowquality
die() { echo "bench/lowquality.sh: $*" >&2; exit 1; }
[ -x "$P" ] || die "no $P: build first (make BUILD=$build)"
[ -e "$index" ] || die "no index '$index'"
command -v python3 >/dev/null 2>&1 || die "python3 not found"
mkdir -p "$out"
for d in "$@"; do
    case $d in /*) ;; *) d=$here/$d ;; esac
    [ -e "$d" ] || die "no '$d'"
    find "$d" -type f | grep -iE '\.(jpe?g|png)$' || true
done | LC_ALL=C sort -u > "$out/queries.list"
[ -s "$out/queries.list" ] || die "no JPEG or PNG under $*"

"$P" match --index "$index" -f jsonl -j 2 --robust --min-quality 0 --max-distance 48 \
    -T "$out/queries.list" > "$out/wide.jsonl" 2> "$out/wide.err" ||
    [ $? -eq 1 ] || die "phmatch match failed (see $out/wide.err)"
"$P" match --index "$index" -f jsonl -j 2 --robust \
    -T "$out/queries.list" > "$out/robust.jsonl" 2> "$out/robust.err" ||
    [ $? -eq 1 ] || die "phmatch match failed (see $out/robust.err)"

python3 - "$out" <<'PY'
import json, sys
out = sys.argv[1]
bands = ['<10 blank', '<10', '10-19', '20-29', '30-39', '40-49', '>=50']
def distinct(words):
    return len(set(words))
def blank(hexhash):
    # at most 11 distinct 16-bit rows, or columns (PHM_CUT_MIN_ROWS)
    rows = [int(hexhash[i:i + 4], 16) for i in range(0, 64, 4)]
    cols = [sum(((r >> c) & 1) << k for k, r in enumerate(rows)) for c in range(16)]
    return distinct(rows) < 12 or distinct(cols) < 12
def band(q, h):
    if q < 10:
        return bands[0] if blank(h) else bands[1]
    return bands[min(q // 10, 5) + 1] if q < 50 else bands[6]
rows = {b: {'n': 0, 'near': [], 'matched': 0, 'matches': []} for b in bands}
quality = {}
failed = 0
for line in open(f'{out}/wide.jsonl'):
    r = json.loads(line)
    if r.get('status') != 'ok' or r.get('quality') is None:
        failed += 1
        continue
    quality[r['path']] = band(r['quality'], r['pdq'])
    row = rows[quality[r['path']]]
    row['n'] += 1
    ds = [m['distance'] for m in r.get('matches') or []]
    if ds:
        row['near'].append(min(ds))
for line in open(f'{out}/robust.jsonl'):
    r = json.loads(line)
    if r['path'] not in quality:
        continue
    ms = r.get('matches') or []
    if ms:
        row = rows[quality[r['path']]]
        row['matched'] += 1
        m = min(ms, key=lambda m: m['distance'])
        row['matches'].append(f"{r['path']} {m['id']} {m['distance']} {m.get('variant') or '-'}")
hdr = ['quality', 'images', 'wide<=16', 'wide<=24', 'wide<=31', 'nearest (wide, <=48)', 'robust matched']
lines = ['\t'.join(hdr)]
for b in bands:
    w = rows[b]
    near = sorted(w['near'])
    lines.append('\t'.join([b, str(w['n']), str(sum(d <= 16 for d in near)),
                            str(sum(d <= 24 for d in near)), str(sum(d <= 31 for d in near)),
                            ','.join(map(str, near[:5])) or '-', str(w['matched'])]))
open(f'{out}/results.tsv', 'w').write('\n'.join(lines) + '\n')
for l in lines:
    print(l)
if failed:
    print(f'{failed} images not hashed (see {out}/wide.err)')
for b in bands:
    for m in rows[b]['matches'][:10]:
        print(f'robust match, quality {b}: {m}')
PY

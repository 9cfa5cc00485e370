#!/bin/sh
# bench/flatten.sh BUILD_DIR IMAGE_DIR [UNRELATED_DIR] - pictures with
# transparency (docs/ROBUST.md, "Pictures with transparency"): how often
# the copies a viewer saves of a known transparent picture are found.
#
# The PNG, WebP and GIF files under IMAGE_DIR that have a pixel that is not
# opaque (ImageMagick's %[opaque]) are drawn at random (seed
# BENCH_FLATTEN_SEED, default 28), at most BENCH_FLATTEN_N (default 300),
# and added as known with `phmatch index add --images --augment`. Each gets
# five copies made by ImageMagick's convert:
#   white    composited over white, JPEG quality 85 (a browser's, an
#            editor's or a platform's JPEG of it)
#   white50  the same at half size
#   png50    the PNG at half size, its alpha kept
#   black    composited over black, JPEG quality 85
#   drop     alpha dropped (-alpha off), JPEG quality 85: what the PDQ
#            reference sees
# The copies, the known pictures themselves and up to 600 unrelated images
# (UNRELATED_DIR's, else the transparent pictures not drawn) are matched
# with `phmatch match -j 2 --max-distance 48` in four modes: `--no-flatten`,
# the default, `--robust --no-flatten` and `--robust` (a mode whose option
# the build lacks is skipped: run it on an older build for its figures).
# Per kind of copy and per group of known picture (`alpha-only`: its
# reference hash all zeros, drawn in alpha alone; `other`), the share
# matching their own original at <= 31 (TPR); over every other pair (a
# query and an entry not its original) the matches at <= 31.
#
# Writes BUILD_DIR/bench/flatten/{known,copies,unrelated,runs}/ and
# results.tsv, and prints the table. Needs convert and python3.
set -eu
cd "$(dirname "$0")/.."
build=${1:?usage: bench/flatten.sh BUILD_DIR IMAGE_DIR [UNRELATED_DIR]}
src=${2:?usage: bench/flatten.sh BUILD_DIR IMAGE_DIR [UNRELATED_DIR]}
unrel=${3:-}
n=${BENCH_FLATTEN_N:-300}
seed=${BENCH_FLATTEN_SEED:-28}
P=$(cd "$build" && pwd)/phmatch
out=$build/bench/flatten
die() { echo "bench/flatten.sh: $*" >&2; exit 1; }
[ -x "$P" ] || die "no $P: build first (make BUILD=$build)"
command -v convert >/dev/null || die "needs ImageMagick's convert"
command -v python3 >/dev/null || die "needs python3"
[ -d "$src" ] || die "no directory '$src'"

rm -rf "$out"
mkdir -p "$out/known" "$out/copies" "$out/unrelated" "$out/runs"

# The candidates: distinct files (by content) with transparency, asked of
# ImageMagick 200 files at a time.
find "$src" -type f \( -iname '*.png' -o -iname '*.webp' -o -iname '*.gif' \) |
    LC_ALL=C sort >"$out/candidates.txt"
python3 - "$out/candidates.txt" "$out/transparent.txt" <<'PY'
import hashlib, subprocess, sys
files = open(sys.argv[1]).read().splitlines()
seen, keep = set(), []
for i in range(0, len(files), 200):
    batch = files[i:i + 200]
    r = subprocess.run(["identify", "-format", "%[opaque]\n"] + [f + "[0]" for f in batch],
                       capture_output=True, text=True)
    flags = r.stdout.split("\n")
    if r.returncode != 0 or len(flags) != len(batch) + 1:  # one refused: one by one
        flags = [subprocess.run(["identify", "-format", "%[opaque]", f + "[0]"],
                                capture_output=True, text=True).stdout for f in batch]
    for f, o in zip(batch, flags):
        if o.strip().lower() != "false":
            continue
        d = hashlib.sha256(open(f, "rb").read()).hexdigest()
        if d not in seen:
            seen.add(d)
            keep.append(f)
open(sys.argv[2], "w").write("".join(f + "\n" for f in keep))
PY
[ -s "$out/transparent.txt" ] || die "no PNG, WebP or GIF with transparency under '$src'"
python3 - "$out/transparent.txt" "$n" "$seed" "$out/drawn.txt" "$out/rest.txt" <<'PY'
import random, sys
files = open(sys.argv[1]).read().splitlines()
random.Random(int(sys.argv[3])).shuffle(files)
n = int(sys.argv[2])
open(sys.argv[4], "w").write("".join(f + "\n" for f in files[:n]))
open(sys.argv[5], "w").write("".join(f + "\n" for f in files[n:]))
PY
i=0
while IFS= read -r f; do
    i=$((i + 1))
    k=$(printf 'T%04d' "$i")
    ext=${f##*.}
    cp "$f" "$out/known/$k.$ext"
    printf '%s\t%s\n' "$k" "$f" >>"$out/names.tsv"
    c=$out/copies/$k
    convert "$f[0]" -background white -alpha remove -alpha off -quality 85 "$c-white.jpg"
    convert "$f[0]" -background white -alpha remove -alpha off -resize 50% -quality 85 \
        "$c-white50.jpg"
    convert "$f[0]" -resize 50% "PNG32:$c-png50.png"
    convert "$f[0]" -background black -alpha remove -alpha off -quality 85 "$c-black.jpg"
    convert "$f[0]" -alpha off -quality 85 "$c-drop.jpg"
done <"$out/drawn.txt"
if [ -n "$unrel" ]; then
    find "$unrel" -type f | LC_ALL=C sort | head -600
else
    head -600 "$out/rest.txt"
fi | while IFS= read -r f; do
    cp "$f" "$out/unrelated/U$(printf '%04d' "$(ls "$out/unrelated" | wc -l)")-$(basename "$f")"
done

# ids known/T0001.png ...: the paths as given, from within $out
(cd "$out" && "$P" index create k.phmi >/dev/null &&
    "$P" index add --images --augment --source bench k.phmi known >/dev/null 2>&1) ||
    die "index add failed"
(cd "$out" && "$P" hash -q known >known.tsv)
(cd "$out" && find copies known unrelated -type f | LC_ALL=C sort) >"$out/queries.txt"
for mode in no-flatten default robust-no-flatten robust; do
    case $mode in
    no-flatten) args=--no-flatten ;;
    default) args= ;;
    robust-no-flatten) args="--robust --no-flatten" ;;
    robust) args=--robust ;;
    esac
    case " $args " in
    *" --no-flatten "*)
        "$P" match --help 2>&1 | grep -q -- --no-flatten || {
            echo "bench/flatten.sh: $mode skipped: this phmatch has no --no-flatten" >&2
            continue
        } ;;
    esac
    # shellcheck disable=SC2086
    (cd "$out" && "$P" match -q -j 2 -f jsonl $args --max-distance 48 --index k.phmi \
        -T queries.txt >"runs/$mode.jsonl")
done

python3 - "$out" <<'PY'
import collections, json, os, re, sys
out = sys.argv[1]
zero = "0" * 64
group = {}
for line in open(os.path.join(out, "known.tsv")):
    f = line.rstrip("\n").split("\t")
    if f[0] == "path" or f[1] != "ok":
        continue
    k = re.search(r"(T\d+)\.", f[0]).group(1)
    group[k] = "alpha-only" if f[7] == zero else "other"
kinds = ["white", "white50", "png50", "black", "drop", "self"]
rows = []
for mode in ["no-flatten", "default", "robust-no-flatten", "robust"]:
    path = os.path.join(out, "runs", mode + ".jsonl")
    if not os.path.exists(path):
        continue
    n = collections.Counter()
    hit = collections.Counter()
    false = 0
    for line in open(path):
        r = json.loads(line)
        m = re.match(r"(?:copies/(T\d+)-(\w+)|known/(T\d+))\.", r["path"])
        own = (m.group(1) or m.group(3)) if m else None
        kind = (m.group(2) or "self") if m else None
        ms = r.get("matches") or []
        if own in group:
            key = (group[own], kind)
            n[key] += 1
            hit[key] += any(x["id"].startswith("known/" + own + ".") and x["distance"] <= 31
                            for x in ms)
        false += sum(1 for x in ms if x["distance"] <= 31 and
                     not (own and x["id"].startswith("known/" + own + ".")))
    for g in ["alpha-only", "other"]:
        for k in kinds:
            if n[(g, k)]:
                rows.append((mode, g, k, n[(g, k)], hit[(g, k)]))
    rows.append((mode, "all", "false_matches", 0, false))
with open(os.path.join(out, "results.tsv"), "w") as t:
    t.write("mode\tgroup\tcopy\tcount\tmatched\n")
    for r in rows:
        t.write("\t".join(map(str, r)) + "\n")
modes = [m for m in ["no-flatten", "default", "robust-no-flatten", "robust"]
         if any(r[0] == m for r in rows)]
print("TPR at <= 31 (matched / copies), per known group and copy:")
print("%-22s" % "" + "".join("%20s" % m for m in modes))
for g in ["alpha-only", "other"]:
    for k in kinds:
        cells = [r for r in rows if r[1] == g and r[2] == k]
        if cells:
            print("%-22s" % (g + " " + k) + "".join(
                "%20s" % next(("%d/%d" % (r[4], r[3]) for r in cells if r[0] == m), "-")
                for m in modes))
print("%-22s" % "other pairs <= 31" + "".join(
    "%20s" % next(str(r[4]) for r in rows if r[0] == m and r[2] == "false_matches")
    for m in modes))
PY

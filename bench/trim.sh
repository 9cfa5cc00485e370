#!/bin/sh
# bench/trim.sh BUILD_DIR [IMAGE_DIR] - border trimming and --robust at
# query time (docs/ROBUST.md, "Border trimming and query-side variants"):
# what they find and what they cost.
#
# 1. Matches. The images of IMAGE_DIR (default data/photos and
#    data/known; at least a few dozen for figures worth reading) are
#    split by sorted name: the even ones known (indexed), the odd ones
#    unrelated. Each known image gets edited copies made by ImageMagick's
#    convert (EDITS below: letterbox and pillarbox of 10 % per side in
#    black, white and a blurred stretched fill, a screenshot-like canvas
#    with flat bars, centre crops of 5 and 15 %, rotations of 5 degrees
#    with fill, a rotation by 90 degrees letterboxed). The copies, the
#    unrelated images and the known images themselves are matched with
#    `phmatch match` in three modes: --no-trim (plain PDQ), the default
#    (trimming) and --robust. Per edit: the share of copies matching
#    their own original (TPR); over every unrelated pair (a copy with
#    another known image, an unrelated image with a known one, a known
#    image with another known one) the false matches at distance <= 31.
# 2. Query time. `phmatch match -j 1` over the unedited known images,
#    and over their letterboxed copies, with and without --no-trim: the
#    CPU time per image (user + sys, bench/runcpu), median of
#    BENCH_TRIM_REPS (default 7) interleaved runs.
#
# Writes BUILD_DIR/bench/trim/{matches,time}.tsv and prints both tables.
# BENCH_TRIM_REUSE=1 keeps the images and index of the previous run (to
# measure a change of phmatch on the same copies). Needs convert and
# python3.
set -eu
cd "$(dirname "$0")/.."
build=${1:?usage: bench/trim.sh BUILD_DIR [IMAGE_DIR]}
src=${2:-}
reps=${BENCH_TRIM_REPS:-7}
P=$build/phmatch
out=$build/bench/trim
die() { echo "bench/trim.sh: $*" >&2; exit 1; }
[ -x "$P" ] || die "no $P: build first (make BUILD=$build)"
command -v convert >/dev/null || die "needs ImageMagick's convert"
command -v python3 >/dev/null || die "needs python3"
reuse=${BENCH_TRIM_REUSE:-0}
[ -s "$out/k.phmi" ] || reuse=0
EDITS="lb-black lb-white lb-blur pb-black pb-white pb-blur screen crop5 crop15 rot5 rot90-lb"
if [ "$reuse" = 0 ]; then
rm -rf "$out"
mkdir -p "$out/known" "$out/unrelated" "$out/copies"

# The split: every other image (sorted) known, the rest unrelated.
if [ -n "$src" ]; then
    find "$src" -maxdepth 1 -type f \( -name '*.jpg' -o -name '*.jpeg' -o -name '*.png' \) | sort
else
    ls data/photos/*.jpg data/known/*.jpg | sort -u
fi >"$out/all.txt"
i=0
while read -r f; do
    b=$(basename "$f")
    b=${b%.*}
    if [ $((i % 2)) -eq 0 ]; then
        [ -e "$out/known/$b.jpg" ] || convert "$f[0]" -quality 92 "$out/known/$b.jpg"
    else
        convert "$f[0]" -quality 92 "$out/unrelated/$b.jpg"
    fi
    i=$((i + 1))
done <"$out/all.txt"

for f in "$out"/known/*.jpg; do
    b=$(basename "$f" .jpg)
    set -- $(identify -format '%w %h' "$f")
    w=$1 h=$2
    lh=$((h + h / 5)) pw=$((w + w / 5))
    c="$out/copies/$b"
    convert "$f" -background black -gravity center -extent ${w}x$lh -quality 85 "$c@lb-black.jpg"
    convert "$f" -background white -gravity center -extent ${w}x$lh -quality 85 "$c@lb-white.jpg"
    convert "$f" \( +clone -resize ${w}x$lh! -blur 0x16 \) +swap -gravity center \
        -composite -quality 85 "$c@lb-blur.jpg"
    convert "$f" -background black -gravity center -extent ${pw}x$h -quality 85 "$c@pb-black.jpg"
    convert "$f" -background white -gravity center -extent ${pw}x$h -quality 85 "$c@pb-white.jpg"
    convert "$f" \( +clone -resize ${pw}x$h! -blur 0x16 \) +swap -gravity center \
        -composite -quality 85 "$c@pb-blur.jpg"
    sw=$((w * 7 / 10)) sh=$((h * 7 / 10))
    convert -size ${w}x$((sh + h / 2)) xc:'#f2f2f2' -fill '#202020' \
        -draw "rectangle 0,0 $w,$((h / 12))" \( "$f" -resize ${sw}x$sh! \) \
        -gravity center -composite -quality 90 "$c@screen.jpg"
    convert "$f" -gravity center -crop 90%x90%+0+0 +repage -quality 85 "$c@crop5.jpg"
    convert "$f" -gravity center -crop 70%x70%+0+0 +repage -quality 85 "$c@crop15.jpg"
    convert "$f" -background black -rotate 5 -quality 85 "$c@rot5.jpg"
    convert "$f" -rotate 90 -background black -gravity center -extent ${h}x$((w + w / 5)) \
        -quality 85 "$c@rot90-lb.jpg"
done

"$P" index create "$out/k.phmi" >/dev/null
"$P" hash -q -f pdq "$out/known" |
    awk -F, -v OFS=, '{ n = $3; sub(".*/", "", n); sub("[.][^.]*$", "", n); print $1, $2, n }' |
    "$P" index import --source bench "$out/k.phmi" - >/dev/null
fi
runcpu=$out/runcpu
${CC:-cc} -std=c11 -D_DEFAULT_SOURCE -O2 -o "$runcpu" bench/runcpu.c || die "cannot build runcpu"

for mode in no-trim trim robust; do
    case $mode in
    no-trim) opt=--no-trim ;;
    trim) opt= ;;
    robust) opt=--robust ;;
    esac
    "$P" match -q $opt -f jsonl --index "$out/k.phmi" "$out/copies" "$out/unrelated" \
        "$out/known" >"$out/$mode.jsonl"
done

python3 - "$out" "$EDITS" <<'EOF'
import json, sys, collections
out, edits = sys.argv[1], sys.argv[2].split()
modes = ["no-trim", "trim", "robust"]
tp = {m: collections.Counter() for m in modes}
n = collections.Counter()
false = {m: collections.Counter() for m in modes}
pairs = collections.Counter()
via = {m: collections.Counter() for m in modes}
nknown = None
for m in modes:
    rows = [json.loads(l) for l in open(f"{out}/{m}.jsonl")]
    if nknown is None:
        nknown = sum(1 for r in rows if "/known/" in r["path"])
    for r in rows:
        p = r["path"]
        name = p.rsplit("/", 1)[1].rsplit(".", 1)[0]
        ms = r["matches"] or []
        if "/copies/" in p:
            base, edit = name.rsplit("@", 1)
            kind = "copy x other known"
            if m == modes[0]:
                n[edit] += 1
            if any(x["id"] == base for x in ms):
                tp[m][edit] += 1
            wrong = [x for x in ms if x["id"] != base]
            for x in ms:
                if x["id"] == base:
                    via[m][(x["variant"] or "-") + "/" + x["orientation"]] += 1
                    break
        elif "/unrelated/" in p:
            kind, wrong = "unrelated x known", ms
        else:
            kind, wrong = "known x other known", [x for x in ms if x["id"] != name]
        false[m][kind] += len(wrong)
        if m == modes[0]:
            pairs[kind] += nknown if kind == "unrelated x known" else nknown - 1
with open(f"{out}/matches.tsv", "w") as f:
    print("edit\tcopies\t" + "\t".join(f"tpr_{m}" for m in modes), file=f)
    print("%-12s %6s %9s %9s %9s" % ("edit", "copies", "no-trim", "trim", "robust"))
    tot = collections.Counter()
    for e in edits:
        if not n[e]:
            continue
        v = [tp[m][e] / n[e] for m in modes]
        for m in modes:
            tot[m] += tp[m][e]
        print(f"{e}\t{n[e]}\t" + "\t".join(f"{x:.3f}" for x in v), file=f)
        print("%-12s %6d %9.3f %9.3f %9.3f" % (e, n[e], *v))
    allc = sum(n.values())
    print("%-12s %6d %9.3f %9.3f %9.3f" % ("all", allc, *[tot[m] / allc for m in modes]))
    print(f"all\t{allc}\t" + "\t".join(f"{tot[m] / allc:.3f}" for m in modes), file=f)
    print()
    print("%-22s %9s %9s %9s %9s" % ("false matches", "pairs", "no-trim", "trim", "robust"))
    for k in ["copy x other known", "unrelated x known", "known x other known"]:
        print("%-22s %9d %9d %9d %9d" % (k, pairs[k], *[false[m][k] for m in modes]))
        print(f"false {k}\t{pairs[k]}\t" + "\t".join(str(false[m][k]) for m in modes), file=f)
    print()
    for m in modes:
        print(f"{m}: true matches by variant/orientation:",
              ", ".join(f"{k} {v}" for k, v in sorted(via[m].items())))
EOF

# Query time: plain (unedited known images) and letterboxed copies, one
# thread, trimming on and off, interleaved.
rm -rf "$out/time-plain" "$out/time-lb"
mkdir -p "$out/time-plain" "$out/time-lb"
cp "$out"/known/*.jpg "$out/time-plain/"
cp "$out"/copies/*@lb-black.jpg "$out/time-lb/"
: >"$out/time.raw"
r=0
while [ $r -lt "$reps" ]; do
    for set in plain lb; do
        for opt in --no-trim --trim; do
            t=$("$runcpu" "$P" match -j 1 -q --no-progress $opt -f jsonl --index "$out/k.phmi" \
                "$out/time-$set" | awk '{ print $2 + $3 }')
            printf '%s\t%s\t%s\n' "$set" "$opt" "$t" >>"$out/time.raw"
        done
    done
    r=$((r + 1))
done
np=$(ls "$out/time-plain" | wc -l)
nl=$(ls "$out/time-lb" | wc -l)
python3 - "$out" "$np" "$nl" <<'EOF'
import sys, statistics, collections
out, np_, nl = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
t = collections.defaultdict(list)
for l in open(f"{out}/time.raw"):
    s, o, v = l.split()
    t[(s, o)].append(float(v))
with open(f"{out}/time.tsv", "w") as f:
    print("set\tfiles\tms_per_image_no_trim\tms_per_image_trim\tratio", file=f)
    print("%-22s %6s %12s %12s %7s" % ("query time (1 thread)", "files", "--no-trim", "trim", "ratio"))
    for s, n in (("plain", np_), ("lb", nl)):
        a = statistics.median(t[(s, "--no-trim")]) * 1000 / n
        b = statistics.median(t[(s, "--trim")]) * 1000 / n
        name = "no border" if s == "plain" else "letterboxed (black)"
        print("%-22s %6d %10.2fms %10.2fms %7.2f" % (name, n, a, b, b / a))
        print(f"{s}\t{n}\t{a:.3f}\t{b:.3f}\t{b / a:.3f}", file=f)
    print(f"(CPU user+sys per image, process start-up included, median of "
          f"{len(t[('plain', '--no-trim')])} runs)")
EOF

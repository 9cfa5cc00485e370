#!/bin/sh
# robustness_report.sh - the robustness benchmark (bench/robustness.sh,
# bench/robustness.py, tools/mkqueries -t bench):
#  1. mkqueries' benchmark edits: deterministic, and the geometry and fills
#     each promises (sizes, bars) as ImageMagick reads them;
#  2. a tiny run on 6 photos: its TPR per edit and false matches for plain
#     PDQ equal the ones computed here from `phmatch hash` alone (Hamming
#     distances between the copies' and the originals' hashes);
#  3. the HTML page of a fixed TSV, rendered by headless Chromium: the numbers
#     in its tables equal the TSV's, the bars' heights in the SVG and in the
#     screenshot are proportional to the TPRs, in the modes' colours, and the
#     labels and notes are there. TAP on stdout.
. "$(dirname "$0")/lib.sh"

TOOLS=$(dirname "$PHMATCH")/tools
DATA=$ROOT/data
for p in "$PHMATCH" "$TOOLS/mkqueries"; do
    [ -x "$p" ] || { echo "Bail out! $p not built"; exit 1; }
done
# py_checks FILE STATUS - the "PASS name" / "FAIL name: why" lines of a
# python check as TAP; a python that failed (STATUS) is a failure too.
py_checks() {
    while IFS= read -r l; do
        case $l in PASS\ *) t_pass "${l#PASS }" ;; FAIL\ *) t_fail "${l#FAIL }" ;; *) t_diag "$l" ;; esac
    done <"$1"
    [ "$2" -eq 0 ] || t_fail "python checks ended early (exit $2)"
}
if ! t_python; then
    t_skip "robustness benchmark" "no python3"
    t_done
fi

# ------------------------------------------------------------------
# 1. the edits

mkq=$TOOLS/mkqueries
"$mkq" -m 200 -t same "$T/src" "$DATA/known/bridge.jpg" "$DATA/photos/grey-alpha.png"
t_is "mkqueries -m 200 -t same: exit 0" "$?" 0
"$mkq" -t bench "$T/e1" "$T/src/bridge.jpg" "$T/src/grey-alpha.jpg"
t_is "mkqueries -t bench: exit 0" "$?" 0
"$mkq" -t bench "$T/e2" "$T/src/bridge.jpg" "$T/src/grey-alpha.jpg"
t_is "mkqueries -t bench: 54 copies" "$(ls "$T/e1" | wc -l)" 54
same=yes
for f in "$T"/e1/*.jpg; do cmp -s "$f" "$T/e2/${f##*/}" || same="no: ${f##*/}"; done
t_is "mkqueries -t bench: the same bytes twice" "$same" yes
"$mkq" -t nonsense "$T/e3" "$T/src/bridge.jpg" 2>/dev/null
t_is "mkqueries -t nonsense: usage error" "$?" 2
sh "$ROOT/bench/devset.sh" 2>/dev/null
t_is "bench/devset.sh without OUT: usage error (nothing fetched)" "$?" 2
sh "$ROOT/bench/clipart.sh" 2>/dev/null
t_is "bench/clipart.sh without OUT: usage error (nothing fetched)" "$?" 2
sh "$ROOT/bench/clipart.sh" "$T/clip" x7 2>/dev/null
t_is "bench/clipart.sh with an offset not a number: error before any fetch" "$?" 1
sh "$ROOT/bench/heldout.sh" 2>/dev/null
t_is "bench/heldout.sh without OUT: usage error (nothing fetched)" "$?" 2
HELDOUT_CLIPART=x sh "$ROOT/bench/heldout.sh" "$T/ho" 2>/dev/null
t_is "bench/heldout.sh with HELDOUT_CLIPART not a number: error before any fetch" "$?" 1
HELDOUT_SET=3 sh "$ROOT/bench/heldout.sh" "$T/ho" 2>"$T/ho.err"
t_is "bench/heldout.sh with HELDOUT_SET not 1 or 2: error before any fetch" "$?" 1
t_like "... and says which values it takes" "$(cat "$T/ho.err")" "HELDOUT_SET must be 1 or 2"
t_ok "... nothing fetched" test ! -e "$T/ho/debs"
# devset.sh as heldout.sh runs it, on data/ (no package, nothing
# generated): the photos kept once, data/queries' edited copies and
# unrelated/'s copies dropped as near the photo they were made from
DEVSET_WALLPAPERS=0 DEVSET_GEN=0 DEVSET_BUSY=0 \
    sh "$ROOT/bench/devset.sh" "$T/dv" "$DATA" >"$T/dv.out" 2>&1
t_is "devset.sh of data/ alone: exit 0" "$?" 0
kept=$(ls "$T/dv/set" 2>/dev/null | sed 's/^P[0-9]*-//' | sort -u | tr '\n' ' ')
t_is "devset.sh of data/ alone: each photo once" "$kept" \
    "bridge.jpg grey-alpha.png labelme-q0122.jpg labelme-q0291.jpg labelme-q0746.jpg labelme-q1050.jpg labelme-q2821.jpg misc-c.jpg pen-and-coaster.jpg phone.jpg "
all=$(find "$DATA" -type f | grep -ciE '\.(jpe?g|png|webp)$')
t_is "devset.sh of data/ alone: every other picture dropped as near one kept" \
    "$(grep -c '	near P0' "$T/dv/devset.tsv")" "$((all - 10))"
t_is "devset.sh with DEVSET_WALLPAPERS=0: no package fetched" "$(ls "$T/dv/debs" | wc -l)" 0

if t_have identify && t_have convert; then
    size() { identify -format '%w %h' "$1"; }
    mean() { convert "$1" -crop "$2" +repage -colorspace gray -format '%[fx:round(255*mean)]' info:; }
    t_is "source: 200x125" "$(size "$T/src/bridge.jpg")" "200 125"
    e=$T/e1/bridge
    # letterbox: 10 % of 125 = 13 rows (6 on top, 7 below)
    t_is "letterbox-black: 200x138" "$(size "$e-letterbox-black.jpg")" "200 138"
    t_is "pillarbox-white: 220x125" "$(size "$e-pillarbox-white.jpg")" "220 125"
    # JPEG noise: within 8 levels of black or white
    dark() { [ "$(mean "$@")" -le 8 ]; }
    light() { [ "$(mean "$@")" -ge 247 ]; }
    t_is "letterbox-black: black bars" "$(dark "$e-letterbox-black.jpg" 200x4+0+0 && dark "$e-letterbox-black.jpg" 200x4+0+134 && echo yes)" yes
    t_is "letterbox-white: white bars" "$(light "$e-letterbox-white.jpg" 200x4+0+0 && light "$e-letterbox-white.jpg" 200x4+0+134 && echo yes)" yes
    t_is "pillarbox-black: black bars" "$(dark "$e-pillarbox-black.jpg" 8x125+0+0 && dark "$e-pillarbox-black.jpg" 8x125+212+0 && echo yes)" yes
    t_ok "letterbox-black: the image between the bars" \
        [ "$(mean "$e-letterbox-black.jpg" 200x20+0+60)" -gt 40 ]
    b=$(mean "$e-letterbox-blur.jpg" 200x4+0+0)
    t_ok "letterbox-blur: the bars are neither black nor white ($b)" \
        [ "$b" -gt 20 ] && [ "$b" -lt 235 ]
    t_is "crop5-c, crop5-off, crop15-c: 5 % / 15 % off" \
        "$(size "$e-crop5-c.jpg"), $(size "$e-crop5-off.jpg"), $(size "$e-crop15-c.jpg")" \
        "190 119, 190 119, 170 106"
    t_is "resize50, resize25, combo (60 %, then 8 % off)" \
        "$(size "$e-resize50.jpg"), $(size "$e-resize25.jpg"), $(size "$e-combo.jpg")" \
        "100 63, 50 31, 110 69"
    t_is "rot5-fill: same canvas" "$(size "$e-rot5-fill.jpg")" "200 125"
    t_is "rot5-fill: black corners" "$(dark "$e-rot5-fill.jpg" 3x3+0+0 && dark "$e-rot5-fill.jpg" 3x3+197+122 && echo yes)" yes
    # the largest upright rectangle in a 200x125 turned by 5 degrees:
    # (200 cos - 125 sin) / cos 10 = 191.2, (125 cos - 200 sin) / cos 10 = 108.7
    # (less a pixel of margin)
    t_is "rot5-crop: 190x107, no black corner" \
        "$(size "$e-rot5-crop.jpg") $([ "$(mean "$e-rot5-crop.jpg" 2x2+0+0)" -gt 8 ] && echo lit)" \
        "190 107 lit"
    # grown: 200 cos 5 + 125 sin 5 = 210.1, 125 cos 5 + 200 sin 5 = 141.9
    t_is "rot5-grow: a canvas grown to hold it, white corners" \
        "$(size "$e-rot5-grow.jpg") $(light "$e-rot5-grow.jpg" 3x3+0+0 && light "$e-rot5-grow.jpg" 3x3+208+139 && echo white)" \
        "211 142 white"
    t_is "rotm5-grow: the same, black corners" \
        "$(size "$e-rotm5-grow.jpg") $(dark "$e-rotm5-grow.jpg" 3x3+0+0 && dark "$e-rotm5-grow.jpg" 3x3+208+139 && echo black)" \
        "211 142 black"
    t_is "grey: one channel" "$(identify -format '%[channels]' "$e-grey.jpg")" gray
    t_is "q30, combo: JPEG quality 30 and 50; resize50 85" \
        "$(identify -format '%Q' "$e-q30.jpg") $(identify -format '%Q' "$e-combo.jpg") $(identify -format '%Q' "$e-resize50.jpg")" \
        "30 50 85"
    s=$(size "$e-screenshot.jpg")
    t_is "screenshot: a 9:16 portrait canvas" "$s" "200 355"
    t_is "screenshot: blue bar on top (#1e88e5), dark bar below (#202020)" \
        "$(convert "$e-screenshot.jpg" -crop 1x1+100+20 -format '%[fx:round(b*255/8)] ' info:)$(convert "$e-screenshot.jpg" -crop 200x10+0+340 -format '%[fx:round(mean*255/8)]' info:)" \
        "29 4"
else
    t_skip "the edits' geometry" "no ImageMagick (tools/deps.sh installs it)"
fi

# ------------------------------------------------------------------
# 2. a tiny run, checked against plain Hamming distances

run=$T/run
BUILD=$BUILD ROBUST_OUT=$run ROBUST_MAX=200 ROBUST_MODES="pdq pdq8" \
    sh "$ROOT/bench/robustness.sh" "$DATA/known" "$DATA/photos/labelme-q1050.jpg" \
    "$DATA/photos/labelme-q2821.jpg" >"$T/run.out" 2>"$T/run.err"
t_is "robustness.sh: exit 0" "$?" 0
t_like "robustness.sh: prints the table" "$(cat "$T/run.out")" '^  all  *[0-9.]*  *[0-9.]*$'
t_ok "robustness.sh: robustness.html written" [ -s "$run/robustness.html" ]
(cd "$run" && "$PHMATCH" hash -q known unrelated copies) >"$T/all.tsv"
python3 - "$run/robustness.tsv" "$T/all.tsv" "$run/names.tsv" >"$T/run.checks" 2>&1 <<'EOF'
import sys
tsv, hashes, names = sys.argv[1:4]
def check(name, cond, why=""):
    print(("PASS " if cond else "FAIL ") + name + ("" if cond else ": " + str(why)))
rows = [l.rstrip("\n").split("\t") for l in open(tsv)]
head = rows[0]
recs = [dict(zip(head, r)) for r in rows[1:]]
h = {}
lines = [l.rstrip("\n").split("\t") for l in open(hashes)]
col = {n: i for i, n in enumerate(lines[0])}
for l in lines[1:]:
    h[l[col["path"]]] = (int(l[col["pdq"]], 16), int(l[col["quality"]]))
dist = lambda a, b: bin(a ^ b).count("1")
known = sorted(p for p in h if p.startswith("known/"))
unrel = sorted(p for p in h if p.startswith("unrelated/"))
copies = sorted(p for p in h if p.startswith("copies/"))
check("split: 4 known, 2 unrelated, 108 copies",
      (len(known), len(unrel), len(copies)) == (4, 2, 108), (len(known), len(unrel), len(copies)))
# by sorted path: bridge, misc-c, [pen-and-coaster], phone, labelme-q1050, [labelme-q2821]
split = [l.split("\t")[:2] for l in open(names).read().splitlines()]
check("every third image unrelated", [s for _, s in split] ==
      ["known", "known", "unrelated", "known", "known", "unrelated"], split)
own = lambda c: "known/" + c.split("/")[1].split("-")[0] + ".jpg"
edit = lambda c: c.split("/")[1].split("-", 1)[1][:-4]
searched = lambda p: h[p][1] >= 50
for t in (31, 10, 48):
    tp = {}
    for c in copies:
        e = edit(c)
        n, m = tp.get(e, (0, 0))
        tp[e] = (n + 1, m + (1 if searched(c) and dist(h[c][0], h[own(c)][0]) <= t else 0))
    fm = 0
    for q in known + unrel + copies:
        if not searched(q):
            continue
        for k in known:
            if k != (q if q.startswith("known/") else own(q) if q.startswith("copies/") else None):
                fm += dist(h[q][0], h[k][0]) <= t
    if t == 31:
        bad = [(e, tp[e], r["matched"]) for e in tp for r in recs
               if r["kind"] == "edit" and r["mode"] == "pdq" and r["edit"] == e
               and (str(tp[e][0]), str(tp[e][1])) != (r["copies"], r["matched"])]
        check("pdq: matched copies per edit at 31 = Hamming count", not bad, bad)
        check("pdq: 27 edit rows", sum(1 for r in recs if r["kind"] == "edit" and r["mode"] == "pdq") == 27)
    curve = [r for r in recs if r["kind"] == "curve" and r["mode"] == "pdq" and r["threshold"] == str(t)]
    got = (curve[0]["matched"], curve[0]["false_matches"]) if curve else None
    want = (str(sum(m for _, m in tp.values())), str(fm))
    check("pdq: curve at %d: matched copies and false matches = Hamming counts %s" % (t, want),
          got == want, got)
    pairs = len(unrel) * 4 + 4 * 3 + len(copies) * 3
    check("pdq: pairs at %d = U*K + K*(K-1) + C*(K-1) = %d" % (t, pairs),
          curve and curve[0]["pairs"] == str(pairs), curve and curve[0]["pairs"])
alls = {r["mode"]: r for r in recs if r["kind"] == "all"}
check("all rows for pdq and pdq8", sorted(alls) == ["pdq", "pdq8"], sorted(alls))
r8 = [r for r in recs if r["kind"] == "edit" and r["mode"] == "pdq8" and r["edit"] == "rot90"]
r1 = [r for r in recs if r["kind"] == "edit" and r["mode"] == "pdq" and r["edit"] == "rot90"]
check("pdq8 finds rot90 copies plain pdq does not",
      r8 and r1 and int(r8[0]["matched"]) > int(r1[0]["matched"]), (r8, r1))
check("query time and bytes/entry are numbers",
      all(float(r["query_ms_cpu"]) > 0 and float(r["bytes_per_entry"]) > 0 for r in alls.values()))
EOF
py_checks "$T/run.checks" $?

# ------------------------------------------------------------------
# 3. the page of a fixed TSV, as Chromium shows it

python3 - "$ROOT/bench/robustness.py" "$T/fixed.tsv" <<'EOF'
import importlib.util, sys
spec = importlib.util.spec_from_file_location("rb", sys.argv[1])
rb = importlib.util.module_from_spec(spec)
spec.loader.exec_module(rb)
rows = [["meta", "-", "images", "-", "-", "-", "-", "-", "-", "-", "-", "-", "-", "30"]]
tprs = {"pdq": lambda i: (i % 5) / 4.0, "pdq8": lambda i: 1.0 - (i % 3) / 3.0,
        "robust": lambda i: 0.875}
for m, f in tprs.items():
    for i, e in enumerate(rb.EDITS):
        rows.append(["edit", m, e, "31", "8", "-", "%.4f" % f(i), "56", "0", "0", "-", "-", "-", ""])
    rows.append(["all", m, "all", "31", "200", "-", "%.4f" % (0.5 if m == "pdq" else 0.75),
                 "1234", "3" if m == "robust" else "0", "0", "1.250", "2.500", "42.0", ""])
    for t in range(49):
        rows.append(["curve", m, "all", str(t), "200", "-", "%.4f" % (t / 48.0), "1234",
                     str(t // 10), "0", "-", "-", "-", ""])
rows.append(["skipped", "augment"] + ["-"] * 11 + ["index add has no --augment here"])
with open(sys.argv[2], "w") as f:
    f.write("\t".join(rb.COLUMNS) + "\n")
    for r in rows:
        f.write("\t".join(r) + "\n")
EOF
python3 "$ROOT/bench/robustness.py" html "$T/fixed.tsv" "$T/fixed.html"
t_is "robustness.py html: exit 0" "$?" 0
html=$T/fixed.html
t_is "page: no script element" "$(grep -ci '<script' "$html")" 0
t_is "page: no external resource" "$(grep -ciE '<(img|link|iframe|object|embed)|src=|href=|url\(' "$html")" 0

CHROME=
for c in chromium chromium-browser; do
    if t_have "$c"; then CHROME=$c; break; fi
done
chrome() {
    timeout 120 "$CHROME" --headless --no-sandbox --disable-gpu --user-data-dir="$T/chrome" \
        --no-first-run --hide-scrollbars --force-device-scale-factor=1 "$@" 2>>"$T/chrome.log"
}
if [ -z "$CHROME" ] || ! t_have convert; then
    t_skip "robustness.html in headless Chromium" "no chromium or ImageMagick (tools/deps.sh installs them)"
    t_done
fi
chrome --dump-dom "file://$html" >"$T/dom.html"
t_is "chromium --dump-dom: exit 0" "$?" 0
chrome --screenshot="$T/shot.png" --window-size=1400,1300 "file://$html" >/dev/null
t_is "chromium --screenshot: exit 0" "$?" 0
convert "$T/shot.png" -alpha off "$T/shot.ppm"
t_is "the screenshot as a PPM (ImageMagick)" "$?" 0
python3 - "$T/fixed.tsv" "$T/dom.html" "$T/shot.ppm" >"$T/page.checks" 2>&1 <<'EOF'
import sys
from html.parser import HTMLParser
tsv, dom, png = sys.argv[1:4]
def check(name, cond, why=""):
    print(("PASS " if cond else "FAIL ") + name + ("" if cond else ": " + str(why)))

rows = [l.rstrip("\n").split("\t") for l in open(tsv)]
recs = [dict(zip(rows[0], r)) for r in rows[1:]]
modes = ["pdq", "pdq8", "robust"]
edits = [r["edit"] for r in recs if r["kind"] == "edit" and r["mode"] == "pdq"]
tpr = {(r["mode"], r["edit"]): float(r["tpr"]) for r in recs if r["kind"] in ("edit", "all")}

class Page(HTMLParser):
    def __init__(self):
        super().__init__()
        self.tables, self.table, self.row, self.cell = {}, None, None, None
        self.bars, self.svg, self.svgtext, self.text, self.scripts = [], None, {}, [], 0
        self.intext = False
    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        self.scripts += tag == "script"
        if tag == "table":
            self.table = a.get("id")
            self.tables[self.table] = []
        elif tag == "tr":
            self.row = []
        elif tag in ("td", "th"):
            self.cell = ""
        elif tag == "svg":
            self.svg = a.get("id")
            self.svgtext[self.svg] = []
        elif tag == "rect" and "bar" in (a.get("class") or ""):
            self.bars.append(a)
        elif tag == "text":
            self.intext = True
    def handle_endtag(self, tag):
        if tag in ("td", "th") and self.cell is not None:
            self.row.append(self.cell.strip())
            self.cell = None
        elif tag == "tr" and self.row is not None:
            self.tables[self.table].append(self.row)
            self.row = None
        elif tag == "text":
            self.intext = False
    def handle_data(self, d):
        self.text.append(d)
        if self.cell is not None:
            self.cell += d
        if self.intext and self.svg:
            self.svgtext[self.svg].append(d.strip())

p = Page()
p.feed(open(dom, encoding="utf-8").read())
check("DOM: no script", p.scripts == 0)
t = p.tables.get("tpr-table", [])
check("TPR table: header edit, copies and the modes", t and t[0] == ["edit", "copies"] + modes,
      t[:1])
want = [[e, "8"] + ["%.1f" % (100 * tpr[(m, e)]) for m in modes] for e in edits]
want.append(["all", "200"] + ["%.1f" % (100 * tpr[(m, "all")]) for m in modes])
want.append(["false matches", "", "0", "0", "3"])
check("TPR table: every number as in the TSV", t[1:] == want,
      [(a, b) for a, b in zip(t[1:], want) if a != b][:3])
s = p.tables.get("summary", [])
check("summary table: TPR, false matches, pairs, times, bytes/entry",
      s[1:] == [["pdq", "50.0", "0", "1234", "1.250", "2.500", "42.0"],
                ["pdq8", "75.0", "0", "1234", "1.250", "2.500", "42.0"],
                ["robust", "75.0", "3", "1234", "1.250", "2.500", "42.0"]], s[1:])
text = " ".join(p.text)
check("the skipped mode and why", "Mode augment skipped: index add has no --augment here" in text)
labels = p.svgtext.get("tpr-bars", [])
check("bar chart: every edit labelled", all(e in labels for e in edits + ["all"]),
      [e for e in edits if e not in labels])
check("bar chart: axis 0 % to 100 %", "0 %" in labels and "100 %" in labels)
check("curves: the threshold 31 marked on both", all("31" in p.svgtext.get(i, [])
                                                      for i in ("tpr-curve", "fm-curve")))
ratios = [float(b["height"]) / tpr[(b["data-mode"], b["data-edit"])] for b in p.bars
          if tpr[(b["data-mode"], b["data-edit"])] > 0]
check("SVG bars: height proportional to TPR (%d bars)" % len(ratios),
      ratios and max(ratios) < 1.002 * min(ratios) and
      sum(1 for b in p.bars if float(b["data-tpr"]) > 0) == len(ratios), ratios[:3])
ph = ratios[0] if ratios else 240.0

# the screenshot, as ImageMagick's binary PPM of it (P6, 8-bit RGB)
data = open(png, "rb").read()
magic, w, h, maxval, body = data.split(None, 4)
w, h, bpp = int(w), int(h), 3
check("screenshot: 1400x1300 RGB", (magic, w, h, maxval) == (b"P6", 1400, 1300, b"255"))
img = [body[y * w * 3:(y + 1) * w * 3] for y in range(h)]
px = lambda x, y: tuple(img[y][x * bpp:x * bpp + 3])
near = lambda p, q: all(abs(a - b) <= 4 for a, b in zip(p, q))
nonwhite = sum(1 for y in range(0, h, 4) for x in range(0, w, 4) if px(x, y) != (255, 255, 255))
check("screenshot: not blank (%d of %d sampled pixels drawn)" % (nonwhite, (w // 4) * (h // 4)),
      nonwhite > 2000)
grid = (0xe4, 0xe4, 0xe4)
# the bar chart comes first: its grid lines (0 to 100 %, partly behind the
# bars) are the first 6 rows with a long run of the grid's colour
rows_grid = [y for y in range(h) if sum(1 for x in range(w) if px(x, y) == grid) > 150][:6]
steps = {b - a for a, b in zip(rows_grid, rows_grid[1:])}
check("screenshot: the bar chart's 6 grid lines, evenly spaced",
      len(rows_grid) == 6 and len(steps) == 1, rows_grid)
if len(rows_grid) == 6:
    top, base = rows_grid[0], rows_grid[-1] + 1
    check("screenshot: 100 %% to 0 %% is %d pixels" % round(ph), abs(base - top - ph) <= 1,
          base - top)
    xs = [x for x in range(w) if px(x, top) == grid]
    x_lo, x_hi = min(xs), max(xs) + 1
    colours = {"pdq": (0x7f, 0x7f, 0x7f), "pdq8": (0x1f, 0x77, 0xb4), "robust": (0x2c, 0xa0, 0x2c)}
    for m in modes:
        col = [sum(1 for y in range(top - 2, base) if near(px(x, y), colours[m]))
               if x_lo <= x < x_hi else 0 for x in range(w)]
        bars, x = [], 0
        while x < w:
            if col[x] > 0:
                x0 = x
                while x < w and col[x] > 0:
                    x += 1
                bars.append(max(col[x0:x]))
            x += 1
        want = [tpr[(m, e)] * ph for e in edits + ["all"] if tpr[(m, e)] > 0]
        check("screenshot: %s bars in its colour, heights as TPR x %d px" % (m, round(ph)),
              len(bars) == len(want) and all(abs(a - b) <= 2 for a, b in zip(bars, want)),
              list(zip(bars, [round(v) for v in want]))[:6])
EOF
py_checks "$T/page.checks" $?
t_done

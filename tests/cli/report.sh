#!/bin/sh
# report.sh - what a lab hands on: `phmatch match --report DIR` (the VICS
# 2.0 case file, checked with python3's json against md5sum/sha1sum and
# the run's own jsonl records; the HTML page rendered by headless Chromium,
# its DOM and a screenshot checked) and `phmatch index export --format
# vics` (every field checked with python3's json; re-imported when the
# VICS reader is there, else skipped). TAP on stdout.
. "$(dirname "$0")/lib.sh"

t_need_phmatch
if ! t_python; then
    t_skip "report and VICS export" "no python3"
    t_done
fi

# run_checks FILE - turns the "PASS name" / "FAIL name: why" lines that
# the python checks print into TAP lines.
run_checks() {
    while IFS= read -r _line; do
        case $_line in
        PASS\ *) t_pass "${_line#PASS }" ;;
        FAIL\ *) t_fail "${_line#FAIL }" ;;
        *) t_diag "$_line" ;;
        esac
    done <"$1"
}

# ------------------------------------------------------------------
# The index: the known photos under two sources, numeric categories and
# one that is not (A1).

DATA=$ROOT/data
DB=$T/known.phmi
"$PHMATCH" index create "$DB" >/dev/null
imp() { # SOURCE CATEGORY IMAGE
    "$PHMATCH" hash -q -f pdq "$3" | "$PHMATCH" index import --source "$1" --category "$2" "$DB" - >/dev/null
}
imp lab 1 "$DATA/known/bridge.jpg" &&
    imp lab 2 "$DATA/known/misc-c.jpg" &&
    imp ncmec A1 "$DATA/known/pen-and-coaster.jpg" &&
    imp ncmec 3 "$DATA/known/phone.jpg"
t_is "index of data/known" "$?" 0

# Hostile and awkward names: a path that is HTML markup, and one that is
# not UTF-8 (a copy of a phone query).
Q=$T/q
mkdir -p "$Q/<script>alert(1)<"
cp "$DATA/queries/bridge-half.jpg" "$Q/<script>alert(1)</script>.jpg"
cp "$DATA/queries/phone-half.jpg" "$Q/lat$(printf '\351')n phone.jpg"

# The reference: the same run without --report, as jsonl records.
"$PHMATCH" match -q -f jsonl -i "$DB" "$DATA/queries" "$DATA/photos" "$Q" >"$T/ref.jsonl"
t_is "match without --report: exit 0" "$?" 0
"$PHMATCH" match -q -i "$DB" --report "$T/rep" "$DATA/queries" "$DATA/photos" "$Q" >"$T/with.tsv"
t_is "match --report: exit 0" "$?" 0
"$PHMATCH" match -q -i "$DB" "$DATA/queries" "$DATA/photos" "$Q" >"$T/without.tsv"
t_is "--report leaves the records as they were (no digest columns added)" \
    "$(cmp "$T/with.tsv" "$T/without.tsv" && echo same)" same
t_is "DIR created with mode 0700" "$(stat -c %a "$T/rep")" 700
t_is "case.json mode 0600" "$(stat -c %a "$T/rep/case.json")" 600
t_is "report.html mode 0600" "$(stat -c %a "$T/rep/report.html")" 600
t_is "DIR holds the two files only" "$(ls -A "$T/rep" | tr '\n' ' ')" "case.json report.html "

# ------------------------------------------------------------------
# case.json

python3 - "$T/rep/case.json" "$T/ref.jsonl" "$DATA/queries" "$DATA/photos" "$Q" \
    >"$T/case.checks" 2>&1 <<'EOF'
import json, os, subprocess, sys

def check(name, cond, why=""):
    print(("PASS " if cond else "FAIL ") + name + ("" if cond else ": " + str(why)))

case_path, ref_path, roots = sys.argv[1], sys.argv[2], sys.argv[3:]
doc = json.load(open(case_path, encoding="utf-8"))
check("case.json: @odata.context is VICS 2.0 #Cases",
      doc.get("@odata.context", "").startswith("http://github.com/VICSDATAMODEL/ProjectVic/DataModels/2.0.xml/")
      and doc["@odata.context"].endswith("$metadata#Cases"), doc.get("@odata.context"))
cases = doc.get("value", [])
check("case.json: one Case", len(cases) == 1, len(cases))
case = cases[0]
check("Case: a CaseID (a UUID)", len(case.get("CaseID", "")) == 36, case.get("CaseID"))
check("Case: SourceApplicationName phmatch", case.get("SourceApplicationName") == "phmatch")
media = case.get("Media", [])

def raw_path(rec_path, rec_hex):
    return os.fsdecode(bytes.fromhex(rec_hex)) if rec_hex else rec_path

ref = {}
for line in open(ref_path, encoding="utf-8"):
    r = json.loads(line)
    if r["matches"]:
        ref[raw_path(r["path"], r.get("path_hex"))] = r
paths = [raw_path(m.get("@phmatch.path"), m.get("@phmatch.path_hex")) for m in media]
check("Media: the matched files, in input order, each once",
      paths == list(ref), (paths, list(ref)))
check("Media: 15 matched files (crop, half and q20 of each known photo, photos/bridge.jpg, the 2 copies)",
      len(paths) == 15, len(paths))
check("MediaID: 1..N", [m.get("MediaID") for m in media] == list(range(1, len(media) + 1)))

def tool(cmd, p):
    return subprocess.run([cmd, p], capture_output=True, check=True).stdout.split()[0].decode()

expected_cat = {"bridge": 1, "misc-c": 2, "pen-and-coaster": None, "phone": 3}
bad = []
for m, p in zip(media, paths):
    name = os.path.basename(p)
    want = [v for k, v in expected_cat.items() if name.startswith(k) or
            (k == "bridge" and "script" in p) or (k == "phone" and "phone" in name)]
    if m.get("MD5") != tool("md5sum", p).upper():
        bad.append((p, "MD5", m.get("MD5")))
    if m.get("SHA1") != tool("sha1sum", p).upper():
        bad.append((p, "SHA1", m.get("SHA1")))
    if m.get("MediaSize") != os.path.getsize(p):
        bad.append((p, "MediaSize", m.get("MediaSize")))
    rel = [p[len(r) + 1:] for r in roots if p.startswith(r + "/")]
    shown = os.fsencode(rel[0]).decode("utf-8", "replace") if rel else None
    if m.get("RelativeFilePath") != shown:
        bad.append((p, "RelativeFilePath", m.get("RelativeFilePath"), shown))
    if len(want) != 1 or m.get("Category") != want[0]:
        bad.append((p, "Category", m.get("Category"), want))
    r = ref[p]
    if m.get("@phmatch.matches") != r["matches"] or m.get("@phmatch.match_count") != r["match_count"]:
        bad.append((p, "matches", m.get("@phmatch.matches")))
    alt = m.get("AlternativeHashes", [{}])[0]
    if alt.get("HashName") != "PDQ" or alt.get("HashValue") != r["pdq"]:
        bad.append((p, "AlternativeHashes", alt))
check("every Media: MD5 = md5sum, SHA1 = sha1sum (upper case), MediaSize, RelativeFilePath",
      not [b for b in bad if b[1] in ("MD5", "SHA1", "MediaSize", "RelativeFilePath")], bad)
check("every Media: Category of its nearest entry (absent for category A1)",
      not [b for b in bad if b[1] == "Category"], bad)
check("every Media: the run's match records and the file's PDQ hash",
      not [b for b in bad if b[1] in ("matches", "AlternativeHashes")], bad)
hexes = [m for m in media if "@phmatch.path_hex" in m]
check("the path that is not UTF-8: U+FFFD in the JSON, its bytes in @phmatch.path_hex",
      len(hexes) == 1 and "\ufffd" in hexes[0]["RelativeFilePath"], hexes)
EOF
run_checks "$T/case.checks"

# ------------------------------------------------------------------
# report.html: the file itself, then as Chromium shows it

html=$T/rep/report.html
t_is "report.html: no script element" "$(grep -ci '<script' "$html")" 0
t_is "report.html: no external resource or image" \
    "$(grep -ciE '<(img|link|iframe|object|embed)|src=|href=|url\(' "$html")" 0
t_like "report.html: the hostile name escaped" "$(cat "$html")" \
    'q/&lt;script&gt;alert(1)&lt;/script&gt;\.jpg'

CHROME=
for c in chromium chromium-browser; do
    if t_have "$c"; then CHROME=$c; break; fi
done
chrome() {
    timeout 120 "$CHROME" --headless --no-sandbox --disable-gpu --user-data-dir="$T/chrome" \
        --no-first-run "$@" 2>>"$T/chrome.log"
}
if [ -z "$CHROME" ]; then
    t_skip "report.html rendered by headless Chromium" "no chromium (tools/deps.sh installs it)"
else
    chrome --dump-dom "file://$html" >"$T/dom.html"
    t_is "chromium --dump-dom: exit 0" "$?" 0
    chrome --screenshot="$T/shot.png" --window-size=1200,2000 "file://$html" >/dev/null
    t_is "chromium --screenshot: exit 0" "$?" 0
    python3 - "$T/dom.html" "$T/ref.jsonl" "$T/shot.png" "$DATA/queries" "$DATA/photos" "$Q" \
        >"$T/html.checks" 2>&1 <<'EOF'
import json, os, struct, sys, zlib
from html.parser import HTMLParser

def check(name, cond, why=""):
    print(("PASS " if cond else "FAIL ") + name + ("" if cond else ": " + str(why)))

dom_path, ref_path, png_path = sys.argv[1:4]

class Page(HTMLParser):
    def __init__(self):
        super().__init__()
        self.scripts = 0
        self.stack = []
        self.sections = []      # [h3 text, [rows of td texts]]
        self.tables = {}        # id -> [rows of cell texts]
        self.table = None
        self.row = None
        self.cell = None
        self.h3 = None
        self.text = []
    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "script":
            self.scripts += 1
        if tag == "section" and "file" in (a.get("class") or ""):
            self.sections.append(["", []])
        if tag == "table":
            self.table = a.get("id")
            if self.table:
                self.tables[self.table] = []
        if tag == "tr":
            self.row = []
        if tag in ("td", "th"):
            self.cell = ""
        if tag == "h3" and self.sections:
            self.h3 = ""
    def handle_endtag(self, tag):
        if tag in ("td", "th") and self.row is not None and self.cell is not None:
            self.row.append((tag, self.cell))
            self.cell = None
        if tag == "tr" and self.row is not None:
            if self.table:
                self.tables[self.table].append(self.row)
            elif self.sections and all(t == "td" for t, _ in self.row):
                self.sections[-1][1].append([c for _, c in self.row])
            self.row = None
        if tag == "table":
            self.table = None
        if tag == "h3" and self.h3 is not None:
            self.sections[-1][0] = self.h3
            self.h3 = None
    def handle_data(self, data):
        self.text.append(data)
        if self.cell is not None:
            self.cell += data
        if self.h3 is not None:
            self.h3 += data

page = Page()
page.feed(open(dom_path, encoding="utf-8").read())
check("DOM: no script element", page.scripts == 0, page.scripts)
refs = [json.loads(l) for l in open(ref_path, encoding="utf-8")]
def shown(r):
    b = bytes.fromhex(r["path_hex"]) if r.get("path_hex") else r["path"].encode()
    return b.decode("utf-8", "replace")
matched = [r for r in refs if r["matches"]]
heads = [s[0] for s in page.sections]
check("DOM: one section per matched file, its path as text, in input order",
      heads == [shown(r) for r in matched], (heads, [shown(r) for r in matched]))
hostile = [h for h in heads if h.endswith("/<script>alert(1)</script>.jpg")]
check("DOM: the hostile name shows as text", len(hostile) == 1, heads)
bad = []
for (head, rows), r in zip(page.sections, matched):
    got = [(int(row[0]), row[1], row[2], row[3], row[4]) for row in rows]
    want = [(m["distance"], m["orientation"], m["source"], m["id"], m["category"]) for m in r["matches"]]
    if got != want:
        bad.append((head, got, want))
check("DOM: each file's matches (distance, orientation, source, id, category)", not bad, bad)
counts = {row[0][1]: row[1][1] for row in page.tables.get("counts", []) if len(row) == 2}
want = {"Files": len(refs), "Hashed": sum(1 for r in refs if r["status"] == "ok"),
        "Matched files": len(matched), "Matches": sum(r["match_count"] or 0 for r in refs),
        "Searched": sum(1 for r in refs if r["match_count"] is not None)}
check("DOM: the counts (files, hashed, searched, matched files, matches)",
      all(counts.get(k) == str(v) for k, v in want.items()), (counts, want))
groups = {}
for r in matched:
    for m in r["matches"]:
        g = groups.setdefault((m["source"], m["category"]), [set(), 0])
        g[0].add(shown(r))
        g[1] += 1
got = {(row[0][1], row[1][1]): (int(row[2][1]), int(row[3][1]))
       for row in page.tables.get("groups", [])[1:]}
check("DOM: matched files and matches per source and category",
      got == {k: (len(v[0]), v[1]) for k, v in groups.items()}, (got, groups))
run = {row[0][1]: row[1][1] for row in page.tables.get("run", []) if len(row) == 2}
check("DOM: the run's parameters", run.get("Max distance") == "31" and run.get("Min quality") == "50"
      and "--report" in run.get("Command line", ""), run)
vers = {row[0][1]: row[1][1] for row in page.tables.get("versions", []) if len(row) == 2}
check("DOM: versions of phmatch, the decoders and the index",
      vers.get("phmatch", "").count(".") == 2 and "libjpeg-turbo" in vers.get("Image decoders", "")
      and vers.get("Index generation", "").isdigit() and "Video decoder" not in vers, vers)

# The screenshot: a PNG of the asked size that is not blank.
data = open(png_path, "rb").read()
ok = data[:8] == b"\x89PNG\r\n\x1a\n"
pos, idat, ihdr = 8, b"", None
while ok and pos < len(data):
    n, kind = struct.unpack(">I4s", data[pos:pos + 8])
    body = data[pos + 8:pos + 8 + n]
    if kind == b"IHDR":
        ihdr = struct.unpack(">IIBBBBB", body)
    elif kind == b"IDAT":
        idat += body
    pos += 12 + n
check("screenshot: a PNG 1200x2000, 8-bit RGB(A)", ok and ihdr and ihdr[:2] == (1200, 2000)
      and ihdr[2] == 8 and ihdr[3] in (2, 6), ihdr)
if ok and ihdr and ihdr[2] == 8 and ihdr[3] in (2, 6):
    w, h, bpp = ihdr[0], ihdr[1], 3 if ihdr[3] == 2 else 4
    raw, stride = zlib.decompress(idat), w * bpp
    prev, colours, dark = bytearray(stride), set(), 0
    for y in range(h):
        f, line = raw[y * (stride + 1)], bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for i in range(stride):
            a = line[i - bpp] if i >= bpp else 0
            b, c = prev[i], prev[i - bpp] if i >= bpp else 0
            if f == 1: line[i] = (line[i] + a) & 255
            elif f == 2: line[i] = (line[i] + b) & 255
            elif f == 3: line[i] = (line[i] + (a + b) // 2) & 255
            elif f == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        prev = line
        if y % 8 == 0:
            for x in range(0, w, 4):
                px = bytes(line[x * bpp:x * bpp + 3])
                colours.add(px)
                dark += sum(px) < 200
    check("screenshot: not blank (many colours, some dark text, mostly light)",
          len(colours) > 20 and 0 < dark < (w // 4) * (h // 8) // 4, (len(colours), dark))
EOF
    run_checks "$T/html.checks"
fi

# ------------------------------------------------------------------
# DIR rules

mkdir "$T/busy"
echo x >"$T/busy/notes.txt"
"$PHMATCH" match -q -i "$DB" --report "$T/busy" "$DATA/queries" >/dev/null 2>"$T/err"
t_is "a DIR with other files: exit 2" "$?" 2
t_like "... named in the message" "$(cat "$T/err")" "report directory '.*busy' is not empty"
t_is "... and left as it was" "$(ls -A "$T/busy")" notes.txt
old_id=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["value"][0]["CaseID"])' "$T/rep/case.json")
"$PHMATCH" match -q -i "$DB" --report "$T/rep" "$DATA/queries/phone-half.jpg" >/dev/null
t_is "a DIR holding a previous report: exit 0" "$?" 0
t_is "... the report replaced; a file named by its absolute path: RelativeFilePath its name" \
    "$(python3 -c 'import json,sys; v=json.load(open(sys.argv[1]))["value"][0]; print(len(v["Media"]), v["CaseID"] != sys.argv[2], v["Media"][0]["RelativeFilePath"])' "$T/rep/case.json" "$old_id")" \
    "1 True phone-half.jpg"
mkdir "$T/empty"
"$PHMATCH" match -q -i "$DB" --report "$T/empty" "$DATA/photos/labelme-q1050.jpg" >/dev/null
t_is "an empty DIR is used; a run without a match: exit 0" "$?" 0
t_is "... an empty Media list" \
    "$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["value"][0]["Media"])' "$T/empty/case.json")" "[]"
t_like "... and the page says so" "$(cat "$T/empty/report.html")" "No file matched"
: >"$T/afile"
"$PHMATCH" match -q -i "$DB" --report "$T/afile" "$DATA/queries" >/dev/null 2>"$T/err"
t_is "a DIR that is a file: exit 2" "$?" 2

# ------------------------------------------------------------------
# index export --format vics

H1=f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22
H2=f0a5e102f1ccc0bd945308720fff038de34ef1e8ada9a956d2967ade5ea91a50
H3=1049d96239e24d4dca2c55512b8bdb77425f4dbcf575a0a95555aaab5554aaaa
{
    echo 'hash,quality,source,id,category,note,added,md5,sha1,sha256'
    echo "$H1,100,ncmec,42,1,\"a note, with a comma\",2024-01-02T03:04:05Z,d41d8cd98f00b204e9800998ecf8427e,,"
    printf '%s,,lab,A-1,csam,"say ""quotes"" \303\274",,,da39a3ee5e6b4b0d3255bfef95601890afd80709,\n' "$H2"
    echo ",,digests,77,5,,,0123456789abcdef0123456789abcdef,0123456789abcdef0123456789abcdef01234567,$H1"
    printf '%s,90,lab,caf\351,,,,,,\n' "$H3"
} >"$T/list.csv"
"$PHMATCH" index create "$T/x.phmi" >/dev/null &&
    "$PHMATCH" index import "$T/x.phmi" "$T/list.csv" >/dev/null
t_is "index of four entries" "$?" 0
"$PHMATCH" index export --format vics "$T/x.phmi" >"$T/x.json" 2>"$T/err"
t_is "export --format vics with an id that is not UTF-8: exit 1" "$?" 1
t_like "... which is reported" "$(cat "$T/err")" "id is not valid UTF-8, which vics cannot carry"
"$PHMATCH" index remove --source lab --id "$(printf 'caf\351')" "$T/x.phmi" >/dev/null
"$PHMATCH" index export --format vics "$T/x.phmi" >"$T/x.json" 2>"$T/err"
t_is "export --format vics: exit 0" "$?" 0
python3 - "$T/x.json" "$H1" "$H2" >"$T/vics.checks" 2>&1 <<'EOF'
import json, sys

def check(name, cond, why=""):
    print(("PASS " if cond else "FAIL ") + name + ("" if cond else ": " + str(why)))

doc = json.load(open(sys.argv[1], encoding="utf-8"))
h1, h2 = sys.argv[2], sys.argv[3]
check("vics: @odata.context #Media", doc.get("@odata.context", "").endswith("/2.0.xml/US/$metadata#Media"))
v = doc.get("value", [])
check("vics: three Media", len(v) == 3, len(v))
by_id = {m.get("@phmatch.entry", {}).get("id"): m for m in v}
a, b, c = by_id.get("42", {}), by_id.get("A-1", {}), by_id.get("77", {})
check("vics: numeric id and category: MediaID 42, Category 1", a.get("MediaID") == 42 and a.get("Category") == 1, a)
check("vics: MD5 upper-case", a.get("MD5") == "D41D8CD98F00B204E9800998ECF8427E", a.get("MD5"))
check("vics: PDQ in AlternativeHashes", a.get("AlternativeHashes") == [{"HashName": "PDQ", "HashValue": h1}], a)
check("vics: @phmatch.entry keeps every field",
      a.get("@phmatch.entry") == {"source": "ncmec", "id": "42", "category": "1", "note": "a note, with a comma",
                                  "quality": 100, "added": "2024-01-02T03:04:05Z"}, a.get("@phmatch.entry"))
check("vics: id A-1 gets the record's number, no Category",
      b in v and b.get("MediaID") == v.index(b) + 1 and "Category" not in b, b)
check("vics: SHA1 upper-case, UTF-8 note", b.get("SHA1") == "DA39A3EE5E6B4B0D3255BFEF95601890AFD80709"
      and b["@phmatch.entry"]["note"] == 'say "quotes" \u00fc', b)
check("vics: a digest-only entry: MD5, SHA1, SHA256 as an alternative hash, no PDQ",
      c.get("MediaID") == 77 and c.get("Category") == 5 and c.get("MD5") == "0123456789ABCDEF0123456789ABCDEF"
      and c.get("AlternativeHashes") == [{"HashName": "SHA256", "HashValue": h1.upper()}], c)
EOF
run_checks "$T/vics.checks"

# Re-import: every field comes back (the @phmatch.entry annotation), so the
# export imported into the index it came from changes nothing.
"$PHMATCH" index import --format vics "$T/x.phmi" "$T/x.json" >"$T/out" 2>"$T/err"
t_is "import of the vics export into its own index: exit 0" "$?" 0
t_is "... changes nothing" "$(cat "$T/out")" "added 0, unchanged 3, updated 0, removed 0"
"$PHMATCH" index create "$T/y.phmi" >/dev/null
"$PHMATCH" index import --format vics --source back "$T/y.phmi" "$T/x.json" >/dev/null 2>"$T/err"
t_is "import --format vics of the export into a new index: exit 0" "$?" 0
"$PHMATCH" index export --format jsonl "$T/y.phmi" >"$T/y.jsonl"
python3 - "$T/y.jsonl" "$H1" >"$T/rt.checks" 2>&1 <<'EOF'
import json, sys
def check(name, cond, why=""):
    print(("PASS " if cond else "FAIL ") + name + ("" if cond else ": " + str(why)))
rows = {r["id"]: r for r in map(json.loads, open(sys.argv[1], encoding="utf-8"))}
a, b, c = rows.get("42", {}), rows.get("A-1", {}), rows.get("77", {})
check("vics round trip: hash, MD5, category, source, note, added of MediaID 42",
      a.get("hash") == sys.argv[2] and a.get("md5") == "d41d8cd98f00b204e9800998ecf8427e" and a.get("category") == "1"
      and a.get("source") == "ncmec" and a.get("note") == "a note, with a comma"
      and a.get("added") == "2024-01-02T03:04:05Z", a)
check("vics round trip: the id A-1 and its text category", b.get("source") == "lab" and b.get("category") == "csam", b)
check("vics round trip: the digests of MediaID 77",
      c.get("md5") == "0123456789abcdef0123456789abcdef" and c.get("sha1") == "0123456789abcdef0123456789abcdef01234567", c)
check("vics round trip: three entries", len(rows) == 3, list(rows))
EOF
run_checks "$T/rt.checks"

t_done

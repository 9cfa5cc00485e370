#!/usr/bin/env python3
"""bench/augment_miss.py RUN [EDIT,...] - why the copies of a
bench/robustness.sh run (its ROBUST_OUT directory RUN) miss their original
(docs/ROBUST.md, "Photometric and 8 % corner variants").

Hashes RUN's known images and copies with `phmatch hash -d` (BUILD/phmatch,
BUILD default build) and prints, per edit (default: all), the copies not
within 31 of their original in any of the 8 orientations or gated by
quality (< 50): the copy's PDQ quality, the original's, the distance of the
copy's own hash and the least over its 8 orientations. With $MATCHES, a
match run's records (RUN/runs/MODE.jsonl; bench/augment_sets.sh writes
RUN/sets/runs/setN.jsonl), it adds what that run matched: the distance
and the stored variant, query-side variant or own hash it went through."""
import json, os, re, subprocess, sys

run = sys.argv[1]
edits = sys.argv[2].split(",") if len(sys.argv) > 2 else None
phm = os.path.abspath(os.path.join(os.environ.get("BUILD", "build"), "phmatch"))
out = subprocess.run([phm, "hash", "-d", "-q", "--no-progress", "known", "copies"],
                     cwd=run, capture_output=True, text=True).stdout
H = {}
for line in out.splitlines():
    f = line.split("\t")
    if len(f) > 16 and f[1] == "ok":
        H[f[0]] = (int(f[8]), [int(h, 16) for h in [f[7]] + f[10:17]])
matched = {}
mode = os.environ.get("MATCHES")
if mode:
    for line in open(mode, encoding="utf-8"):
        r = json.loads(line)
        m = re.match(r"copies/(K\d+)-", r.get("path", ""))
        for h in r.get("matches") or []:
            if m and h.get("id") == "known/%s.jpg" % m.group(1):
                matched[r["path"]] = (h["distance"], h.get("known_variant"), h.get("variant"))


def dist(a, b):
    return bin(a ^ b).count("1")


by_edit = {}
for p, (q, hs) in sorted(H.items()):
    m = re.match(r"copies/(K\d+)-(.+)\.jpg$", p)
    if not m or (edits and m.group(2) not in edits):
        continue
    oq, ohs = H.get("known/%s.jpg" % m.group(1), (None, None))
    if ohs is None:
        continue
    d0, d8 = dist(hs[0], ohs[0]), min(dist(h, ohs[0]) for h in hs)
    by_edit.setdefault(m.group(2), []).append((p, q, oq, d0, d8))
for e, rows in by_edit.items():
    miss = [r for r in rows if r[1] < 50 or r[4] > 31]
    print("%s: %d copies, %d missed by the own hash: %d of quality < 50, %d farther than 31"
          % (e, len(rows), len(miss), sum(r[1] < 50 for r in miss), sum(r[1] >= 50 for r in miss)))
    for p, q, oq, d0, d8 in sorted(miss, key=lambda r: (r[1], r[4])):
        extra = ""
        if mode:
            t = matched.get(p)
            extra = "; matched: %s" % ("no" if not t else "%d via %s" % (t[0], t[1] or t[2] or "own hash"))
        print("  %s quality %d (original %d) distance %d, 8 orientations %d%s" % (p, q, oq, d0, d8, extra))

#!/usr/bin/env python3
"""bench/shots_score.py JSONL... - per edit, the share of copies NAME-EDIT.jpg
(bench/shots.py, mkqueries) matching their own original known/NAME.jpg at
distance <= 31 in `phmatch match -f jsonl` records, the matches to any other
entry (false), and the nearest of those."""
import json, re, sys
from collections import defaultdict
for path in sys.argv[1:]:
    tot, hit, false, near, via = defaultdict(int), defaultdict(int), defaultdict(int), {}, defaultdict(lambda: defaultdict(int))
    for line in open(path, encoding="utf-8"):
        r = json.loads(line)
        m = re.match(r".*/(K\d+)-(.+)\.jpg$", r.get("path", ""))
        if not m:
            continue
        e = m.group(2)
        tot[e] += 1
        own = "known/%s.jpg" % m.group(1)
        ok = 0
        for h in r.get("matches") or []:
            if h["id"] == own and h["distance"] <= 31:
                ok = 1
                via[e][h.get("known_variant") or h.get("variant") or "own"] += 1
            elif h["id"] != own:
                near[e] = min(near.get(e, 99), h["distance"])
                false[e] += h["distance"] <= 31
        hit[e] += ok
    print(path)
    for e in sorted(tot):
        print("  %-12s %4d copies  TPR %5.1f  false %d  nearest other %s  via %s" % (
            e, tot[e], 100.0 * hit[e] / tot[e], false[e], near.get(e, "-"),
            dict(sorted(via[e].items(), key=lambda kv: -kv[1])[:4])))

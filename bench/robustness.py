#!/usr/bin/env python3
"""robustness.py - the robustness benchmark's figures and page (bench/robustness.sh).

    robustness.py time OUT TIMES -- COMMAND...   run COMMAND, stdout to OUT, and
                                                 write "wall user sys" seconds to TIMES
    robustness.py stats RUNDIR                   match records -> RUNDIR/robustness.tsv
    robustness.py html TSV HTML                  robustness.tsv -> a self-contained page
    robustness.py table TSV                      the summary as text, for the terminal

RUNDIR holds (written by robustness.sh): modes.tsv (mode, status, note, index
file_bytes, index entries, queries), MODE.jsonl (the `phmatch match -f jsonl
--max-distance 48` records of every query) and MODE.time, and meta.tsv (key,
value lines). Queries are named known/KNNNN.jpg (a known image, in the index under
that id), unrelated/UNNNN.jpg and copies/KNNNN-EDIT.jpg (an edit of known/KNNNN.jpg).

A copy is found (true positive at threshold t) when a match record names its own
original at distance <= t. Every match of a query to an entry other than its own
original is a false match: unrelated x known, known x other known, copy x other
known. All thresholds 0..48 come from the one run per mode. Standard library only.
"""
import html
import json
import os
import re
import subprocess
import sys
import time

EDITS = [
    "resize50", "resize25", "q30", "grey", "gamma", "blur", "text", "screenshot",
    "letterbox-black", "letterbox-white", "letterbox-blur",
    "pillarbox-black", "pillarbox-white", "pillarbox-blur",
    "crop5-c", "crop5-off", "crop15-c", "crop15-off",
    "rot5-fill", "rotm5-fill", "rot5-crop", "rotm5-crop", "rot5-grow", "rotm5-grow",
    "rot90", "mirror", "combo",
]
MODES = ["pdq", "pdq8", "trim", "robust", "augment", "augment+robust"]
THRESHOLD = 31
MAX_T = 48
COLUMNS = ["kind", "mode", "edit", "threshold", "copies", "matched", "tpr", "pairs",
           "false_matches", "unsearched", "query_ms_wall", "query_ms_cpu",
           "bytes_per_entry", "note"]
COLOURS = {"pdq": "#7f7f7f", "pdq8": "#1f77b4", "trim": "#ff7f0e", "robust": "#2ca02c",
           "augment": "#9467bd", "augment+robust": "#d62728"}


def cmd_time(argv):
    if len(argv) < 4 or argv[2] != "--":
        sys.exit("usage: robustness.py time OUT TIMES -- COMMAND...")
    out, times, command = argv[0], argv[1], argv[3:]
    with open(out, "wb") as f:
        t0 = time.monotonic()
        proc = subprocess.Popen(command, stdout=f)
        _, status, ru = os.wait4(proc.pid, 0)
        wall = time.monotonic() - t0
    proc.returncode = os.waitstatus_to_exitcode(status)
    with open(times, "w") as f:
        f.write("%.6f %.6f %.6f\n" % (wall, ru.ru_utime, ru.ru_stime))
    return proc.returncode


def read_tsv_rows(path):
    with open(path, encoding="utf-8") as f:
        return [line.rstrip("\n").split("\t") for line in f if line.strip()]


QUERY = re.compile(r"^(known|unrelated|copies)/([KU]\d+)(?:-(.+))?\.jpg$")


def mode_stats(jsonl):
    """Per query: (kind, edit, own id, own distance or None, [wrong distances], searched)."""
    out = []
    truncated = 0
    with open(jsonl, encoding="utf-8") as f:
        for line in f:
            r = json.loads(line)
            m = QUERY.match(r.get("path", ""))
            if not m:
                continue
            kind, name, edit = m.groups()
            own = "known/%s.jpg" % name if kind != "unrelated" else None
            matches = r.get("matches")
            searched = r.get("status") == "ok" and matches is not None
            own_d, wrong = None, []
            for h in matches or []:
                d = h.get("distance")
                if d is None:
                    continue
                if h.get("id") == own:
                    own_d = d if own_d is None else min(own_d, d)
                else:
                    wrong.append(d)
            if searched and (r.get("match_count") or 0) > len(matches):
                truncated += 1
            out.append((kind, edit, own, own_d, wrong, searched))
    return out, truncated


def fmt(v, digits=4):
    if v is None:
        return "-"
    if isinstance(v, float):
        return ("%%.%df" % digits) % v
    return str(v)


def cmd_stats(argv):
    rundir = argv[0]
    meta = read_tsv_rows(os.path.join(rundir, "meta.tsv"))
    modes = read_tsv_rows(os.path.join(rundir, "modes.tsv"))
    rows = [["meta", "-", k, "-", "-", "-", "-", "-", "-", "-", "-", "-", "-", v]
            for k, v in meta]
    for mode, status, note, fbytes, entries, nq in modes:
        if status != "ok":
            rows.append(["skipped", mode] + ["-"] * 11 + [note])
            continue
        qs, truncated = mode_stats(os.path.join(rundir, mode + ".jsonl"))
        wall, user, sys_ = (float(x) for x in
                            open(os.path.join(rundir, mode + ".time")).read().split())
        n_known = sum(1 for q in qs if q[0] == "known")
        nqueries = len(qs)
        per_q = lambda s: 1000.0 * s / nqueries if nqueries else None
        bpe = int(fbytes) / int(entries) if int(entries) else None
        if truncated:
            note = (note + "; " if note else "") + \
                "%d queries had more matches than listed" % truncated
        # pairs: every query against every entry but its own original
        others = lambda q: n_known - (1 if q[2] is not None else 0)
        groups = [(e, [q for q in qs if q[0] == "copies" and q[1] == e]) for e in EDITS]
        extra = sorted({q[1] for q in qs if q[0] == "copies"} - set(EDITS))
        groups += [(e, [q for q in qs if q[0] == "copies" and q[1] == e]) for e in extra]
        copies = [q for q in qs if q[0] == "copies"]

        def line(kind, edit, group, t, everything=None):
            pool = everything if everything is not None else group
            matched = sum(1 for q in group if q[3] is not None and q[3] <= t)
            fm = sum(1 for q in pool for d in q[4] if d <= t)
            pairs = sum(others(q) for q in pool)
            uns = sum(1 for q in group if not q[5])
            return [kind, mode, edit, str(t), str(len(group)), str(matched),
                    fmt(matched / len(group) if group else None), str(pairs), str(fm),
                    str(uns)]

        for e, group in groups:
            if group:
                rows.append(line("edit", e, group, THRESHOLD) + ["-"] * 3 + [""])
        rows.append(line("all", "all", copies, THRESHOLD, qs) +
                    [fmt(per_q(wall), 3), fmt(per_q(user + sys_), 3), fmt(bpe, 1), note])
        for t in range(MAX_T + 1):
            rows.append(line("curve", "all", copies, t, qs) + ["-"] * 3 + [""])
        # the false matches by where they come from, at the threshold
        for src, label in (("unrelated", "unrelated-x-known"), ("known", "known-x-known"),
                           ("copies", "copy-x-known")):
            pool = [q for q in qs if q[0] == src]
            rows.append(["false", mode, label, str(THRESHOLD), "-", "-", "-",
                         str(sum(others(q) for q in pool)),
                         str(sum(1 for q in pool for d in q[4] if d <= THRESHOLD)),
                         str(sum(1 for q in pool if not q[5])), "-", "-", "-", ""])
    path = os.path.join(rundir, "robustness.tsv")
    with open(path, "w", encoding="utf-8") as f:
        f.write("\t".join(COLUMNS) + "\n")
        for r in rows:
            f.write("\t".join(x.replace("\t", " ").replace("\n", " ") for x in r) + "\n")
    return 0


def load(tsv):
    rows = read_tsv_rows(tsv)
    if not rows or rows[0] != COLUMNS:
        sys.exit("robustness.py: '%s' is not a robustness.tsv (header differs)" % tsv)
    recs = [dict(zip(COLUMNS, r)) for r in rows[1:]]
    meta = {r["edit"]: r["note"] for r in recs if r["kind"] == "meta"}
    modes = [m for m in MODES if any(r["mode"] == m and r["kind"] == "all" for r in recs)]
    modes += sorted({r["mode"] for r in recs if r["kind"] == "all"} - set(modes))
    skipped = [(r["mode"], r["note"]) for r in recs if r["kind"] == "skipped"]
    edits = [e for e in EDITS if any(r["kind"] == "edit" and r["edit"] == e for r in recs)]
    edits += sorted({r["edit"] for r in recs if r["kind"] == "edit"} - set(edits))
    get = {(r["kind"], r["mode"], r["edit"], r["threshold"]): r for r in recs}
    return meta, modes, skipped, edits, get


def pct(v):
    return "-" if v in ("-", "", None) else "%.1f" % (100.0 * float(v))


def cmd_table(argv):
    meta, modes, skipped, edits, get = load(argv[0])
    t = str(THRESHOLD)
    print("robustness at distance <= %s: TPR %% per edit (copies matching their own "
          "original)" % t)
    w = max([len(m) for m in modes] + [6]) + 1
    print("  %-16s" % "edit" + "".join("%*s" % (w, m) for m in modes))
    for e in edits + ["all"]:
        kind = "all" if e == "all" else "edit"
        print("  %-16s" % e + "".join("%*s" % (w, pct(get[(kind, m, e, t)]["tpr"]))
                                       for m in modes))
    for label, col in (("false matches", "false_matches"), ("pairs", "pairs"),
                       ("query ms wall", "query_ms_wall"), ("query ms CPU", "query_ms_cpu"),
                       ("bytes/entry", "bytes_per_entry")):
        print("  %-16s" % label + "".join("%*s" % (w, get[("all", m, "all", t)][col])
                                           for m in modes))
    for m, note in skipped:
        print("  (%s skipped: %s)" % (m, note))
    for m in modes:
        note = get[("all", m, "all", t)]["note"]
        if note:
            print("  (%s: %s)" % (m, note))
    return 0


# ---- the page -------------------------------------------------------------

def esc(s):
    return html.escape(str(s), quote=True)


def bar_chart(modes, edits, get):
    t = str(THRESHOLD)
    groups = edits + ["all"]
    bw, gap, top, ph, left = 6, 10, 20, 240, 46
    gw = bw * len(modes) + gap
    width = left + gw * len(groups) + 20
    height = top + ph + 110
    out = ['<svg id="tpr-bars" xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" '
           'viewBox="0 0 %d %d" role="img" aria-label="TPR per edit and mode">'
           % (width, height, width, height)]
    for k in range(0, 11, 2):
        y = top + ph - ph * k / 10.0
        out.append('<line class="grid" x1="%d" x2="%d" y1="%.1f" y2="%.1f" stroke="#e4e4e4"/>'
                   % (left, width - 20, y - 0.5, y - 0.5))
        out.append('<text x="%d" y="%.1f" class="ax" text-anchor="end">%d %%</text>'
                   % (left - 4, y + 4, k * 10))
    for gi, e in enumerate(groups):
        x0 = left + gi * gw + gap / 2.0
        kind = "all" if e == "all" else "edit"
        for mi, m in enumerate(modes):
            r = get.get((kind, m, e, t))
            if not r or r["tpr"] == "-":
                continue
            v = float(r["tpr"])
            h = ph * v
            out.append('<rect class="bar" data-mode="%s" data-edit="%s" data-tpr="%s" '
                       'x="%.1f" y="%.2f" width="%d" height="%.2f" fill="%s">'
                       '<title>%s, %s: %s %%</title></rect>'
                       % (esc(m), esc(e), esc(r["tpr"]), x0 + mi * bw, top + ph - h, bw, h,
                          COLOURS.get(m, "#000"), esc(m), esc(e), pct(r["tpr"])))
        if e == "all":
            out.append('<line x1="%.1f" x2="%.1f" y1="%d" y2="%d" stroke="#999" '
                       'stroke-dasharray="3 3"/>' % (x0 - gap / 2.0, x0 - gap / 2.0, top,
                                                     top + ph))
        lx, ly = x0 + bw * len(modes) / 2.0, top + ph + 8
        out.append('<text class="lbl" x="%.1f" y="%.1f" text-anchor="end" '
                   'transform="rotate(-60 %.1f %.1f)">%s</text>'
                   % (lx, ly, lx, ly, esc(e)))
    out.append('<line x1="%d" x2="%d" y1="%.1f" y2="%.1f" stroke="#333"/>'
               % (left, width - 20, top + ph + 0.5, top + ph + 0.5))
    out.append("</svg>")
    return "\n".join(out)


def line_chart(ident, title, modes, get, column, ymax, yfmt, empty_note=""):
    width, height, left, top, pw, ph = 520, 300, 56, 16, 440, 230
    sx = lambda t: left + pw * t / float(MAX_T)
    sy = lambda v: top + ph - ph * v / ymax
    out = ['<svg id="%s" xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" '
           'viewBox="0 0 %d %d" role="img" aria-label="%s">'
           % (ident, width, height, width, height, esc(title))]
    for k in range(0, 5):
        v = ymax * k / 4.0
        out.append('<line x1="%d" x2="%d" y1="%.1f" y2="%.1f" stroke="#e4e4e4"/>'
                   % (left, left + pw, sy(v), sy(v)))
        out.append('<text class="ax" x="%d" y="%.1f" text-anchor="end">%s</text>'
                   % (left - 4, sy(v) + 4, yfmt(v)))
    for t in range(0, MAX_T + 1, 8):
        out.append('<text class="ax" x="%.1f" y="%d" text-anchor="middle">%d</text>'
                   % (sx(t), top + ph + 16, t))
    out.append('<text class="ax" x="%.1f" y="%d" text-anchor="middle">PDQ distance '
               '(threshold)</text>' % (left + pw / 2.0, top + ph + 34))
    out.append('<line class="thr" x1="%.1f" x2="%.1f" y1="%d" y2="%d" stroke="#000" '
               'stroke-dasharray="4 3"/>' % (sx(THRESHOLD), sx(THRESHOLD), top, top + ph))
    out.append('<text class="ax" x="%.1f" y="%d">%d</text>'
               % (sx(THRESHOLD) + 3, top + 11, THRESHOLD))
    for m in modes:
        pts = []
        for t in range(MAX_T + 1):
            r = get.get(("curve", m, "all", str(t)))
            if r and r[column] != "-":
                pts.append("%.1f,%.1f" % (sx(t), sy(min(float(r[column]), ymax))))
        out.append('<polyline class="curve" data-mode="%s" fill="none" stroke="%s" '
                   'stroke-width="2" points="%s"/>' % (esc(m), COLOURS.get(m, "#000"),
                                                       " ".join(pts)))
    if empty_note:
        out.append('<text class="ax" x="%.1f" y="%.1f" text-anchor="middle">%s</text>'
                   % (left + pw / 2.0, top + ph * 0.375 + 4, esc(empty_note)))
    out.append('<rect x="%d" y="%d" width="%d" height="%d" fill="none" stroke="#333"/>'
               % (left, top, pw, ph))
    out.append("</svg>")
    return "\n".join(out)


def cmd_html(argv):
    tsv, dest = argv
    meta, modes, skipped, edits, get = load(tsv)
    t = str(THRESHOLD)
    p = []
    p.append("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
             "<title>phmatch robustness benchmark</title><style>"
             "body{font:14px/1.4 sans-serif;margin:20px;color:#222;background:#fff}"
             "table{border-collapse:collapse;margin:8px 0 18px}"
             "td,th{border:1px solid #ccc;padding:2px 7px;text-align:right}"
             "th{background:#f2f2f2}td:first-child,th:first-child{text-align:left}"
             ".ax{font:11px sans-serif;fill:#444}.lbl{font:11px sans-serif;fill:#222}"
             ".key{display:inline-block;width:12px;height:12px;margin:0 4px 0 12px;"
             "vertical-align:-1px}.charts{display:flex;flex-wrap:wrap;gap:24px}"
             "p.note{color:#555}</style></head><body>")
    p.append("<h1>phmatch robustness benchmark</h1>")
    info = []
    for k, label in (("images", "images"), ("known", "known"), ("unrelated", "unrelated"),
                     ("copies", "edited copies"), ("max_side", "longest side")):
        if k in meta:
            info.append("%s: %s" % (label, esc(meta[k])))
    p.append('<p id="info">%s. Threshold: distance &le; %s. %s</p>'
             % ("; ".join(info), t, esc(meta.get("phmatch", ""))))
    if "source" in meta:
        p.append('<p class="note">Images: %s</p>' % esc(meta["source"]))
    p.append("<h2>Summary per mode</h2>")
    p.append('<table id="summary"><tr><th>mode</th><th>TPR %</th><th>false matches</th>'
             '<th>unrelated pairs</th><th>query ms (wall)</th><th>query ms (CPU)</th>'
             '<th>index bytes/entry</th></tr>')
    for m in modes:
        r = get[("all", m, "all", t)]
        p.append('<tr data-mode="%s"><td>%s</td><td>%s</td><td>%s</td><td>%s</td>'
                 '<td>%s</td><td>%s</td><td>%s</td></tr>'
                 % (esc(m), esc(m), pct(r["tpr"]), esc(r["false_matches"]), esc(r["pairs"]),
                    esc(r["query_ms_wall"]), esc(r["query_ms_cpu"]),
                    esc(r["bytes_per_entry"])))
    p.append("</table>")
    for m, note in skipped:
        p.append('<p class="note skipped">Mode %s skipped: %s</p>' % (esc(m), esc(note)))
    for m in modes:
        note = get[("all", m, "all", t)]["note"]
        if note:
            p.append('<p class="note">%s: %s</p>' % (esc(m), esc(note)))
    legend = "".join('<span class="key" style="background:%s"></span>%s'
                     % (COLOURS.get(m, "#000"), esc(m)) for m in modes)
    p.append("<h2>TPR per edit (distance &le; %s)</h2>" % t)
    p.append('<p class="legend">%s</p>' % legend)
    p.append(bar_chart(modes, edits, get))
    p.append("<h2>TPR and false matches against distance</h2>")
    p.append('<p class="legend">%s</p>' % legend)
    fmax = max([float(r["false_matches"]) for k, r in get.items()
                if k[0] == "curve" and r["false_matches"] != "-"] + [0])
    none_note = "no false match at any distance up to %d" % MAX_T if fmax == 0 else ""
    fmax = max(4.0, fmax)
    p.append('<div class="charts"><div><h3>TPR (all edits)</h3>%s</div>'
             '<div><h3>false matches (all unrelated pairs)</h3>%s</div></div>'
             % (line_chart("tpr-curve", "TPR against distance", modes, get, "tpr", 1.0,
                           lambda v: "%d %%" % round(100 * v)),
                line_chart("fm-curve", "false matches against distance", modes, get,
                           "false_matches", fmax,
                           lambda v: ("%d" % v) if v == int(v) else "%.1f" % v,
                           none_note)))
    p.append("<h2>TPR % per edit</h2>")
    p.append('<table id="tpr-table"><tr><th>edit</th><th>copies</th>%s</tr>'
             % "".join("<th>%s</th>" % esc(m) for m in modes))
    for e in edits + ["all"]:
        kind = "all" if e == "all" else "edit"
        first = get[(kind, modes[0], e, t)] if modes else {"copies": "-"}
        p.append('<tr data-edit="%s"><td>%s</td><td>%s</td>%s</tr>'
                 % (esc(e), esc(e), esc(first["copies"]),
                    "".join("<td>%s</td>" % pct(get[(kind, m, e, t)]["tpr"])
                            for m in modes)))
    p.append('<tr data-edit="false matches"><td>false matches</td><td></td>%s</tr>'
             % "".join("<td>%s</td>" % esc(get[("all", m, "all", t)]["false_matches"])
                       for m in modes))
    p.append("</table>")
    p.append('<p class="note">TPR: share of the edited copies that match their own '
             'original. False matches: matches of a query to any entry other than its own '
             'original, over all unrelated pairs (unrelated &times; known, known &times; '
             'other known, copy &times; other known). Query time: the match run over all '
             'queries divided by their number. Bytes/entry: index file size / entries.</p>')
    p.append("</body></html>\n")
    with open(dest, "w", encoding="utf-8") as f:
        f.write("\n".join(p))
    return 0


def main(argv):
    cmds = {"time": cmd_time, "stats": cmd_stats, "html": cmd_html, "table": cmd_table}
    if len(argv) < 2 or argv[1] not in cmds:
        sys.exit(__doc__)
    return cmds[argv[1]](argv[2:])


if __name__ == "__main__":
    sys.exit(main(sys.argv))

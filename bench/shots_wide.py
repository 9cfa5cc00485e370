#!/usr/bin/env python3
"""bench/shots_wide.py OUT IMAGE... - screenshots of other layouts than
tools/mkqueries' and bench/shots.py's (docs/ROBUST.md, "White-edged
pictures on a canvas"): a check that screen detection is not tuned to
either. Makes, with ImageMagick's convert, for every IMAGE (DIR/NAME.jpg)
OUT/NAME-EDIT.jpg for each EDIT below, the layout drawn per image from a
generator seeded by NAME (the same files every run), and the image's place
in each (x y width height) in OUT/boxes.tsv:

  phone-inset    a phone screen (9:16 to 9:21), light or dark, a status
                 bar 2.5-6 % of the height (the canvas's colour or not), an
                 app bar or none, the image inset 4-12 % from each side, a
                 caption under it and a row of buttons; rounded corners or not
  desk-browser   a desktop browser window (16:9 or 16:10): tab strip,
                 address bar, a white or light page with a heading and text
                 lines, the image 35-60 % of the width, centred or at the left
                 with text beside it, a scroll bar
  desk-viewer    a desktop image viewer (16:10 or 4:3): a dark window, a
                 toolbar with icons, the image fitted into 80-92 % of the
                 area, a status line under it

With MARGIN=1 in the environment, each IMAGE is first given a plain margin
of its own, 3-10 % a side (white, or black for dark layouts), written to
OUT/known/NAME.jpg: the known images of a check of pictures whose own edge
is the canvas's colour.

Needs convert (ImageMagick 6) and its Ghostscript fonts."""
import os, random, subprocess, sys

FONTS = ["Helvetica", "Helvetica-Bold", "Times-Roman", "Courier-Bold", "AvantGarde-Book",
         "NewCenturySchlbk-Roman", "Bookman-Light", "Palatino-Roman"]
WORDS = ["Look at this", "Shared photo", "New post", "Check it out", "Saved image",
         "From the album", "Photo of the day", "Posted 3 h ago"]


def size(path):
    w, h = subprocess.check_output(["identify", "-format", "%w %h", path + "[0]"]).split()
    return int(w), int(h)


def grey(v):
    return "#%02x%02x%02x" % (v, v, v)


def lines(d, rng, x, y, w, n, step, ink, hgt):
    for k in range(n):
        ww = int(w * rng.uniform(0.5, 1.0))
        d += ["-fill", ink, "-draw", "rectangle %d,%d %d,%d" % (x, y + k * step, x + ww,
                                                                y + k * step + hgt)]


def phone_inset(src, rng, dark):
    W = rng.choice([720, 1080])
    H = int(W * rng.choice([16 / 9, 19 / 9, 20 / 9, 21 / 9]))
    w0, h0 = size(src)
    side = int(W * rng.uniform(0.04, 0.12))
    iw = W - 2 * side
    ih = max(1, int(h0 * iw / w0))
    if ih > H * 0.55:
        ih = int(H * 0.55)
        iw = max(1, int(w0 * ih / h0))
    canvas = grey(rng.randint(0, 0x18)) if dark else grey(rng.randint(0xf4, 0xff))
    ink = "#e8e8e8" if dark else "#222222"
    soft = "#555555" if dark else "#bbbbbb"
    sb = int(H * rng.uniform(0.025, 0.06))
    sbc = rng.choice([canvas, "#000000" if dark else rng.choice(["#0d47a1", "#4a148c", "#e0e0e0"])])
    ab = rng.choice([0, int(H * rng.uniform(0.05, 0.08))])
    abc = grey(rng.randint(0x20, 0x34)) if dark else rng.choice(["#ffffff", "#fafafa", "#3f51b5",
                                                                 "#009688"])
    f = rng.choice(FONTS)
    d = ["-fill", sbc, "-draw", "rectangle 0,0 %d,%d" % (W - 1, sb - 1),
         "-fill", "#ffffff" if sbc != canvas or dark else "#111111", "-font", "Helvetica",
         "-pointsize", str(max(8, int(sb * 0.5))),
         "-draw", "text %d,%d '%d:%02d'" % (int(W * 0.06), int(sb * 0.72), rng.randint(1, 12),
                                          rng.randint(0, 59))]
    for k in range(4):
        x = int(W * (0.72 + 0.06 * k))
        d += ["-draw", "circle %d,%d %d,%d" % (x, sb // 2, x + max(2, sb // 6), sb // 2)]
    if ab:
        d += ["-fill", abc, "-draw", "rectangle 0,%d %d,%d" % (sb, W - 1, sb + ab - 1),
              "-fill", ink if abc in ("#ffffff", "#fafafa") or dark else "#ffffff", "-font", f,
              "-pointsize", str(int(ab * 0.38)),
              "-draw", "text %d,%d '%s'" % (int(W * 0.18), sb + int(ab * 0.62),
                                          rng.choice(["Messages", "Album", "Post", "Viewer"]))]
    top = sb + ab + int(H * rng.uniform(0.01, 0.06))
    x0, y0 = (W - iw) // 2, top
    # caption and buttons under the image
    cy = y0 + ih + int(H * 0.03)
    d += ["-fill", ink, "-font", f, "-pointsize", str(int(W * 0.04)),
          "-draw", "text %d,%d '%s'" % (x0, cy + int(W * 0.04), rng.choice(WORDS))]
    by = cy + int(W * 0.08)
    for k in range(rng.randint(2, 4)):
        bx = x0 + k * int(W * 0.22)
        d += ["-fill", soft, "-draw", "roundrectangle %d,%d %d,%d 12,12" % (
            bx, by, bx + int(W * 0.18), by + int(W * 0.07))]
    lines(d, rng, x0, by + int(W * 0.12), iw, rng.randint(1, 4), int(W * 0.045), soft,
          int(W * 0.018))
    nb = rng.choice([0, int(H * rng.uniform(0.04, 0.06))])
    if nb:
        d += ["-fill", "#000000" if rng.random() < 0.5 else canvas,
              "-draw", "rectangle 0,%d %d,%d" % (H - nb, W - 1, H - 1)]
    d += ["-fill", ink, "-draw", "roundrectangle %d,%d %d,%d 5,5" % (
        W // 2 - W // 8, H - int(H * 0.015) - 5, W // 2 + W // 8, H - int(H * 0.015) + 5)]
    cmd = ["-size", "%dx%d" % (W, H), "xc:" + canvas] + d
    rnd = int(W * rng.uniform(0.05, 0.09)) if rng.random() < 0.5 else 0
    return cmd, (x0, y0, iw, ih), rnd


def desk_browser(src, rng, dark):
    W, H = rng.choice([(1280, 720), (1366, 768), (1440, 900), (1280, 800)])
    w0, h0 = size(src)
    page = grey(rng.randint(0x1c, 0x28)) if dark else rng.choice(["#ffffff", "#ffffff", "#f6f6f6"])
    ink = "#dddddd" if dark else "#333333"
    soft = "#666666" if dark else "#c8c8c8"
    tabs, bar = int(H * 0.05), int(H * 0.055)
    chrome = grey(0x35) if dark else "#dee1e6"
    d = ["-fill", chrome, "-draw", "rectangle 0,0 %d,%d" % (W - 1, tabs + bar - 1),
         "-fill", page, "-draw", "roundrectangle 10,6 %d,%d 8,8" % (int(W * 0.22), tabs + 4),
         "-fill", grey(0x22) if dark else "#ffffff",
         "-draw", "roundrectangle %d,%d %d,%d 14,14" % (int(W * 0.1), tabs + 6, int(W * 0.85),
                                                        tabs + bar - 6),
         "-fill", ink, "-font", "Helvetica", "-pointsize", str(int(bar * 0.4)),
         "-draw", "text %d,%d 'https://example.org/gallery/%d'" % (int(W * 0.12), tabs + int(bar * 0.65),
                                                                  rng.randint(100, 999))]
    for k in range(3):
        d += ["-fill", soft, "-draw", "circle %d,%d %d,%d" % (
            20 + 30 * k, tabs + bar // 2, 28 + 30 * k, tabs + bar // 2)]
    top = tabs + bar
    f = rng.choice(FONTS)
    d += ["-fill", ink, "-font", f, "-pointsize", str(int(H * 0.035)),
          "-draw", "text %d,%d '%s'" % (int(W * 0.08), top + int(H * 0.07), rng.choice(WORDS))]
    iw = int(W * rng.uniform(0.35, 0.6))
    ih = max(1, int(h0 * iw / w0))
    avail = H - top - int(H * 0.12) - 10
    if ih > avail:
        ih = avail
        iw = max(1, int(w0 * ih / h0))
    y0 = top + int(H * 0.1)
    if rng.random() < 0.5:  # centred, text under it
        x0 = (W - iw) // 2
        lines(d, rng, int(W * 0.08), y0 + ih + 20, int(W * 0.8), 4, 26, soft, 9)
    else:  # at the left, text beside it
        x0 = int(W * 0.08)
        lines(d, rng, x0 + iw + 30, y0 + 10, W - x0 - iw - 30 - int(W * 0.08), 12, 26, soft, 9)
    d += ["-fill", grey(0x44) if dark else "#f1f1f1",
          "-draw", "rectangle %d,%d %d,%d" % (W - 14, top, W - 1, H - 1),
          "-fill", grey(0x66) if dark else "#c1c1c1",
          "-draw", "roundrectangle %d,%d %d,%d 4,4" % (W - 12, top + 10, W - 3, top + 120)]
    return ["-size", "%dx%d" % (W, H), "xc:" + page] + d, (x0, y0, iw, ih), 0


def desk_viewer(src, rng, dark):
    W, H = rng.choice([(1280, 800), (1440, 900), (1024, 768), (1600, 1000)])
    w0, h0 = size(src)
    bg = grey(rng.randint(0x18, 0x30)) if dark else grey(rng.randint(0xe8, 0xf4))
    ink = "#d0d0d0" if dark else "#303030"
    tb = int(H * rng.uniform(0.05, 0.08))
    st = int(H * 0.04)
    d = ["-fill", grey(0x3a) if dark else "#fafafa", "-draw", "rectangle 0,0 %d,%d" % (W - 1, tb - 1)]
    for k in range(rng.randint(4, 8)):
        x = 16 + k * int(tb * 1.2)
        d += ["-fill", ink, "-draw", "roundrectangle %d,%d %d,%d 3,3" % (
            x, tb // 4, x + tb // 2, tb - tb // 4)]
    d += ["-fill", ink, "-font", "Helvetica", "-pointsize", str(int(st * 0.55)),
          "-draw", "text 12,%d 'IMG_%04d.jpg  %dx%d  %d%%'" % (H - st // 3, rng.randint(1, 9999),
                                                              w0, h0, rng.randint(20, 100))]
    aw, ah = W * rng.uniform(0.8, 0.92), (H - tb - st) * rng.uniform(0.8, 0.92)
    s = min(aw / w0, ah / h0)
    iw, ih = max(1, int(w0 * s)), max(1, int(h0 * s))
    x0 = (W - iw) // 2
    y0 = tb + (H - tb - st - ih) // 2
    return ["-size", "%dx%d" % (W, H), "xc:" + bg] + d, (x0, y0, iw, ih), 0


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    out = sys.argv[1]
    margin = os.environ.get("MARGIN") == "1"
    os.makedirs(out, exist_ok=True)
    if margin:
        os.makedirs(os.path.join(out, "known"), exist_ok=True)
    boxes = open(os.path.join(out, "boxes.tsv"), "a", encoding="utf-8")
    for src in sys.argv[2:]:
        name = os.path.splitext(os.path.basename(src))[0]
        rng = random.Random("wide-" + name)
        dark = rng.random() < 0.5
        if margin:  # the picture's own plain margin, the canvas's colour
            w0, h0 = size(src)
            m = [int(v * rng.uniform(0.03, 0.10)) for v in (w0, h0, w0, h0)]
            k = os.path.join(out, "known", name + ".jpg")
            subprocess.check_call(["convert", src + "[0]", "-bordercolor",
                                   "black" if dark else "white", "-border", "1x1", "-shave", "1x1",
                                   "-background", "black" if dark else "white", "-gravity",
                                   "northwest", "-splice", "%dx%d" % (m[0], m[1]), "-gravity",
                                   "southeast", "-splice", "%dx%d" % (m[2], m[3]), "+repage",
                                   "-quality", "85", k])
            src = k
        for e, fn in (("phone-inset", phone_inset), ("desk-browser", desk_browser),
                      ("desk-viewer", desk_viewer)):
            base, box, rnd = fn(src, rng, dark)
            x0, y0, iw, ih = box
            cmd = ["convert"] + base + ["(", src + "[0]", "-resize", "%dx%d!" % (iw, ih), ")",
                                        "-geometry", "+%d+%d" % (x0, y0), "-composite"]
            if rnd:
                W, H = base[1].split("x")
                cmd += ["(", "-size", "%sx%s" % (W, H), "xc:black", "-fill", "white", "-draw",
                        "roundrectangle 0,0 %d,%d %d,%d" % (int(W) - 1, int(H) - 1, rnd, rnd), ")",
                        "-compose", "multiply", "-composite"]
            dst = "%s/%s-%s.jpg" % (out, name, e)
            subprocess.check_call(cmd + ["-quality", str(rng.choice([75, 85, 92])), dst])
            boxes.write("%s-%s.jpg\t%d\t%d\t%d\t%d\n" % ((name, e) + box))


main()

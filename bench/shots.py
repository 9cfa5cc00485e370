#!/usr/bin/env python3
"""bench/shots.py OUT IMAGE... - screenshot and caption copies of other
layouts than tools/mkqueries' (docs/ROBUST.md, "Screenshots and captions
of other layouts"): a check that trimming and the caption cuts are not
tuned to the benchmark's one screenshot and one caption.

Makes, with ImageMagick's convert, for every IMAGE (named DIR/NAME.jpg)
OUT/NAME-EDIT.jpg for each EDIT below (and the image's place in each
screenshot, x y width height, in OUT/boxes.tsv), its layout drawn per image from a
generator seeded by NAME (the same files every run):

  shot-light  a light phone screen (9:16 to 9:20): a status bar with the
              time and icons, an app bar of a random colour (or none) with
              a title, the image 85-100 % of the width, grey text lines
              and icons under it, a navigation bar with three icons or a
              gesture pill
  shot-dark   the same in dark mode (canvas #000 to #202020)
  shot-round  either of them on a phone's rounded screen (black corners)
  text-mid    a word in the middle, white, 35-70 % opaque, 10-18 % of
              the height
  text-corner a credit line in a corner, 4-7 % of the height, opaque,
              white with a dark outline
  text-top    a caption along the top, 7-11 % of the height, white with
              a black outline (meme style)
  text-diag   a word across the middle at -30 degrees, 30-50 % opaque

Needs convert (ImageMagick 6) and its Ghostscript fonts."""
import os, random, subprocess, sys

FONTS = ["Helvetica-Bold", "Helvetica", "Times-Bold", "Courier-Bold", "AvantGarde-Demi",
         "NewCenturySchlbk-Bold", "Bookman-Demi", "Palatino-Bold"]
WORDS = ["SAMPLE", "PREVIEW", "COPY", "STOCK", "DRAFT", "Holiday 2026", "@someone",
         "(c) Photo Agency", "not for sale", "LOL", "WHEN YOU SEE IT", "Best day ever"]


def size(path):
    w, h = subprocess.check_output(["identify", "-format", "%w %h", path + "[0]"]).split()
    return int(w), int(h)


def hexc(rng, lo, hi):
    v = rng.randint(lo, hi)
    return "#%02x%02x%02x" % (v, v, v)


def shot(src, out, rng, dark, round_):
    W = 720
    H = int(W * rng.choice([16 / 9, 18 / 9, 19.5 / 9, 20 / 9]))
    w0, h0 = size(src)
    frac = rng.choice([1.0, 1.0, 0.92, 0.85])
    iw = int(W * frac)
    ih = max(1, int(h0 * iw / w0))
    if ih > H * 0.6:
        ih = int(H * 0.6)
        iw = max(1, int(w0 * ih / h0))
    canvas = hexc(rng, 0, 0x20) if dark else hexc(rng, 0xf0, 0xff)
    ink = "#e0e0e0" if dark else "#202020"
    soft = "#5a5a5a" if dark else "#c0c0c0"
    sb = int(H * rng.uniform(0.03, 0.05))
    sbc = rng.choice([canvas, hexc(rng, 0, 0x30) if dark else rng.choice(
        ["#1565c0", "#6200ee", "#3700b3", "#d32f2f", "#388e3c", canvas])])
    sbink = "#ffffff" if sbc != canvas or dark else "#202020"
    ab = rng.choice([0, int(H * rng.uniform(0.06, 0.08))])
    abc = hexc(rng, 0x18, 0x30) if dark else rng.choice(
        ["#1e88e5", "#7c4dff", "#ffffff", "#f5f5f5", "#e53935", "#43a047", "#ff9800"])
    abink = "#ffffff" if dark or abc not in ("#ffffff", "#f5f5f5") else "#202020"
    nb = rng.choice([0, int(H * rng.uniform(0.05, 0.07))])
    nbc = rng.choice(["#000000", canvas, hexc(rng, 0x10, 0x30) if dark else "#f8f8f8"])
    nbink = "#ffffff" if nbc in ("#000000",) or dark else "#404040"
    gap = int(H * rng.uniform(0.0, 0.05))
    top = sb + ab
    y0 = top + gap if rng.random() < 0.6 else top + (H - top - nb - ih) // 2
    y0 = max(top, min(y0, H - nb - ih))
    x0 = (W - iw) // 2
    f = rng.choice(FONTS)
    d = []
    d += ["-fill", sbc, "-draw", "rectangle 0,0 %d,%d" % (W - 1, sb - 1)]
    d += ["-fill", sbink, "-font", "Helvetica-Bold", "-pointsize", str(int(sb * 0.55)),
          "-draw", "text %d,%d '%02d:%02d'" % (int(W * 0.05), int(sb * 0.75), rng.randint(0, 23),
                                               rng.randint(0, 59))]
    for k in range(3):  # signal, wifi, battery
        x = int(W * (0.80 + 0.055 * k))
        d += ["-draw", "rectangle %d,%d %d,%d" % (x, int(sb * 0.3), x + int(sb * 0.45),
                                                   int(sb * 0.7))]
    if ab:
        d += ["-fill", abc, "-draw", "rectangle 0,%d %d,%d" % (sb, W - 1, sb + ab - 1)]
        d += ["-fill", abink, "-font", f, "-pointsize", str(int(ab * 0.4)),
              "-draw", "text %d,%d '%s'" % (int(W * 0.16), sb + int(ab * 0.65),
                                          rng.choice(["Gallery", "Photos", "Chat", "Feed"]))]
        d += ["-draw", "rectangle %d,%d %d,%d" % (int(W * 0.04), sb + int(ab * 0.45),
                                                  int(W * 0.09), sb + int(ab * 0.55))]
    # under the image: icons and text lines
    ly = y0 + ih + int(H * 0.02)
    if ly + 40 < H - nb:
        for k in range(3):
            cx = x0 + 20 + 60 * k
            d += ["-fill", "none", "-stroke", ink, "-strokewidth", "3",
                  "-draw", "circle %d,%d %d,%d" % (cx, ly + 14, cx + 12, ly + 14)]
        d += ["-stroke", "none"]
        for k in range(rng.randint(1, 3)):
            yy = ly + 45 + 30 * k
            if yy + 12 < H - nb:
                d += ["-fill", soft, "-draw", "rectangle %d,%d %d,%d" % (
                    x0 + 10, yy, x0 + 10 + int(iw * rng.uniform(0.4, 0.9)), yy + 12)]
    if nb:
        d += ["-fill", nbc, "-draw", "rectangle 0,%d %d,%d" % (H - nb, W - 1, H - 1)]
        c = H - nb // 2
        d += ["-fill", "none", "-stroke", nbink, "-strokewidth", "3",
              "-draw", "polygon %d,%d %d,%d %d,%d" % (W // 4 + 10, c - 12, W // 4 + 10, c + 12,
                                                      W // 4 - 10, c),
              "-draw", "circle %d,%d %d,%d" % (W // 2, c, W // 2 + 12, c),
              "-draw", "rectangle %d,%d %d,%d" % (3 * W // 4 - 11, c - 11, 3 * W // 4 + 11,
                                                  c + 11), "-stroke", "none"]
    else:
        c = H - int(H * 0.015)
        d += ["-fill", ink, "-draw", "roundrectangle %d,%d %d,%d 4,4" % (
            W // 2 - 70, c - 4, W // 2 + 70, c + 4)]
    cmd = ["convert", "-size", "%dx%d" % (W, H), "xc:" + canvas] + d + [
        "(", src + "[0]", "-resize", "%dx%d!" % (iw, ih), ")", "-geometry",
        "+%d+%d" % (x0, y0), "-composite"]
    if round_:
        r = int(W * rng.uniform(0.04, 0.08))
        cmd += ["(", "-size", "%dx%d" % (W, H), "xc:black", "-fill", "white", "-draw",
                "roundrectangle 0,0 %d,%d %d,%d" % (W - 1, H - 1, r, r), ")", "-compose",
                "multiply", "-composite"]
    cmd += ["-quality", "85", out]
    subprocess.check_call(cmd)
    return (x0, y0, iw, ih)


def text(src, out, rng, kind):
    w, h = size(src)
    f = rng.choice(FONTS)
    word = rng.choice(WORDS)
    if kind == "text-mid":
        a = rng.uniform(0.35, 0.7)
        args = ["-gravity", "center", "-pointsize", str(int(h * rng.uniform(0.10, 0.18))),
                "-fill", "rgba(255,255,255,%.2f)" % a, "-annotate", "+0+0", word]
    elif kind == "text-corner":
        g = rng.choice(["SouthEast", "SouthWest", "NorthEast", "NorthWest"])
        p = int(h * rng.uniform(0.04, 0.07))
        args = ["-gravity", g, "-pointsize", str(p), "-stroke", "#202020", "-strokewidth",
                str(max(1, p // 12)), "-fill", "white", "-annotate",
                "+%d+%d" % (p // 2, p // 2), rng.choice(WORDS[5:])]
    elif kind == "text-top":
        p = int(h * rng.uniform(0.07, 0.11))
        args = ["-gravity", "North", "-pointsize", str(p), "-stroke", "black", "-strokewidth",
                str(max(1, p // 15)), "-fill", "white", "-annotate", "+0+%d" % (p // 3),
                rng.choice(WORDS[9:])]
    else:  # text-diag
        a = rng.uniform(0.3, 0.5)
        args = ["-gravity", "center", "-pointsize", str(int(h * rng.uniform(0.10, 0.16))),
                "-fill", "rgba(255,255,255,%.2f)" % a, "-annotate", "-30x-30+0+0", word]
    subprocess.check_call(["convert", src + "[0]", "-font", f] + args + ["-quality", "85", out])


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    boxes = open(os.path.join(out, "boxes.tsv"), "a", encoding="utf-8")
    for src in sys.argv[2:]:
        name = os.path.splitext(os.path.basename(src))[0]
        rng = random.Random(name)
        dark = rng.random() < 0.5
        for e, dk, rd in (("shot-light", False, False), ("shot-dark", True, False),
                          ("shot-round", dark, True)):
            box = shot(src, "%s/%s-%s.jpg" % (out, name, e), rng, dk, rd)
            boxes.write("%s-%s.jpg\t%d\t%d\t%d\t%d\n" % ((name, e) + box))
        for k in ("text-mid", "text-corner", "text-top", "text-diag"):
            text(src, "%s/%s-%s.jpg" % (out, name, k), rng, k)


main()

#!/usr/bin/env python3
"""mkbmp.py SRC.ppm SRC16.ppm SRC256.ppm OUTDIR - BMP files that ImageMagick
cannot write, packed here with struct from the pixels of three PPMs (a photo,
the same reduced to 16 colours and to at most 256): top-down rows, RLE4,
RLE8 with deltas and early ends, odd bit fields, OS/2 2.x headers (16 and
64 bytes), the 52- and 56-byte Windows headers, BI_ALPHABITFIELDS; and
hostile files (truncated, offsets past the end, a huge declared size, bad
masks, RLE overruns). tests/cli/format_bmp.sh and tests/fuzz/build.sh (seed
corpus) use it. Names: ok-*.bmp decode as ImageMagick does; eq-*.bmp, which
ImageMagick 6.9.11 cannot read, decode as the file OUTDIR/pairs names; rec-*.bmp are
damaged but ImageMagick still gives an image (phmatch: recovered);
bad-*.bmp and big-*.bmp are refused (corrupt, too large).
"""
import os
import struct
import sys


def read_ppm(path):
    with open(path, "rb") as f:
        data = f.read()
    fields, pos = [], 2
    while len(fields) < 3:
        while data[pos:pos + 1].isspace():
            pos += 1
        if data[pos:pos + 1] == b"#":
            while data[pos:pos + 1] != b"\n":
                pos += 1
            continue
        end = pos
        while data[end:end + 1].isdigit():
            end += 1
        fields.append(int(data[pos:end]))
        pos = end
    w, h, _ = fields
    pix = data[pos + 1:pos + 1 + w * h * 3]
    rows = [[tuple(pix[(y * w + x) * 3:(y * w + x) * 3 + 3]) for x in range(w)]
            for y in range(h)]
    return w, h, rows


def pad4(b):
    return b + b"\0" * (-len(b) % 4)


def info40(w, h, bpp, comp, colors=0, size=40, image_size=0):
    return struct.pack("<IiiHHIIiiII", size, w, h, 1, bpp, comp, image_size,
                       2835, 2835, colors, 0)


def bmp(hdr, palette, pixels, extra=b"", file_size=None, offset=None):
    off = 14 + len(hdr) + len(extra) + len(palette) if offset is None else offset
    body = hdr + extra + palette
    total = 14 + len(body) + len(pixels)
    fs = total if file_size is None else file_size
    return b"BM" + struct.pack("<IHHI", fs, 0, 0, off) + body + pixels


def palette_of(rows, limit):
    pal = sorted({c for r in rows for c in r})
    assert len(pal) <= limit, len(pal)
    return pal, {c: i for i, c in enumerate(pal)}


def pal_bytes(pal, entry=4, count=None):
    out = b"".join(bytes([b, g, r]) + (b"\0" if entry == 4 else b"")
                   for r, g, b in pal)
    n = len(pal) if count is None else count
    return out + b"\0" * entry * (n - len(pal))


def rows24(rows, top_down=False):
    order = rows if top_down else rows[::-1]
    return b"".join(pad4(b"".join(bytes([b, g, r]) for r, g, b in row))
                    for row in order)


def packed(rows, index, bpp, top_down=False):
    out = b""
    for row in (rows if top_down else rows[::-1]):
        bits, line = 0, bytearray()
        acc = 0
        for c in row:
            acc = acc << bpp | index[c]
            bits += bpp
            if bits == 8:
                line.append(acc)
                acc = bits = 0
        if bits:
            line.append(acc << (8 - bits))
        out += pad4(bytes(line))
    return out


def chan(v8, mask):
    """An 8-bit sample into a mask's bits (rounded), placed."""
    if not mask:
        return 0
    low = (mask & -mask).bit_length() - 1
    n = bin(mask).count("1")
    return ((v8 * ((1 << n) - 1) + 127) // 255) << low


def fields(rows, masks, bpp, top_down=False):
    fmt = "<H" if bpp == 16 else "<I"
    out = b""
    for row in (rows if top_down else rows[::-1]):
        line = b"".join(struct.pack(fmt, chan(r, masks[0]) | chan(g, masks[1]) |
                                    chan(b, masks[2])) for r, g, b in row)
        out += pad4(line)
    return out


def rle8(rows, index, delta_at=None, early_eob=False, top_down=False):
    """RLE8 with encoded runs, absolute runs, one delta and end-of-line."""
    out = bytearray()
    h = len(rows)
    y = 0
    stream_rows = rows if top_down else rows[::-1]
    while y < h:
        row = [index[c] for c in stream_rows[y]]
        if delta_at is not None and y == delta_at:
            # Skip 5 pixels right and 2 rows up: ImageMagick leaves them 0.
            out += bytes([0, 2, 5, 2])
            y += 2
            row = [index[c] for c in stream_rows[y]][5:]
        x = 0
        while x < len(row):
            n = 1
            while x + n < len(row) and n < 255 and row[x + n] == row[x]:
                n += 1
            if n >= 3 or len(row) - x < 3:
                out += bytes([n, row[x]])
                x += n
            else:
                m = min(len(row) - x, 255)
                lit = row[x:x + m]
                out += bytes([0, m]) + bytes(lit) + (b"\0" if m & 1 else b"")
                x += m
        out += b"\0\0"
        y += 1
        if early_eob and y == h // 2:
            break
    out += b"\0\1"
    return bytes(out)


def rle4(rows, index):
    out = bytearray()
    for row in rows[::-1]:
        v = [index[c] for c in row]
        x = 0
        while x < len(v):
            # Encoded runs of two alternating values, or literal groups.
            n = 2
            while (x + n < len(v) and n < 255 and v[x + n] == v[x + (n & 1)]):
                n += 1
            n = min(n, len(v) - x)
            if n >= 4 or len(v) - x < 3:
                a = v[x]
                b = v[x + 1] if n > 1 else 0
                out += bytes([n, a << 4 | b])
                x += n
            else:
                m = min(len(v) - x, 9)
                lit = v[x:x + m] + [0]
                data = bytes(lit[i] << 4 | lit[i + 1] for i in range(0, m, 2))
                out += bytes([0, m]) + data + (b"\0" if len(data) & 1 else b"")
                x += m
        out += b"\0\0"
    out += b"\0\1"
    return bytes(out)


def v4_tail(size, masks, alpha=0):
    """Bytes 40.. of a 52/56/108/124-byte header: masks, then sRGB."""
    t = struct.pack("<III", *masks)
    if size >= 56:
        t += struct.pack("<I", alpha)
    if size >= 108:
        t += struct.pack("<I", 0x73524742) + b"\0" * 48
    if size >= 124:
        t += struct.pack("<IIII", 4, 0, 0, 0)
    return t


def main():
    src, src16, src256, out = sys.argv[1:5]
    w, h, rows = read_ppm(src)
    _, _, rows16 = read_ppm(src16)
    _, _, rows256 = read_ppm(src256)
    pal16, idx16 = palette_of(rows16, 16)
    pal256, idx256 = palette_of(rows256, 256)
    files, pairs = {}, []

    # Windows 3, 24-bit, top-down.
    files["ok-topdown24"] = bmp(info40(w, -h, 24, 0), b"", rows24(rows, True))
    # 8-bit palette, top-down, fewer colours than 256 declared.
    files["ok-topdown8"] = bmp(info40(w, -h, 8, 0, len(pal256)), pal_bytes(pal256),
                               packed(rows256, idx256, 8, True))
    # 4-bit palette, colours used = the palette's length.
    files["ok-pal4"] = bmp(info40(w, h, 4, 0, len(pal16)), pal_bytes(pal16),
                           packed(rows16, idx16, 4))
    # RLE4 and RLE8 (with a delta, and one ending early at an end of bitmap).
    files["ok-rle4"] = bmp(info40(w, h, 4, 2, len(pal16)), pal_bytes(pal16),
                           rle4(rows16, idx16))
    files["ok-rle8"] = bmp(info40(w, h, 8, 1, len(pal256)), pal_bytes(pal256),
                           rle8(rows256, idx256))
    files["ok-rle8-delta"] = bmp(info40(w, h, 8, 1, len(pal256)), pal_bytes(pal256),
                                 rle8(rows256, idx256, delta_at=3))
    files["ok-rle8-eob"] = bmp(info40(w, h, 8, 1, len(pal256)), pal_bytes(pal256),
                               rle8(rows256, idx256, early_eob=True))
    m565 = (0xf800, 0x07e0, 0x001f)
    m32 = (0x00ff0000, 0x0000ff00, 0x000000ff)
    # Odd bit fields, 16 and 32 bits, in 40-, 52- and 56-byte headers.
    for name, bpp, masks in (
            ("444", 16, (0x0f00, 0x00f0, 0x000f)),
            ("655", 16, (0xfc00, 0x03e0, 0x001f)),
            ("556", 16, (0xf800, 0x07c0, 0x003f)),
            ("332", 16, (0x00e0, 0x001c, 0x0003)),
            ("bgr565", 16, (0x001f, 0x07e0, 0xf800)),
            ("10-10-10", 32, (0x3ff00000, 0x000ffc00, 0x000003ff)),
            ("16-8-8", 32, (0xffff0000, 0x0000ff00, 0x000000ff)),
            ("565-32", 32, (0x0000f800, 0x000007e0, 0x0000001f)),
            ("12-12-8", 32, (0xfff00000, 0x000fff00, 0x000000ff))):
        files["ok-bf" + name] = bmp(info40(w, h, bpp, 3), b"", fields(rows, masks, bpp),
                                    extra=struct.pack("<III", *masks))
    files["ok-hdr52"] = bmp(info40(w, h, 16, 3, size=52) + v4_tail(52, m565), b"",
                            fields(rows, m565, 16))
    files["ok-hdr56"] = bmp(info40(w, h, 32, 3, size=56) + v4_tail(56, m32, 0xff000000),
                            b"", fields(rows, m32, 32))
    pairs.append(("eq-alphabf", "ok-bf444"))
    files["eq-alphabf"] = bmp(info40(w, h, 16, 6), b"", fields(rows, (0x0f00, 0xf0, 0xf), 16),
                              extra=struct.pack("<IIII", 0x0f00, 0xf0, 0xf, 0xf000))
    files["ok-v5-topdown"] = bmp(info40(w, -h, 32, 3, size=124) +
                                 v4_tail(124, (0xff, 0xff00, 0xff0000), 0), b"",
                                 fields(rows, (0xff, 0xff00, 0xff0000), 32, True))
    # OS/2 2.x: 64-byte header (24-bit; 8-bit palette of 4-byte entries), and
    # the 16-byte short form.
    os2tail = b"\0" * 24
    # ImageMagick reads 3-byte palette entries after a 64-byte header.
    files["ok-os2v2-24"] = bmp(info40(w, h, 24, 0, size=64) + os2tail, b"", rows24(rows))
    files["ok-os2v2-8"] = bmp(info40(w, h, 8, 0, len(pal256), size=64) + os2tail,
                              pal_bytes(pal256, 3), packed(rows256, idx256, 8))
    # ImageMagick 6.9.11 cannot read these two; each must give the pixels
    # of a file it reads (listed in OUTDIR/pairs).
    files["eq-os2v2s-8"] = bmp(struct.pack("<IiiHH", 16, w, h, 1, 8),
                               pal_bytes(pal256, 4, 256), packed(rows256, idx256, 8))
    files["ok-pal8-256"] = bmp(info40(w, h, 8, 0), pal_bytes(pal256, 4, 256),
                               packed(rows256, idx256, 8))
    pairs.append(("eq-os2v2s-8", "ok-pal8-256"))
    # 16-bit BI_RGB (5-5-5 by default), a 108-byte header with 32-bit
    # BI_RGB, 1 bit with a two-colour palette, OS/2 1.x at 24 bits.
    m555 = (0x7c00, 0x03e0, 0x001f)
    files["ok-rgb16"] = bmp(info40(w, h, 16, 0), b"", fields(rows, m555, 16))
    files["ok-hdr108-32"] = bmp(info40(w, h, 32, 0, size=108) + v4_tail(108, (0, 0, 0)),
                                b"", fields(rows, m32, 32))
    two = [(200, 30, 30), (20, 40, 220)]
    rows2 = [[two[(r * 3 + g * 6 + b) // 10 > 110] for r, g, b in row] for row in rows]
    files["ok-1bit"] = bmp(info40(w, h, 1, 0, 2), pal_bytes(two), packed(rows2, {two[0]: 0, two[1]: 1}, 1))
    files["ok-os2v1-24"] = bmp(struct.pack("<IHHHH", 12, w, h, 1, 24), b"", rows24(rows))
    # OS/2 1.x with a 4-bit palette of 3-byte entries.
    files["ok-os2v1-4"] = bmp(struct.pack("<IHHHH", 12, w, h, 1, 4),
                              pal_bytes(pal16, 3, 16), packed(rows16, idx16, 4))

    # Damaged but decodable (ImageMagick keeps an image): RLE cut short,
    # palette index past a short palette.
    r8 = rle8(rows256, idx256)
    files["rec-rle8-cut"] = bmp(info40(w, h, 8, 1, len(pal256)), pal_bytes(pal256),
                                r8[:len(r8) // 2], file_size=0)
    short = pal256[:len(pal256) // 2]
    # Top-down RLE: flipped, unless the stream meets the end of the file
    # (ImageMagick then warns and keeps the rows bottom-up).
    files["ok-rle8-topdown"] = bmp(info40(w, -h, 8, 1, len(pal256)), pal_bytes(pal256),
                                   rle8(rows256, idx256, top_down=True))
    r8t = rle8(rows256, idx256, top_down=True)
    files["rec-rle8-topdown-cut"] = bmp(info40(w, -h, 8, 1, len(pal256)),
                                        pal_bytes(pal256), r8t[:len(r8t) * 2 // 3])
    files["rec-badindex"] = bmp(info40(w, h, 8, 0, len(short)), pal_bytes(short),
                                packed(rows256, idx256, 8))

    # Refused.
    p24 = rows24(rows)
    ok24 = bmp(info40(w, h, 24, 0), b"", p24)
    files["bad-truncated"] = ok24[:len(ok24) // 2]
    files["bad-truncated-nosize"] = bmp(info40(w, h, 24, 0), b"", p24[:len(p24) // 2],
                                        file_size=0)
    files["bad-offset"] = bmp(info40(w, h, 24, 0), b"", p24, offset=len(ok24) + 100,
                              file_size=0)
    files["bad-overlap-masks"] = bmp(info40(w, h, 16, 3), b"",
                                     fields(rows, m565, 16),
                                     extra=struct.pack("<III", 0xf800, 0x0fe0, 0x1f))
    files["bad-split-mask"] = bmp(info40(w, h, 32, 3), b"", fields(rows, m32, 32),
                                  extra=struct.pack("<III", 0xff00ff, 0xff00, 0))
    files["bad-bpp"] = bmp(info40(w, h, 7, 0), b"", p24)
    files["bad-rle-bpp"] = bmp(info40(w, h, 24, 1), b"", p24)
    files["bad-colors"] = bmp(info40(w, h, 4, 0, 17), pal_bytes(pal16, 4, 17),
                              packed(rows16, idx16, 4))
    # RLE overruns: runs far past the image's end, and a delta out of it.
    over = b"".join(bytes([255, 7]) for _ in range(w * h // 255 + 20)) + b"\0\1"
    files["rec-rle-overrun"] = bmp(info40(w, h, 8, 1, len(pal256)), pal_bytes(pal256), over)
    files["rec-rle-delta-out"] = bmp(info40(w, h, 8, 1, len(pal256)), pal_bytes(pal256),
                                     bytes([10, 3, 0, 2, 255, 255, 10, 3, 0, 1]))
    # RLE rows over 256 times the file's size (ImageMagick refuses them).
    sparse = bmp(info40(8205, 7, 8, 1, 2), pal_bytes(pal16[:2]), b"\0\1")
    files["bad-rle-sparse"] = sparse + b"\0" * (223 - len(sparse))
    # 1 MB claiming 100000 x 100000 pixels.
    big = bmp(info40(100000, 100000, 24, 0), b"", b"")
    files["big-huge"] = big + b"\x80" * (1 << 20)

    os.makedirs(out, exist_ok=True)
    for name, data in files.items():
        with open(os.path.join(out, name + ".bmp"), "wb") as f:
            f.write(data)
    with open(os.path.join(out, "pairs"), "w") as f:
        f.writelines("%s %s\n" % p for p in pairs)


if __name__ == "__main__":
    main()

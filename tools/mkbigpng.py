#!/usr/bin/env python3
"""mkbigpng.py OUT [WIDTH HEIGHT [grey]] - a PNG of WIDTH x HEIGHT pixels
(default 10000 x 10000, RGB) that compresses to almost nothing: each row is
one grey level, so a 100-megapixel RGB image (300 MB decoded) is a ~290 KB
file. The worst image phmatchd's default max_pixels allows, for the decode
budget's tests and bench/service_rss.sh. Standard library only."""
import struct
import sys
import zlib


def chunk(kind, data):
    body = kind + data
    return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))


def main():
    out = sys.argv[1]
    w = int(sys.argv[2]) if len(sys.argv) > 2 else 10000
    h = int(sys.argv[3]) if len(sys.argv) > 3 else 10000
    grey = len(sys.argv) > 4 and sys.argv[4] == "grey"
    ch = 1 if grey else 3
    z = zlib.compressobj(9)
    parts = []
    for y in range(h):
        parts.append(z.compress(b"\0" + bytes([(y * 7) & 255]) * (w * ch)))
    parts.append(z.flush())
    ihdr = struct.pack(">IIBBBBB", w, h, 8, 0 if grey else 2, 0, 0, 0)
    with open(out, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n")
        f.write(chunk(b"IHDR", ihdr))
        f.write(chunk(b"IDAT", b"".join(parts)))
        f.write(chunk(b"IEND", b""))


main()

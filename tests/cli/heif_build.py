#!/usr/bin/env python3
"""Builds HEIF/AVIF test files that neither ImageMagick 6 nor heif-enc 1.15
write, from single-image files they do write (one coded item, as libheif's
encoder lays it out: ftyp, meta, mdat):

  heif_build.py props IN OUT PROP...   the primary image of IN with extra
      transformative properties, in order: irot=N (N * 90 degrees
      anticlockwise), imir=A (mirror axis: 0 vertical, 1 horizontal),
      clap=W,H (centred clean aperture of W x H pixels)
  heif_build.py grid OUT COLS ROWS WIDTH HEIGHT TILE...   a grid image of
      COLS x ROWS tiles (row by row), cropped to WIDTH x HEIGHT; each TILE
      is a file whose primary image becomes one tile

The boxes follow ISO/IEC 23008-12 (HEIF) and ISO/IEC 14496-12; only what
libheif needs to read the result is written."""
import struct
import sys


def boxes(data, pos=0, end=None):
    """Yields (type, payload start, box end) of the boxes in data[pos:end]."""
    end = len(data) if end is None else end
    while pos + 8 <= end:
        size, kind = struct.unpack(">I4s", data[pos:pos + 8])
        head = 8
        if size == 1:
            size = struct.unpack(">Q", data[pos + 8:pos + 16])[0]
            head = 16
        elif size == 0:
            size = end - pos
        yield kind.decode("latin-1"), pos + head, pos + size
        pos += size


def child(data, start, end, kind):
    for k, s, e in boxes(data, start, end):
        if k == kind:
            return s, e
    raise SystemExit("heif_build: no '%s' box" % kind)


def box(kind, payload):
    return struct.pack(">I4s", 8 + len(payload), kind.encode()) + payload


def fullbox(kind, version, flags, payload):
    return box(kind, struct.pack(">I", version << 24 | flags) + payload)


def read_primary(path):
    """The ftyp box, item type, [(property box, essential)] and coded data
    of a file's primary image."""
    data = open(path, "rb").read()
    ftyp = meta = None
    for k, s, e in boxes(data):
        if k == "ftyp":
            ftyp = data[s - 8:e]
        elif k == "meta":
            meta = (s + 4, e)  # a full box
    ms, me = meta
    ps, _ = child(data, ms, me, "pitm")
    version = data[ps]
    primary = struct.unpack(">H" if version == 0 else ">I",
                            data[ps + 4:ps + (6 if version == 0 else 8)])[0]
    # the item's type (infe version 2: id u16, protection u16, type)
    is_, ie = child(data, ms, me, "iinf")
    count_size = 2 if data[is_] == 0 else 4
    item_type = None
    for k, s, e in boxes(data, is_ + 4 + count_size, ie):
        if k == "infe" and data[s] == 2:
            iid = struct.unpack(">H", data[s + 4:s + 6])[0]
            if iid == primary:
                item_type = data[s + 8:s + 12].decode()
    if item_type in (None, "grid", "iden", "iovl"):
        raise SystemExit("heif_build: %s: the primary image is not one coded item" % path)
    # properties
    rs, re_ = child(data, ms, me, "iprp")
    cs, ce = child(data, rs, re_, "ipco")
    props = [data[s - 8:e] for _, s, e in boxes(data, cs, ce)]
    as_, _ = child(data, rs, re_, "ipma")
    version, flags = data[as_], struct.unpack(">I", data[as_:as_ + 4])[0] & 0xffffff
    pos = as_ + 4
    count = struct.unpack(">I", data[pos:pos + 4])[0]
    pos += 4
    assoc = []
    for _ in range(count):
        if version < 1:
            iid = struct.unpack(">H", data[pos:pos + 2])[0]
            pos += 2
        else:
            iid = struct.unpack(">I", data[pos:pos + 4])[0]
            pos += 4
        n = data[pos]
        pos += 1
        for _ in range(n):
            if flags & 1:
                v = struct.unpack(">H", data[pos:pos + 2])[0]
                pos += 2
                ess, idx = v >> 15, v & 0x7fff
            else:
                ess, idx = data[pos] >> 7, data[pos] & 0x7f
                pos += 1
            if iid == primary and idx:
                assoc.append((props[idx - 1], ess))
    # coded data (iloc version 0 or 1, construction method 0: file offsets)
    ls, le = child(data, ms, me, "iloc")
    version = data[ls]
    pos = ls + 4
    sizes = struct.unpack(">H", data[pos:pos + 2])[0]
    off_size, len_size, base_size = sizes >> 12, sizes >> 8 & 15, sizes >> 4 & 15
    idx_size = sizes & 15 if version in (1, 2) else 0
    pos += 2

    def num(n):
        nonlocal pos
        v = int.from_bytes(data[pos:pos + n], "big") if n else 0
        pos += n
        return v
    count = num(2 if version < 2 else 4)
    coded = None
    for _ in range(count):
        iid = num(2 if version < 2 else 4)
        method = num(2) & 15 if version in (1, 2) else 0
        num(2)  # data_reference_index
        base = num(base_size)
        parts = []
        for _ in range(num(2)):
            num(idx_size)
            off = num(off_size)
            length = num(len_size)
            parts.append(data[base + off:base + off + length])
        if iid == primary:
            if method != 0:
                raise SystemExit("heif_build: %s: item data not in the file's mdat" % path)
            coded = b"".join(parts)
    return ftyp, item_type, assoc, coded


def write(path, ftyp, items, primary, refs):
    """items: [(id, type, [(property box, essential)], data, hidden)];
    refs: [(type, from id, [to ids])]."""
    ipco = []
    for _, _, props, _, _ in items:
        for p, _ in props:
            if p not in ipco:
                ipco.append(p)
    ipma = struct.pack(">I", len(items))
    for iid, _, props, _, _ in items:
        ipma += struct.pack(">HB", iid, len(props))
        ipma += bytes(ess << 7 | (ipco.index(p) + 1) for p, ess in props)
    infe = b"".join(fullbox("infe", 2, 1 if hidden else 0,
                            struct.pack(">HH4s", iid, 0, kind.encode()) + b"\0")
                    for iid, kind, _, _, hidden in items)
    iref = b"".join(box(kind, struct.pack(">HH", src, len(dst)) +
                        b"".join(struct.pack(">H", d) for d in dst))
                    for kind, src, dst in refs)

    def meta(mdat_start):
        off = mdat_start + 8
        iloc = struct.pack(">HH", 0x4400, len(items))
        for iid, _, _, data, _ in items:
            iloc += struct.pack(">HHHII", iid, 0, 1, off, len(data))
            off += len(data)
        body = (fullbox("hdlr", 0, 0, struct.pack(">I4s12x", 0, b"pict") + b"\0") +
                fullbox("pitm", 0, 0, struct.pack(">H", primary)) +
                fullbox("iloc", 0, 0, iloc) +
                fullbox("iinf", 0, 0, struct.pack(">H", len(items)) + infe) +
                (fullbox("iref", 0, 0, iref) if refs else b"") +
                box("iprp", box("ipco", b"".join(ipco)) + fullbox("ipma", 0, 0, ipma)))
        return fullbox("meta", 0, 0, body)
    size = len(meta(0))
    out = ftyp + meta(len(ftyp) + size) + box("mdat", b"".join(d for _, _, _, d, _ in items))
    open(path, "wb").write(out)


def main(argv):
    if len(argv) >= 3 and argv[0] == "props":
        ftyp, kind, props, coded = read_primary(argv[1])
        width = height = None
        for p, _ in props:
            if p[4:8] == b"ispe":
                width, height = struct.unpack(">II", p[12:20])
        for spec in argv[3:]:
            name, _, value = spec.partition("=")
            if name == "irot":
                props.append((box("irot", bytes([int(value) & 3])), 1))
            elif name == "imir":
                props.append((box("imir", bytes([int(value) & 1])), 1))
            elif name == "clap":
                w, h = (int(v) for v in value.split(","))
                # centred: offsets 0/1 from the centre
                props.append((box("clap", struct.pack(">8i", w, 1, h, 1, 0, 1, 0, 1)), 1))
            else:
                raise SystemExit("heif_build: unknown property '%s'" % spec)
        if width is None:
            raise SystemExit("heif_build: no ispe for the primary image")
        write(argv[2], ftyp, [(1, kind, props, coded, False)], 1, [])
        return 0
    if len(argv) >= 7 and argv[0] == "grid":
        out = argv[1]
        cols, rows, width, height = (int(v) for v in argv[2:6])
        tiles = argv[6:]
        if len(tiles) != cols * rows:
            raise SystemExit("heif_build: %d tiles for a %dx%d grid" % (len(tiles), cols, rows))
        items = []
        ftyp = None
        for i, path in enumerate(tiles):
            f, kind, props, coded = read_primary(path)
            ftyp = ftyp or f
            items.append((i + 1, kind, props, coded, True))
        gid = len(tiles) + 1
        grid = struct.pack(">BBBBHH", 0, 0, rows - 1, cols - 1, width, height)
        ispe = fullbox("ispe", 0, 0, struct.pack(">II", width, height))
        items.append((gid, "grid", [(ispe, 0)], grid, False))
        write(out, ftyp, items, gid, [("dimg", gid, list(range(1, gid)))])
        return 0
    sys.stderr.write(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

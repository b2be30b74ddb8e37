#!/usr/bin/python3
"""Make the MJPEG frames tools/vm-test feeds into v4l2loopback (deterministic, Pillow).

    make_mjpeg.py OUTDIR

writes OUTDIR/422/NN.jpg and OUTDIR/420/NN.jpg (FRAMES frames each, 640x480, baseline JPEG,
quality 85, Pillow's default, i.e. the standard Huffman tables of ITU-T T.81 Annex K) and
OUTDIR/manifest.txt (one line per file: name, bytes, sampling, whether it carries a DHT).

The picture: four big coloured quadrants (see QUADRANTS; tools/vm/browser_test.py
--expect-quadrants samples their centres) and a dark band across the middle in which a white
block moves 22 pixels per frame, so consecutive frames differ. Every odd-numbered frame has its
DHT segments removed, as UVC webcams send MJPEG (the decoder must use the standard tables).

Each file is checked after writing: SOI first, baseline SOF0 with the intended sampling factors,
no DHT where it was stripped, and every stripped frame must decode (libjpeg-turbo falls back to
the standard tables) to exactly the pixels of the same frame with its tables. Exit code 0 ok.
"""
import io
import os
import sys

from PIL import Image, ImageDraw

W, H = 640, 480
FRAMES = 25
QUALITY = 85
# name, RGB, centre: what browser_test.py --expect-quadrants looks for
QUADRANTS = [("red", (200, 40, 40), (160, 120)), ("green", (40, 180, 60), (480, 120)),
             ("blue", (40, 60, 200), (160, 360)), ("yellow", (220, 200, 40), (480, 360))]
BAND = (208, 272)  # rows of the moving block's band (clear of the quadrant centres)
SETS = {"422": (1, (2, 1)), "420": (2, (2, 2))}  # Pillow subsampling value, luma (h, v) factors


def picture(i):
    img = Image.new("RGB", (W, H))
    d = ImageDraw.Draw(img)
    for _, rgb, (cx, cy) in QUADRANTS:
        x0, y0 = cx - W // 4, cy - H // 4
        d.rectangle([x0, y0, x0 + W // 2 - 1, y0 + H // 2 - 1], fill=rgb)
    d.rectangle([0, BAND[0], W - 1, BAND[1] - 1], fill=(40, 40, 40))
    x = 16 + 22 * i
    d.rectangle([x, BAND[0], x + 63, BAND[1] - 1], fill=(235, 235, 235))
    return img


def segments(data):
    """(marker, start, end) of every marker segment from SOI up to and including SOS."""
    if data[:2] != b"\xff\xd8":
        raise ValueError("no SOI")
    out = [(0xD8, 0, 2)]
    pos = 2
    while True:
        if data[pos] != 0xFF:
            raise ValueError("no marker at %d" % pos)
        marker = data[pos + 1]
        length = int.from_bytes(data[pos + 2:pos + 4], "big")
        out.append((marker, pos, pos + 2 + length))
        pos += 2 + length
        if marker == 0xDA:
            return out


def strip_dht(data):
    keep = [data[s:e] for m, s, e in segments(data) if m != 0xC4]
    sos_end = segments(data)[-1][2]
    return b"".join(keep) + data[sos_end:]


def check(data, luma, want_dht):
    segs = segments(data)
    markers = [m for m, _, _ in segs]
    if 0xC0 not in markers or any(m in markers for m in (0xC1, 0xC2, 0xC3)):
        raise ValueError("not baseline (SOF markers %s)" % [hex(m) for m in markers if 0xC0 <= m <= 0xCF])
    _, s, _ = segs[markers.index(0xC0)]
    height = int.from_bytes(data[s + 5:s + 7], "big")
    width = int.from_bytes(data[s + 7:s + 9], "big")
    ncomp = data[s + 9]
    factors = [(data[s + 11 + 3 * c] >> 4, data[s + 11 + 3 * c] & 15) for c in range(ncomp)]
    if (width, height) != (W, H) or ncomp != 3 or factors != [luma, (1, 1), (1, 1)]:
        raise ValueError("SOF0 says %dx%d, sampling %s" % (width, height, factors))
    if (0xC4 in markers) != want_dht:
        raise ValueError("DHT present: %s, wanted %s" % (0xC4 in markers, want_dht))
    if data[-2:] != b"\xff\xd9":
        raise ValueError("no EOI")


def main():
    if len(sys.argv) != 2:
        print("usage: make_mjpeg.py OUTDIR", file=sys.stderr)
        return 2
    out = sys.argv[1]
    manifest = []
    for name, (subsampling, luma) in SETS.items():
        os.makedirs(os.path.join(out, name), exist_ok=True)
        for i in range(FRAMES):
            buf = io.BytesIO()
            picture(i).save(buf, "JPEG", quality=QUALITY, subsampling=subsampling, optimize=False,
                            progressive=False)
            full = buf.getvalue()
            check(full, luma, True)
            data = full
            if i % 2 == 1:
                data = strip_dht(full)
                check(data, luma, False)
                a = Image.open(io.BytesIO(full)).convert("RGB").tobytes()
                b = Image.open(io.BytesIO(data)).convert("RGB").tobytes()
                if a != b:
                    raise ValueError("%s/%02d: the frame without DHT decodes differently" % (name, i))
            fname = "%s/%02d.jpg" % (name, i)
            with open(os.path.join(out, fname), "wb") as fh:
                fh.write(data)
            manifest.append("%s %d %s %s" % (fname, len(data), name, "dht" if i % 2 == 0 else "no-dht"))
    with open(os.path.join(out, "manifest.txt"), "w") as fh:
        fh.write("\n".join(manifest) + "\n")
    print("make_mjpeg: %d frames in %s (%s), sizes %d..%d bytes" % (
        len(manifest), out, " ".join(SETS), min(int(m.split()[1]) for m in manifest),
        max(int(m.split()[1]) for m in manifest)))
    return 0


if __name__ == "__main__":
    sys.exit(main())

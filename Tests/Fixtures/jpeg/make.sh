#!/bin/sh
# Regenerates the JPEG fixtures of Tests/CaptureTests/JpegTests.swift with libjpeg-turbo's own
# command-line encoder (Debian's libjpeg-turbo-progs: cjpeg), independent of rtcam's encoder.
# The picture (quadrants.ppm, 160x120): four solid quadrants, red | green over blue | white.
# Run from this folder: sh make.sh
set -eu
python3 - <<'PY'
w, h = 160, 120
rows = []
for y in range(h):
    row = bytearray()
    for x in range(w):
        top, left = y < h // 2, x < w // 2
        c = (220, 30, 30) if top and left else (30, 200, 40) if top else (30, 40, 210) if left else (245, 245, 245)
        row += bytes(c)
    rows.append(bytes(row))
open("quadrants.ppm", "wb").write(b"P6\n%d %d\n255\n" % (w, h) + b"".join(rows))
PY
cjpeg -quality 90 -sample 2x2 quadrants.ppm > q420.jpg
cjpeg -quality 90 -sample 2x1 quadrants.ppm > q422.jpg
cjpeg -quality 90 -sample 1x1 quadrants.ppm > q444.jpg
cjpeg -quality 90 -grayscale quadrants.ppm > grey.jpg
cjpeg -quality 90 -sample 2x1 -restart 1 quadrants.ppm > q422-restart.jpg
cjpeg -quality 90 -sample 2x2 -progressive quadrants.ppm > q420-progressive.jpg
cjpeg -quality 90 -rgb quadrants.ppm > rgb.jpg
# UVC MJPEG: no DHT segment (the decoder must use the standard tables cjpeg encoded with)
python3 - <<'PY'
d = open("q422.jpg", "rb").read()
out, i = bytearray(d[:2]), 2
while i < len(d):
    assert d[i] == 0xFF
    marker, length = d[i + 1], int.from_bytes(d[i + 2:i + 4], "big")
    if marker == 0xDA:
        out += d[i:]
        break
    if marker != 0xC4:
        out += d[i:i + 2 + length]
    i += 2 + length
open("q422-no-dht.jpg", "wb").write(bytes(out))
open("q420-truncated.jpg", "wb").write(open("q420.jpg", "rb").read()[:1200])
PY
rm quadrants.ppm

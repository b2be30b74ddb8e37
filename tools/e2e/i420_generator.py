#!/usr/bin/python3
"""Writes I420 frames to standard output for rtcam's pipe sources (exec:, rpicam, stdin:).

Each frame carries rtcam's machine-readable time strip (Sources/Capture/TimestampStrip.swift:
the 64-bit word unixMs << 16 | frame, MSB first, black/white luma blocks, then the complement
bands) over a moving grey ramp, so a viewer that decodes the picture can tell when it was made.
Standard library only.

  i420_generator.py --size 640x480 --fps 30 [--frames N] [--y4m] [--stride BYTES]
                    [--exit-after N] [--exit-code C] [--half-frame] [--once-file PATH]

--exit-after N       exit (with --exit-code, default 3) after N frames
--once-file PATH     only when PATH does not exist yet (it is created): the next run streams on
--half-frame         write half a frame and exit
--pid-file PATH      write the process id to PATH
"""
import argparse
import os
import sys
import time


def strip_layout(width):
    bpr = 64
    while bpr >= 8 and width // bpr < 8:
        bpr //= 2
    if bpr < 8:
        return None
    return bpr, width // bpr, 16 if bpr == 64 else 8, 64 // bpr


def draw_strip(luma, stride, width, unix_ms, frame):
    layout = strip_layout(width)
    if layout is None:
        return
    bpr, bw, bh, bands = layout
    word = ((unix_ms & 0xFFFFFFFFFFFF) << 16) | (frame & 0xFFFF)
    white, black = b"\xeb" * bw, b"\x10" * bw
    for i in range(64):
        bit = (word >> (63 - i)) & 1
        x = (i % bpr) * bw
        band = i // bpr
        for y0, on in ((band * bh, bit), ((band + bands) * bh, 1 - bit)):
            block = white if on else black
            for row in range(y0, y0 + bh):
                o = row * stride + x
                luma[o:o + bw] = block


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--size", default="640x480")
    ap.add_argument("--fps", type=int, default=30)
    ap.add_argument("--frames", type=int, default=0, help="0: until killed")
    ap.add_argument("--y4m", action="store_true")
    ap.add_argument("--stride", type=int, default=0, help="bytes per luma row (padding); 0: the width")
    ap.add_argument("--exit-after", type=int, default=0)
    ap.add_argument("--exit-code", type=int, default=3)
    ap.add_argument("--half-frame", action="store_true")
    ap.add_argument("--once-file", default="")
    ap.add_argument("--pid-file", default="", help="write the process id here")
    a = ap.parse_args()
    if a.pid_file:
        with open(a.pid_file, "w") as f:
            f.write("%d\n" % os.getpid())
    w, h = (int(v) for v in a.size.lower().split("x"))
    stride = a.stride or w
    exit_after = a.exit_after
    if a.once_file:
        if os.path.exists(a.once_file):
            exit_after = 0
        else:
            open(a.once_file, "w").close()
    out = sys.stdout.buffer
    luma = bytearray(stride * h)
    chroma = bytes([128]) * ((stride // 2) * (h // 2))
    if a.y4m:
        out.write(b"YUV4MPEG2 W%d H%d F%d:1 Ip A1:1 C420jpeg\n" % (w, h, a.fps))
    if a.half_frame:
        out.write(bytes((len(luma) + 2 * len(chroma)) // 2))
        out.flush()
        return 0
    interval = 1.0 / a.fps
    start = time.monotonic()
    n = 0
    while a.frames == 0 or n < a.frames:
        if exit_after and n >= exit_after:
            out.flush()
            return a.exit_code
        # a ramp that moves one pixel per frame (row 0 of the ramp, repeated)
        row = bytes(((x + n) * 2) % 200 + 28 for x in range(stride))
        for y in range(h):
            luma[y * stride:(y + 1) * stride] = row
        draw_strip(luma, stride, w, time.time_ns() // 1_000_000, n)
        if a.y4m:
            out.write(b"FRAME\n")
        out.write(luma)
        out.write(chroma)
        out.write(chroma)
        out.flush()
        n += 1
        delay = start + n * interval - time.monotonic()
        if delay > 0:
            time.sleep(delay)
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except (BrokenPipeError, KeyboardInterrupt):
        sys.exit(0)

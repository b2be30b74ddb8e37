#!/usr/bin/python3
"""Check the `VMTEST-PROBE fmt=<FOURCC> rc=<exit> <json>` lines of a tools/vm-test console log.

Every expected format needs one line with exit code 0, a JSON object without an error, at least
--min-frames frames and a measured frame rate of at least --min-fps. Prints one line per format
and the reasons for any failure; exit code 0 only if every format passed.

With --mjpeg-sets (the MJPEG phase on v4l2loopback), each set S also needs a
`VMTEST-MJPEG-CAPTURE set=S rc=0 mjpegfeed-capture: PASS ...` line (the node delivered the
feeder's files byte for byte, independently of rtcam) and, unless --mjpeg-probe 0, a probe line
fmt=MJPG:S that passes the same checks with format MJPG and --mjpeg-min-fps, and reports
"damaged": 0. Its "dropped" is not checked: v4l2loopback resets every buffer's sequence number
to 0 when a reader calls REQBUFS, so the first frame's gap to the next counts as drops.
"""
import argparse
import json
import re
import sys

LINE = re.compile(r"VMTEST-PROBE fmt=(\S+) rc=(\d+) (.*)$")


def number(obj, *names):
    """The first of `names` present in obj (also looked up one level down, e.g. fps.measured)."""
    for name in names:
        cur = obj
        ok = True
        for part in name.split("."):
            if isinstance(cur, dict) and part in cur:
                cur = cur[part]
            else:
                ok = False
                break
        if ok and isinstance(cur, (int, float)) and not isinstance(cur, bool):
            return cur
    return None


def check(fmt, rc, text, min_frames, min_fps):
    problems = []
    try:
        obj = json.loads(text)
    except ValueError:
        return ["%s: probe printed no JSON line (got %r)" % (fmt, text[:200])]
    if not isinstance(obj, dict) or not obj:
        return ["%s: probe printed no JSON object (exit %d)" % (fmt, rc)]
    if rc != 0:
        problems.append("%s: probe exited with %d" % (fmt, rc))
    err = obj.get("error")
    if err not in (None, "", False):
        problems.append("%s: probe reported error %s" % (fmt, json.dumps(err)))
    frames = number(obj, "frames", "frames_captured", "captured")
    if frames is None or frames < min_frames:
        problems.append("%s: %s frames, need >= %d" % (fmt, frames, min_frames))
    fps = number(obj, "fps_measured", "measured_fps", "fps.measured")
    if fps is None or fps < min_fps:
        problems.append("%s: measured %s fps, need >= %g" % (fmt, fps, min_fps))
    got_fmt = obj.get("format") or obj.get("pixelformat") or obj.get("fourcc")
    want_fmt = fmt.split(":")[0]  # MJPG:422 is format MJPG fed with the 4:2:2 set
    if fmt != "default" and isinstance(got_fmt, str) and got_fmt.upper() != want_fmt.upper():
        problems.append("%s: probe captured format %s" % (fmt, got_fmt))
    if fmt.startswith("MJPG"):
        # every frame the feeder writes is a valid JPEG (4:2:0 or 4:2:2, half of them without DHT):
        # a frame the decoder rejects is a decoder bug, not a camera fault
        damaged = number(obj, "damaged")
        if damaged is None or damaged != 0:
            problems.append("%s: %s damaged (undecodable) frames, need 0" % (fmt, damaged))
    size = obj.get("size")
    if not isinstance(size, str) and "width" in obj and "height" in obj:
        size = "%sx%s" % (obj.get("width"), obj.get("height"))
    if size != "640x480":
        problems.append("%s: probe captured size %s, need 640x480" % (fmt, size))
    return problems


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("console")
    ap.add_argument("--formats", default="YUYV YU12 NV12")
    ap.add_argument("--min-frames", type=int, default=30)
    ap.add_argument("--min-fps", type=float, default=20.0)
    ap.add_argument("--mjpeg-sets", default="", help="e.g. '420 422': check the MJPEG phase too")
    ap.add_argument("--mjpeg-min-fps", type=float, default=20.0)
    ap.add_argument("--mjpeg-probe", default="1", help="0: only the capture checks, no MJPG probes")
    args = ap.parse_args()

    seen = {}
    logs = {}  # format -> the probe's stderr lines
    pending = []
    notes = []
    captures = {}  # MJPEG set -> (exit code, mjpegfeed capture line)
    with open(args.console, errors="replace") as fh:
        for raw in fh:
            line = raw.replace("\r", "").rstrip("\n")
            i = line.find("VMTEST-")
            if i < 0:
                continue
            line = line[i:]
            m = LINE.match(line)
            if m:
                seen[m.group(1)] = (int(m.group(2)), m.group(3).strip())
                logs[m.group(1)] = pending
                pending = []
            elif line.startswith("VMTEST-MJPEG-CAPTURE "):
                mc = re.match(r"VMTEST-MJPEG-CAPTURE set=(\S+) rc=(\d+) (.*)$", line)
                if mc:
                    captures[mc.group(1)] = (int(mc.group(2)), mc.group(3).strip())
            elif line.startswith("VMTEST-PROBE-SLOW "):
                print("vm-test: note: retried after a first attempt below the rate:", line[len("VMTEST-PROBE-SLOW "):])
            elif line.startswith("VMTEST-PROBE-LOG "):
                pending.append(line[len("VMTEST-PROBE-LOG "):])
            elif line.startswith(("VMTEST-NOPROBE", "VMTEST-NOFORMAT")):
                notes.append(line)
    problems = []
    for n in notes:
        print("vm-test: note:", n)
        if n.startswith("VMTEST-NOPROBE"):
            problems.append("the binary has no `rtcam probe` command")
        else:
            problems.append("`rtcam probe` has no --format option: cannot probe YUYV, YU12 and NV12 one by one")
    formats = args.formats.split()
    if "default" in seen and not any(f in seen for f in formats):
        formats = ["default"]
    min_fps = {f: args.min_fps for f in formats}
    for mset in args.mjpeg_sets.split():
        rc, text = captures.get(mset, (None, ""))
        ok = rc == 0 and text.startswith("mjpegfeed-capture: PASS ")
        print("vm-test: loopback capture %s %s %s" % (mset, "ok  " if ok else "FAIL", text or "(no line)"))
        if not ok:
            problems.append("MJPEG set %s: the loopback node did not deliver the feeder's frames (%s)" % (
                mset, text or "no VMTEST-MJPEG-CAPTURE line"))
        if args.mjpeg_probe != "0":
            formats.append("MJPG:" + mset)
            min_fps["MJPG:" + mset] = args.mjpeg_min_fps
    for fmt in formats:
        if fmt not in seen:
            problems.append("%s: no probe line in the console log" % fmt)
            continue
        rc, text = seen[fmt]
        p = check(fmt, rc, text, args.min_frames, min_fps[fmt])
        print("vm-test: probe %-4s %s %s" % (fmt, "ok  " if not p else "FAIL", text))
        if p:
            for err_line in logs.get(fmt, [])[-10:]:
                print("vm-test:   probe %s stderr: %s" % (fmt, err_line))
        problems.extend(p)
    for p in problems:
        print("vm-test: probe problem:", p)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())

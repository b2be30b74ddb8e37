#!/usr/bin/python3
"""Check the `VMTEST-PROBE fmt=<FOURCC> rc=<exit> <json>` lines of a tools/vm-test console log.

Every expected format needs one line with exit code 0, a JSON object without an error, at least
--min-frames frames and a measured frame rate of at least --min-fps. Prints one line per format
and the reasons for any failure; exit code 0 only if every format passed.
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
    if fmt != "default" and isinstance(got_fmt, str) and got_fmt.upper() != fmt.upper():
        problems.append("%s: probe captured format %s" % (fmt, got_fmt))
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
    args = ap.parse_args()

    seen = {}
    logs = {}  # format -> the probe's stderr lines
    pending = []
    notes = []
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
    for fmt in formats:
        if fmt not in seen:
            problems.append("%s: no probe line in the console log" % fmt)
            continue
        rc, text = seen[fmt]
        p = check(fmt, rc, text, args.min_frames, args.min_fps)
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

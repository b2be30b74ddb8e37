#!/usr/bin/env python3
"""tools/vm/check_encoder.py — checks of the memory-to-memory encoder path for tools/vm-test.

  check_encoder.py console CONSOLE_LOG --frames N
      the guest's VMTEST-ENCODER-* lines (tools/vm/init.sh): vicodec's stateful encoder node
      is listed by `rtcam probe --encoder` with FWHT and its controls; `rtcam probe --encoder
      v4l2m2m:NODE --codec fwht --frames N` put N frames in and took N coded frames out, with
      plausible sizes, keyframes at least every 16 frames (vicodec's largest GOP), the bitrate
      control refused and noted, a drain and a restart; the node unbound mid-stream ended the
      probe within 5 s with ENCODER_LOST.
  check_encoder.py status URL --name NAME [--fault CODE] [--reason TEXT]
      GET URL/status: encoder.name is NAME, encoder.fault is CODE (or null), and encoder.reason
      contains TEXT.
Prints one line per check ("vm-test: encoder <check> PASS|FAIL <detail>"); exit code 1 if any
failed.
"""
import json
import re
import sys
import urllib.request

failed = False


def check(name, ok, detail):
    global failed
    print(f"vm-test: encoder {name} {'PASS' if ok else 'FAIL'} {detail}")
    if not ok:
        failed = True


def line(console, tag):
    """(rest of the last `tag` line, its JSON object or None)."""
    text = open(console, encoding="utf-8", errors="replace").read().replace("\r", "")
    found = re.findall(rf"{tag} (.*)", text)
    if not found:
        return None, None
    rest = found[-1]
    brace = rest.find("{")
    try:
        obj = json.loads(rest[brace:]) if brace >= 0 else None
    except ValueError:
        obj = None
    return rest, obj


def console_checks(console, frames):
    dev, _ = line(console, "VMTEST-ENCODER-DEVICE")
    check("device", dev is not None and dev.startswith("/dev/video"), dev or "no VMTEST-ENCODER-DEVICE line")
    node = dev.split()[0] if dev else ""

    rest, listing = line(console, "VMTEST-ENCODER-LIST")
    entry = None
    if listing:
        entry = next((e for e in listing.get("encoders", []) if e.get("path") == node), None)
    ok = (rest is not None and rest.startswith("rc=0") and entry is not None and "FWHT" in entry.get("makes", [])
          and not entry.get("h264_encoder") and entry.get("multiplanar") is True and len(entry.get("controls", [])) >= 3
          and listing.get("auto") is None)
    detail = (f"{node}: makes {entry.get('makes')}, takes {len(entry.get('takes', []))} raw formats, "
              f"{len(entry.get('controls', []))} controls, auto {listing.get('auto')!r}" if entry else (rest or "no line")[:300])
    check("list", ok, detail)

    rest, p = line(console, "VMTEST-ENCODER-PROBE")
    if not p:
        check("stream", False, (rest or "no VMTEST-ENCODER-PROBE line")[:300])
    else:
        raw = 640 * 480 * 3 // 2
        # frames_in and _out count the 10 encoded after the drain and restart too
        want = frames + frames_after(p)
        ok = (rest.startswith("rc=0") and p.get("error") is None and p.get("frames_in") == want
              and p.get("frames_out") == want and p.get("codec") == "FWHT")
        check("stream", ok, f"{p.get('frames_in')} frames in, {p.get('frames_out')} out (want {want}), "
              f"encode p50 {p.get('encode_ms_p50')} ms p95 {p.get('encode_ms_p95')} ms, error {p.get('error')}")
        # FWHT is a header (44 bytes) and run-length coded blocks: a frame is more than its header
        # and at most the raw frame plus the header
        check("sizes", 64 < (p.get("bytes_min") or 0) <= (p.get("bytes_mean") or 0) <= (p.get("bytes_max") or 0) <= raw * 2,
              f"bytes min {p.get('bytes_min')} mean {p.get('bytes_mean')} max {p.get('bytes_max')} (raw frame {raw})")
        keys = p.get("keyframes") or 0
        check("keyframes", frames // 16 <= keys <= frames + frames_after(p),
              f"{keys} I-frames in {frames} (vicodec's GOP is at most 16)")
        refused = p.get("refused_controls") or []
        check("refused-control", any(r.startswith("bitrate") for r in refused), f"refused: {refused}")
        check("drain-restart", isinstance(p.get("drained"), int) and p.get("frames_after_restart") == 10,
              f"drained {p.get('drained')}, {p.get('frames_after_restart')} frames after the restart (want 10)")

    rest, v = line(console, "VMTEST-ENCODER-VANISH")
    m = re.match(r"rc=(\S+) ms=(\d+)", rest or "")
    code = (v or {}).get("error") or {}
    ok = m is not None and m.group(1) == "1" and int(m.group(2)) <= 5000 and code.get("code") == "ENCODER_LOST"
    check("vanish", ok, (f"rc={m.group(1)} after {m.group(2)} ms: {code.get('code')}: {code.get('message')}"
                         if m else (rest or "no VMTEST-ENCODER-VANISH line")[:300]))
    rest, _ = line(console, "VMTEST-ENCODER-NODE")
    check("rebind", bool(rest and rest.startswith("/dev/video")), f"node after the rebind: {rest!r}")


def frames_after(p):
    return p.get("frames_after_restart") or 0


def status_checks(url, name, fault, reason):
    try:
        with urllib.request.urlopen(url.rstrip("/") + "/status", timeout=10) as r:
            e = json.load(r).get("encoder", {})
    except (OSError, ValueError) as err:
        check("status", False, f"GET {url}/status: {err}")
        return
    ok = e.get("name") == name and e.get("fault") == fault and reason in (e.get("reason") or "")
    check("status", ok, f"encoder {e.get('name')!r} (want {name!r}), fault {e.get('fault')!r} (want {fault!r}), "
          f"reason {e.get('reason')!r}, fallbacks {e.get('fallbacks')}")


def main(argv):
    if len(argv) >= 2 and argv[0] == "console":
        frames = int(argv[argv.index("--frames") + 1]) if "--frames" in argv else 1800
        console_checks(argv[1], frames)
    elif len(argv) >= 2 and argv[0] == "status":
        def opt(n, d=None):
            return argv[argv.index(n) + 1] if n in argv else d
        status_checks(argv[1], opt("--name"), opt("--fault"), opt("--reason", ""))
    else:
        print(__doc__, file=sys.stderr)
        return 2
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

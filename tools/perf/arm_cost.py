#!/usr/bin/python3
"""tools/bench arm: instructions per frame on aarch64 and armv7, by stage, counted under qemu-user.

  arm_cost.py --plugin build/bench/insncount.so --clip build/bench/camera.y4m
              [--arches aarch64,armv7] [--presets speed,balanced,quality] [--frames 10,40]
              [--json OUT] [--markdown OUT] [--docs docs/performance.md]

No Pi is at hand, so the cost of rtcam's software path on one is modelled from instruction
counts. The device binaries (build/ARCH/rtcam.unstripped, static, not position-independent) run
`rtcam probe` on the camera-like 640x480 clip under Debian's dynamically linked qemu-user (the
static qemu-user-static cannot load plugins) with tools/perf/insncount.so, which counts the guest
instructions executed per address range. The ranges come from the linker's map
(build/ARCH/rtcam.map): every input section of the executable output sections is assigned to a
stage by where it came from (OpenH264, libjpeg-turbo, libsrtp2, mbedTLS, a Swift module, libc).

Each case runs twice, with F1 and F2 frames; (count(F2) - count(F1)) / (F2 - F1) is the count
per frame without the start and the end. The counts are deterministic up to a few hundred
instructions (the pacing of the clip's frames waits in the kernel, not in a loop), so they can be
budgeted like the binary's size.

The share of one core a Pi needs at 30 fps is instructions per second / (IPC x clock). The IPC
figures are assumptions, stated with each estimate: no Pi was measured here.
"""
import argparse
import datetime
import json
import os
import re
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench import cpu_model, replace_block  # noqa: E402

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
QEMU = {"aarch64": "qemu-aarch64", "armv7": "qemu-arm"}
# Output sections holding code (lld's map names them in the "Out" column).
CODE_SECTIONS = {".text", ".init", ".fini", ".plt", ".iplt"}
# tools/arm-budget fails when instructions per frame grow more than this over the budget: far
# above the counts' run-to-run spread (a few dozen instructions in millions), well below what a
# lost SIMD path or a new copy per frame costs.
BUDGET_TOLERANCE_PERCENT = 5
# The frame rate the shares are for: the rate rtcam is tuned to (README).
FPS = 30
# A probe run must end: 40 frames take a few seconds here; an encoder that lost its SIMD code
# (armv7 OpenH264 without NEON: 9 times the instructions) still ends well within this.
RUN_TIMEOUT_S = 900

# The Pis and the instructions per cycle assumed for each core on this kind of code (an H.264
# encoder whose hot loops are NEON, plus memory copies). They are assumptions, not measurements:
# the A53 is in-order and dual-issue (ARM Cortex-A53 TRM: two instructions per cycle at most,
# which streaming NEON and load/store-bound loops rarely keep up); the A72 is out-of-order,
# three-wide; the A76 four-wide. The figure in the middle of what each can issue, scaled down
# for cache misses on 640x480 frames, is what is used.
PIS = [
    # (name, core, clock Hz, IPC assumed, why)
    ("Zero 2 W", "Cortex-A53", 1.0e9, 0.8, "in-order, dual-issue at most 2/cycle (Cortex-A53 TRM)"),
    ("Pi 3B", "Cortex-A53", 1.2e9, 0.8, "in-order, dual-issue at most 2/cycle (Cortex-A53 TRM)"),
    ("Pi 4", "Cortex-A72", 1.5e9, 1.3, "out-of-order, 3-wide decode (Cortex-A72 TRM)"),
    ("Pi 5", "Cortex-A76", 2.4e9, 1.8, "out-of-order, 4-wide decode (Cortex-A76 TRM)"),
]

# The block of docs/performance.md the tables go into (tools/doc-check knows it).
BEGIN, END = "<!-- arm:begin -->", "<!-- arm:end -->"

MAP_LINE = re.compile(r"^\s*([0-9a-f]+)\s+[0-9a-f]+\s+([0-9a-f]+)\s+\d+ (\s*)(\S.*)$")


def stage_of(origin):
    """The stage an input section's origin (archive(member) or object path) belongs to."""
    for lib, stage in (("libopenh264.a(", "openh264"), ("libjpeg.a(", "libjpeg"), ("libsrtp2.a(", "srtp"),
                       ("libmbed", "mbedtls"), ("libc.a(", "libc"), ("libm.a(", "libc"), ("libgcc", "libc"),
                       ("libpthread", "libc"), ("crt", "libc")):
        if lib in origin:
            return stage
    m = re.search(r"/obj/([A-Za-z0-9_]+)\.o:", origin)
    if m:
        return "swift-" + m.group(1)
    if "/obj/" in origin:
        return "shims"
    return "runtime"


def ranges_from_map(path):
    """[(stage, start, end)] for every input section of the code output sections, neighbours of
    the same stage merged."""
    out, current = [], None
    with open(path) as f:
        for line in f:
            m = MAP_LINE.match(line)
            if not m:
                continue
            addr, size, indent, rest = int(m.group(1), 16), int(m.group(2), 16), len(m.group(3)), m.group(4)
            if indent == 0:
                current = rest.split()[0]
                continue
            if current not in CODE_SECTIONS or indent != 8 or size == 0:
                continue
            stage = stage_of(rest)
            if out and out[-1][0] == stage and out[-1][2] >= addr - 64:
                out[-1] = (stage, out[-1][1], max(out[-1][2], addr + size))
            else:
                out.append((stage, addr, addr + size))
    return out


def count(arch, binary, plugin, ranges_file, clip, preset, frames):
    with tempfile.NamedTemporaryFile("r", suffix=".counts") as out:
        cmd = [QEMU[arch], "-plugin", "%s,ranges=%s,out=%s" % (plugin, ranges_file, out.name), binary, "probe",
               "--source", "y4m:" + clip, "--frames", str(frames), "--preset", preset]
        r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=RUN_TIMEOUT_S)
        if r.returncode != 0:
            raise RuntimeError("%s exited %d: %s" % (" ".join(cmd), r.returncode, r.stderr.strip()[-400:]))
        counts = {}
        for line in out.read().splitlines():
            name, n = line.split()
            counts[name] = int(n)
        if "total" not in counts:
            raise RuntimeError("%s: the plugin wrote no counts" % " ".join(cmd))
        return counts, json.loads(r.stdout.strip().splitlines()[-1])


def measure(args):
    f1, f2 = (int(x) for x in args.frames.split(","))
    results = []
    for arch in args.arches.split(","):
        binary = os.path.join(ROOT, "build", arch, "rtcam.unstripped")
        ranges = ranges_from_map(os.path.join(ROOT, "build", arch, "rtcam.map"))
        with tempfile.NamedTemporaryFile("w", suffix=".ranges", delete=False) as rf:
            for stage, start, end in ranges:
                rf.write("%s %x %x\n" % (stage, start, end))
        try:
            for preset in args.presets.split(","):
                a, probe = count(arch, binary, args.plugin, rf.name, args.clip, preset, f1)
                b, _ = count(arch, binary, args.plugin, rf.name, args.clip, preset, f2)
                per = {k: (b.get(k, 0) - a.get(k, 0)) / (f2 - f1) for k in b}
                results.append({"arch": arch, "preset": preset, "frames": [f1, f2], "per_frame": per,
                                "probe": probe})
                print("arm: %s %s: %.1f M instructions per frame (OpenH264 %.1f M)" % (
                    arch, preset, per["total"] / 1e6, per.get("openh264", 0) / 1e6), file=sys.stderr)
        finally:
            os.unlink(rf.name)
    return results


def markdown(results):
    lines = ["Instructions per frame (640x480, camera-like clip, `rtcam probe` under qemu-user with "
             "tools/perf/insncount.so; millions; stages by the linker map):", ""]
    stages = sorted({k for r in results for k in r["per_frame"] if k != "total"},
                    key=lambda k: -max(r["per_frame"].get(k, 0) for r in results))
    shown = [s for s in stages if max(r["per_frame"].get(s, 0) for r in results) >= 0.05e6]
    lines.append("| arch | preset | total | " + " | ".join(shown) + " |")
    lines.append("|---|---|---|" + "---|" * len(shown))
    for r in results:
        p = r["per_frame"]
        lines.append("| %s | %s | %.1f | %s |" % (r["arch"], r["preset"], p["total"] / 1e6,
                                                   " | ".join("%.2f" % (p.get(s, 0) / 1e6) for s in shown)))
    lines += ["", "Estimated share of one core at %d fps (instructions per second / (IPC x clock); the IPC is "
              "assumed, not measured):" % FPS, ""]
    lines.append("| arch | preset | " + " | ".join("%s (%s %.1f GHz, IPC %.1f)" % (n, c, hz / 1e9, ipc)
                                                  for n, c, hz, ipc, _ in PIS) + " |")
    lines.append("|---|---|" + "---|" * len(PIS))
    for r in results:
        per_s = r["per_frame"]["total"] * FPS
        lines.append("| %s | %s | %s |" % (r["arch"], r["preset"], " | ".join(
            "%.0f %%" % (100 * per_s / (ipc * hz)) for _, _, hz, ipc, _ in PIS)))
    lines += ["", "IPC assumptions: " + "; ".join("%s: %.1f, %s" % (c, ipc, why) for _, c, _, ipc, why in
                                                  dict(((p[1], p) for p in PIS)).values()) + "."]
    return "\n".join(lines) + "\n"


def budget(results, args):
    """Checks (or writes) the instruction budget: the total per frame of each arch and preset."""
    got = {"%s/%s" % (r["arch"], r["preset"]): round(r["per_frame"]["total"]) for r in results}
    if args.write_budget:
        with open(args.write_budget, "w") as f:
            json.dump({"frames": args.frames, "tolerance_percent": BUDGET_TOLERANCE_PERCENT,
                       "instructions_per_frame": got}, f, indent=1, sort_keys=True)
            f.write("\n")
        print("arm: budget written to %s: %s" % (args.write_budget, got))
        return 0
    with open(args.check_budget) as f:
        want = json.load(f)
    if want.get("frames") != args.frames:
        print("arm: the budget was counted with frames %s, this run with %s" % (want.get("frames"), args.frames))
        return 1
    failed = 0
    for key, n in sorted(got.items()):
        limit = want["instructions_per_frame"].get(key)
        if limit is None:
            print("arm: %s has no budget in %s" % (key, args.check_budget))
            failed += 1
            continue
        over = 100.0 * (n - limit) / limit
        ok = over <= want["tolerance_percent"]
        print("arm: %s: %.2f M instructions per frame, budget %.2f M (%+.1f %%): %s" % (
            key, n / 1e6, limit / 1e6, over, "ok" if ok else "OVER (more than %d %%)" % want["tolerance_percent"]))
        failed += 0 if ok else 1
    return 1 if failed else 0


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--plugin", required=True)
    ap.add_argument("--clip", required=True)
    ap.add_argument("--arches", default="aarch64,armv7")
    ap.add_argument("--presets", default="speed,balanced,quality")
    ap.add_argument("--frames", default="10,40", help="the two run lengths F1,F2 (F2 > F1)")
    ap.add_argument("--json")
    ap.add_argument("--markdown")
    ap.add_argument("--docs", help="also write the tables into this file's arm block")
    ap.add_argument("--check-budget", metavar="FILE", help="exit 1 when a total per frame exceeds FILE's by more "
                    "than its tolerance")
    ap.add_argument("--write-budget", metavar="FILE", help="record the totals per frame as the budget")
    args = ap.parse_args()
    results = measure(args)
    if args.check_budget or args.write_budget:
        sys.exit(budget(results, args))
    text = markdown(results)
    print(text)
    if args.docs:
        versions = "; ".join("%s: %s" % (a, subprocess.run([QEMU[a], os.path.join(ROOT, "build", a, "rtcam"),
                                                            "--version"], stdout=subprocess.PIPE, text=True).stdout.strip())
                             for a in args.arches.split(","))
        head = "Written by `tools/bench arm` on %s, %s; %s; frames %s; presets %s." % (
            datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%MZ"), cpu_model(), versions,
            args.frames, args.presets)
        replace_block(args.docs, BEGIN, END, head + "\n\n" + text)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=1)
    if args.markdown:
        with open(args.markdown, "w") as f:
            f.write(text)


if __name__ == "__main__":
    main()

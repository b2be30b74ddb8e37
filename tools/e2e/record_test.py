"""Recording (--record) with real tools: FFmpeg 5.1's ffprobe on the segment files, kill -9, a full
tmpfs, retention, and headless Chromium playing a recording through the viewer page.

Steps (a failure names its step and prints rtcam's log tail):
  SEGMENTS   --record-segment 10 for ~25 s: every closed segment is H.264 640x480 and ffprobe
             counts 30 frames per second of its duration (10 to 12.5 s); GET /recordings lists each
             file with its size; GET /recordings/NAME.mp4 returns its bytes, a Range gets 206, a
             name of any other form 404
  KILL       kill -9 in the middle of a segment: every file still passes ffprobe; then the newest
             file is cut inside its last moof (a power cut) and rtcam started again cuts it back
             to its whole fragments, lists them all and goes on recording; a missing --record
             directory exits 2 (RECORD_DIR_MISSING)
  RETENTION  --record-max-bytes 1M: the oldest segments are deleted as new ones close
             (/status recording.deleted, the files gone)
  FULL       a 1.5 MB tmpfs (a mount namespace of rtcam's own): once it fills, /status says
             RECORD_DISK_FULL while a headless Chromium viewer keeps >= 27 fps on the live page
  PLAYBACK   headless Chromium opens the page, which lists the recordings; one plays in its
             <video> (640x480, its time advancing past 3 s, through Range requests)
Loopback only; every wait bounded.
"""
import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from rtcam_process import Rtcam, StepFailed, chromium, http  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def status(rt):
    code, _, body = http("GET", rt.base + "/status", timeout=5)
    if code != 200:
        raise StepFailed("STATUS", "GET /status answered %d" % code)
    return json.loads(body)


def recordings(rt):
    code, _, body = http("GET", rt.base + "/recordings", timeout=5)
    if code != 200:
        raise StepFailed("LISTING", "GET /recordings answered %d" % code)
    return json.loads(body)


def probe(path):
    p = subprocess.run(["ffprobe", "-v", "error", "-count_frames", "-show_entries",
                        "stream=codec_name,width,height,nb_read_frames", "-show_entries", "format=duration",
                        "-of", "json", path], capture_output=True, text=True, timeout=60)
    if p.returncode != 0:
        return None, p.stderr.strip()
    j = json.loads(p.stdout)
    s = j["streams"][0]
    return {"codec": s["codec_name"], "size": (s["width"], s["height"]), "frames": int(s["nb_read_frames"]),
            "duration": float(j["format"]["duration"])}, p.stderr.strip()


def segment_files(d):
    return sorted(f for f in os.listdir(d) if f.endswith(".mp4"))


def start(binary, name, d, extra, prefix=(), log_level="info"):
    rt = Rtcam(binary, name, log_level=log_level, extra=["--record", d] + list(extra), prefix=prefix)
    err = rt.start(20)
    if err:
        raise StepFailed("START", err)
    return rt


def step_segments(binary, d):
    rt = start(binary, "record-segments", d, ["--record-segment", "10"])
    try:
        time.sleep(25)
        st = status(rt)["recording"]
        listing = recordings(rt)
        files = segment_files(d)
        print("SEGMENTS: /status recording %s" % json.dumps({k: st[k] for k in ("state", "segment", "segments", "bytes")}))
        if st["state"] != "recording" or len(files) < 3:
            raise StepFailed("SEGMENTS", "state %s, %d files after 25 s" % (st["state"], len(files)))
        closed = files[:-1]
        for f in closed:
            info, err = probe(os.path.join(d, f))
            print("SEGMENTS %s: %s %s" % (f, info, err))
            if not info or info["codec"] != "h264" or info["size"] != (640, 480):
                raise StepFailed("SEGMENTS", "%s: %s %s" % (f, info, err))
            if not 10.0 <= info["duration"] <= 12.5:
                raise StepFailed("SEGMENTS", "%s lasts %.2f s, not 10 to 12.5" % (f, info["duration"]))
            if abs(info["frames"] - info["duration"] * 30) > 3:
                raise StepFailed("SEGMENTS", "%s has %d frames in %.2f s (30 fps expected)" % (f, info["frames"],
                                                                                               info["duration"]))
        byname = {e["name"]: e for e in listing}
        for f in closed:
            if f not in byname or byname[f]["bytes"] != os.path.getsize(os.path.join(d, f)):
                raise StepFailed("SEGMENTS", "GET /recordings: %s is %s, the file %d bytes" % (
                    f, byname.get(f), os.path.getsize(os.path.join(d, f))))
        code, _, body = http("GET", rt.base + "/recordings/" + closed[0], timeout=10)
        with open(os.path.join(d, closed[0]), "rb") as fh:
            whole = fh.read()
        code2, h2, part = http("GET", rt.base + "/recordings/" + closed[0], headers={"Range": "bytes=100-1099"})
        code3, _, _ = http("GET", rt.base + "/recordings/..%2F..%2Fetc%2Fpasswd")
        print("SEGMENTS: GET %s: %d, %d bytes (same as the file: %s); Range 100-1099: %d %s; a path: %d" % (
            closed[0], code, len(body), body == whole, code2, h2.get("content-range"), code3))
        if code != 200 or body != whole or code2 != 206 or part != whole[100:1100] or code3 != 404:
            raise StepFailed("SEGMENTS", "downloads do not match the files")
    finally:
        rt.stop()


def step_kill(binary, d):
    rt = start(binary, "record-kill", d, ["--record-segment", "10"])
    try:
        time.sleep(6.5)  # mid-segment
        os.kill(rt.pid, signal.SIGKILL)
        rt.proc.wait()
    finally:
        rt.stop()
    files = segment_files(d)
    for f in files:
        info, err = probe(os.path.join(d, f))
        if not info or info["frames"] < 1:
            raise StepFailed("KILL", "%s after kill -9: %s %s" % (f, info, err))
    last, _ = probe(os.path.join(d, files[-1]))
    print("KILL: after kill -9 at 6.5 s, all %d segments pass ffprobe (the cut one: %d frames, %.2f s)" % (
        len(files), last["frames"], last["duration"]))
    # a power cut: the newest file ends inside its last moof (a kill -9 cannot do that: the
    # kernel finishes a dead process's write)
    newest = os.path.join(d, files[-1])
    cut = last_moof_offset(newest) + 20
    with open(newest, "r+b") as fh:
        fh.truncate(cut)
    broken, _ = probe(newest)
    rt = start(binary, "record-kill-again", d, ["--record-segment", "10"])
    try:
        time.sleep(4)
        listed = [e["name"] for e in recordings(rt)]
        if not set(files) <= set(listed) or status(rt)["recording"]["state"] != "recording":
            raise StepFailed("KILL", "after a restart /recordings lists %s, the files were %s" % (listed, files))
        with open(rt.log_path) as fh:
            repaired = "cut back to its" in fh.read()
        fixed, err = probe(newest)
        print("KILL: a power cut simulated (%s cut 20 bytes into its last moof: ffprobe %s); started again, rtcam "
              "cut it back (%s): %s; it lists the %d earlier segments and records on" % (
                  files[-1], "fails" if broken is None else "reads it", repaired, fixed, len(files)))
        if not repaired or not fixed or fixed["frames"] < 1:
            raise StepFailed("KILL", "the cut segment was not repaired: %s %s" % (fixed, err))
    finally:
        rt.stop()
    # a directory that is not there: a clear error at start
    p = subprocess.run([binary, "--source", "testsrc", "--listen", "127.0.0.1", "--rtsp-port", "0", "--record",
                        os.path.join(d, "missing")], capture_output=True, text=True, timeout=20)
    print("KILL: --record on a missing directory: exit %d, %s" % (p.returncode, (p.stdout + p.stderr).strip()[-120:]))
    if p.returncode != 2 or "RECORD_DIR_MISSING" not in p.stdout + p.stderr:
        raise StepFailed("KILL", "a missing --record directory: exit %d" % p.returncode)


def last_moof_offset(path):
    """The offset of the file's last top-level moof box."""
    with open(path, "rb") as fh:
        data = fh.read()
    off, last = 0, None
    while off + 8 <= len(data):
        size = int.from_bytes(data[off:off + 4], "big")
        if data[off + 4:off + 8] == b"moof":
            last = off
        if size < 8:
            break
        off += size
    if last is None:
        raise StepFailed("KILL", "no moof in %s" % path)
    return last


def step_retention(binary, d):
    before = segment_files(d)
    rt = start(binary, "record-retention", d, ["--record-segment", "10", "--record-max-bytes", "1M"])
    try:
        deadline = time.time() + 30
        while time.time() < deadline:
            st = status(rt)["recording"]
            if st["deleted"] > 0 and before[0] not in segment_files(d):
                break
            time.sleep(0.5)
        else:
            raise StepFailed("RETENTION", "nothing deleted in 30 s: %s" % status(rt)["recording"])
        files = segment_files(d)
        closed = sum(os.path.getsize(os.path.join(d, f)) for f in files[:-1])
        print("RETENTION: --record-max-bytes 1M deleted %d segment(s) (the oldest first: %s gone); %d left, "
              "%d bytes closed" % (st["deleted"], before[0], len(files), closed))
        gone = [f for f in before if f not in files]
        if gone != before[:len(gone)]:
            raise StepFailed("RETENTION", "deleted %s, not the oldest first" % gone)
    finally:
        rt.stop()


FRAMES_JS = """const v = document.getElementById('video');
  const q = v.getVideoPlaybackQuality(); return [q.totalVideoFrames, v.videoWidth, window.rtcam.state];"""


def step_full(binary):
    d = tempfile.mkdtemp(prefix="rtcam-full-")
    wrap = ["unshare", "-m", "sh", "-c", 'mount -t tmpfs -o size=1500k rtcam-full "$0" && exec "$@"', d]
    rt = start(binary, "record-full", d, ["--record-segment", "10", "--source", "testsrc"], prefix=wrap)
    driver = None
    try:
        driver = chromium()
        driver.get(rt.base + "/")
        deadline = time.time() + 40
        code = None
        while time.time() < deadline:
            code = status(rt)["recording"]["error"]
            if code:
                break
            time.sleep(0.5)
        if code != "RECORD_DISK_FULL":
            raise StepFailed("FULL", "no RECORD_DISK_FULL in /status within 40 s: %s" % status(rt)["recording"])
        f0, w, state = driver.execute_script("return (function(){%s})()" % FRAMES_JS)
        time.sleep(5)
        f1, w, state = driver.execute_script("return (function(){%s})()" % FRAMES_JS)
        fps = (f1 - f0) / 5.0
        st = status(rt)["recording"]
        print("FULL: /status recording %s: %s; the Chromium viewer decoded %.1f fps meanwhile (%s, width %d)" % (
            st["state"], st["error"], fps, state, w))
        if fps < 27 or w != 640:
            raise StepFailed("FULL", "the live viewer got %.1f fps while the disk was full" % fps)
    finally:
        if driver is not None:
            driver.quit()
        rt.stop()
        shutil.rmtree(d, ignore_errors=True)


def step_playback(binary, d):
    rt = start(binary, "record-playback", d, ["--record-segment", "10"], log_level="debug")
    driver = None
    try:
        # a closed segment of at least 5 s to play (on a fresh directory, the first one closes
        # after 10 s)
        deadline = time.time() + 20
        closed = []
        while time.time() < deadline and not closed:
            listing = recordings(rt)
            closed = [e["name"] for e in listing[:-1] if e["duration"] >= 5]
            time.sleep(0.5)
        if not closed:
            raise StepFailed("PLAYBACK", "no closed segment of 5 s to play: %s" % listing)
        driver = chromium()
        driver.get(rt.base + "/")
        deadline = time.time() + 10
        names = []
        while time.time() < deadline and not names:
            names = driver.execute_script("return (window.rtcam.recordings || []).map(r => r.name)")
            time.sleep(0.3)
        shown = driver.execute_script("return getComputedStyle(document.getElementById('recbtn')).display")
        if not names or shown == "none":
            raise StepFailed("PLAYBACK", "the page lists no recordings (button %s)" % shown)
        name = closed[0]
        if name not in names:
            raise StepFailed("PLAYBACK", "the page does not list %s: %s" % (name, names))
        driver.execute_script("window.rtcam.playRecording(arguments[0])", name)
        deadline = time.time() + 20
        info = None
        while time.time() < deadline:
            info = driver.execute_script("""const p = document.getElementById('playback');
              return {t: p.currentTime, w: p.videoWidth, h: p.videoHeight, err: p.error && p.error.message,
                      frames: p.getVideoPlaybackQuality().totalVideoFrames};""")
            if info["t"] > 3 and info["w"] == 640:
                break
            time.sleep(0.3)
        driver.save_screenshot(os.path.join(ROOT, "build", "e2e", "record-playback.png"))
        print("PLAYBACK: the page lists %d recordings; %s plays: %s" % (len(names), name, info))
        if not info or info["t"] <= 3 or (info["w"], info["h"]) != (640, 480):
            raise StepFailed("PLAYBACK", "Chromium did not play %s: %s" % (name, info))
        with open(rt.log_path) as f:
            log = f.read()
        gets = log.count("GET /recordings/%s → 206" % name) + log.count("GET /recordings/%s → 200" % name)
        print("PLAYBACK: Chromium fetched it in %d request(s) (%d with a Range: 206)" % (
            gets, log.count("GET /recordings/%s → 206" % name)))
        if gets == 0:
            raise StepFailed("PLAYBACK", "no GET of the file in the log")
    finally:
        if driver is not None:
            driver.quit()
        rt.stop()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--binary", required=True)
    ap.add_argument("--only", help="comma-separated steps (segments,kill,retention,full,playback)")
    a = ap.parse_args()
    steps = (a.only or "segments,kill,playback,retention,full").split(",")
    d = tempfile.mkdtemp(prefix="rtcam-record-")
    t0 = time.time()
    try:
        for s in steps:
            {"segments": lambda: step_segments(a.binary, d), "kill": lambda: step_kill(a.binary, d),
             "retention": lambda: step_retention(a.binary, d), "full": lambda: step_full(a.binary),
             "playback": lambda: step_playback(a.binary, d)}[s]()
    except (StepFailed, subprocess.TimeoutExpired, OSError, KeyError) as e:
        print("FAIL %s" % e)
        for name in ("record-segments", "record-kill", "record-kill-again", "record-retention", "record-full",
                     "record-playback"):
            p = os.path.join(ROOT, "build", "e2e", name + ".rtcam.log")
            if os.path.exists(p) and os.path.getmtime(p) >= t0:
                with open(p) as f:
                    print("---- %s (tail)\n%s" % (name, "".join(f.readlines()[-12:])))
        return 1
    finally:
        shutil.rmtree(d, ignore_errors=True)
    print("PASS: recording (%.0f s)" % (time.time() - t0))
    return 0


if __name__ == "__main__":
    sys.exit(main())

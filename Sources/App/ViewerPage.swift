/// The single-page viewer served at `GET /`. It posts the offer at once (no waiting for ICE
/// gathering: rtcam is ICE-lite and needs no browser candidates), plays muted and inline,
/// shows the connection state in plain words, reconnects with backoff, and goes fullscreen on
/// click. Without H.264 it shows /stream.mjpg instead. `window.rtcam` exposes the state for
/// tests and curious people.
public let viewerPageHTML = #"""
<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>rtcam</title>
<style>
  html, body { margin: 0; height: 100%; background: #111; color: #eee; font: 15px/1.4 system-ui, sans-serif; }
  #stage { position: fixed; inset: 0; display: flex; align-items: center; justify-content: center; }
  video { max-width: 100%; max-height: 100%; background: #000; cursor: zoom-in; }
  #bar { position: fixed; left: 0; right: 0; bottom: 0; padding: 6px 10px; background: rgba(0,0,0,.55);
         display: flex; gap: 14px; align-items: center; font-size: 13px; }
  #dot { width: 10px; height: 10px; border-radius: 50%; background: #777; flex: none; }
  #dot.live { background: #3c3; } #dot.wait { background: #e90; } #dot.bad { background: #e33; }
  #error { color: #f88; } #stats { margin-left: auto; color: #aaa; font-variant-numeric: tabular-nums; }
  #recbtn { display: none; background: none; border: 1px solid #666; color: #eee; border-radius: 4px; cursor: pointer; }
  #recs { display: none; position: fixed; right: 10px; bottom: 40px; max-height: 60%; overflow: auto; padding: 8px 12px;
          background: rgba(0,0,0,.8); border-radius: 6px; font-size: 13px; }
  #recs a { color: #9cf; display: block; } #playback { display: none; position: fixed; inset: 0 0 34px 0; margin: auto;
          max-width: 100%; max-height: calc(100% - 34px); background: #000; }
</style>
</head>
<body>
<div id="stage"><video id="video" autoplay muted playsinline></video></div>
<video id="playback" controls playsinline></video>
<div id="recs"></div>
<div id="bar"><span id="dot"></span><span id="state">Starting…</span><span id="error"></span><span id="stats"></span><button id="recbtn">Recordings</button></div>
<script>
"use strict";
// Requests go to the origin, never to a URL with user:password in it (as when the page was opened
// as http://user:pass@camera/): fetch refuses those, and the browser sends the login it has.
const api = (path) => new URL(path, location.origin).href;
const video = document.getElementById("video");
const stateEl = document.getElementById("state");
const errorEl = document.getElementById("error");
const dot = document.getElementById("dot");
const statsEl = document.getElementById("stats");
const rtcam = window.rtcam = { state: "starting", error: "", session: null, attempts: 0, connectedAt: 0 };
let pc = null, sessionUrl = null, retryTimer = null, backoff = 1000;

function show(state, words, cls) {
  rtcam.state = state; stateEl.textContent = words; dot.className = cls || "";
}
function showError(text) { rtcam.error = text; errorEl.textContent = text; }

async function hangUp() {
  if (pc) { pc.ontrack = null; pc.onconnectionstatechange = null; pc.close(); pc = null; }
  if (sessionUrl) { const u = sessionUrl; sessionUrl = null; fetch(u, { method: "DELETE", keepalive: true, credentials: "same-origin" }).catch(() => {}); }
}

function scheduleRetry(reason) {
  if (retryTimer) return;
  hangUp();
  const wait = backoff;
  backoff = Math.min(backoff * 2, 15000);
  show("waiting", reason + " — retrying in " + Math.round(wait / 1000) + " s", "bad");
  retryTimer = setTimeout(() => { retryTimer = null; connect(); }, wait);
}

// Without H.264 (Firefox without its OpenH264 plugin, offline or locked down) the page shows
// /stream.mjpg instead, reloaded after an error, with one line saying why.
function mjpeg(why) {
  hangUp();
  const img = document.createElement("img");
  img.id = "mjpeg"; img.alt = "camera"; img.style.cssText = "max-width:100%;max-height:100%";
  img.onerror = () => setTimeout(() => { img.src = api("/stream.mjpg?t=" + Date.now()); }, 2000);
  img.src = api("/stream.mjpg");
  video.replaceWith(img);
  rtcam.mjpeg = true;
  show("mjpeg", "MJPEG: " + why, "live");
}

async function connect() {
  const caps = window.RTCRtpReceiver && RTCRtpReceiver.getCapabilities && RTCRtpReceiver.getCapabilities("video");
  if (caps && !caps.codecs.some((c) => /h264/i.test(c.mimeType))) return mjpeg("this browser has no H.264 video");
  rtcam.attempts++;
  showError("");
  show("connecting", "Connecting…", "wait");
  pc = new RTCPeerConnection({ bundlePolicy: "max-bundle" });
  const tr = pc.addTransceiver("video", { direction: "recvonly" });
  if ("jitterBufferTarget" in tr.receiver) { try { tr.receiver.jitterBufferTarget = 0; } catch (e) {} }
  pc.ontrack = (ev) => {
    const stream = ev.streams && ev.streams[0] ? ev.streams[0] : new MediaStream([ev.track]);
    video.srcObject = stream;
    video.play().catch(() => {});
  };
  const thisPc = pc;
  pc.onconnectionstatechange = () => {
    if (pc !== thisPc) return;
    const s = pc.connectionState;
    if (s === "connected") { backoff = 1000; rtcam.connectedAt = Date.now(); show("connected", "Live", "live"); }
    else if (s === "connecting") show("connecting", "Connecting…", "wait");
    else if (s === "disconnected") show("disconnected", "Connection interrupted — waiting…", "wait");
    else if (s === "failed") scheduleRetry("Connection lost");
    else if (s === "closed") scheduleRetry("Connection closed");
  };
  try {
    const offer = await pc.createOffer();
    await pc.setLocalDescription(offer);
    // No waiting for ICE gathering: the camera is ICE-lite and needs no candidates from us.
    const res = await fetch(api("/whep"), { method: "POST", credentials: "same-origin", headers: { "Content-Type": "application/sdp" }, body: pc.localDescription.sdp });
    const text = await res.text();
    if (!res.ok) {
      let msg = "HTTP " + res.status, code = "";
      try { const j = JSON.parse(text); msg = j.message || j.error || msg; code = j.error; } catch (e) {}
      if (code === "NO_H264") return mjpeg("this browser offered no H.264 video");
      showError(msg);
      if (res.status >= 400 && res.status < 500 && res.status !== 429 && res.status !== 408) {
        show("error", "The camera refused this browser", "bad");
        hangUp();
        return;
      }
      throw new Error(msg);
    }
    const loc = res.headers.get("Location");
    sessionUrl = loc ? api(loc) : null;
    rtcam.session = sessionUrl;
    await pc.setRemoteDescription({ type: "answer", sdp: text });
    for (const r of pc.getReceivers()) {
      if ("jitterBufferTarget" in r) { try { r.jitterBufferTarget = 0; } catch (e) {} }
    }
  } catch (e) {
    showError(String(e && e.message ? e.message : e));
    scheduleRetry("Camera not reachable");
  }
}

video.addEventListener("click", () => {
  if (document.fullscreenElement) document.exitFullscreen();
  else if (video.requestFullscreen) video.requestFullscreen().catch(() => {});
  else if (video.webkitEnterFullscreen) video.webkitEnterFullscreen();
});
window.addEventListener("pagehide", hangUp);

let lastFrames = 0, lastT = performance.now(), lastProgress = Date.now();
// The bitrate received, from the inbound video stream's byte count (getStats, once a second).
let lastBytes = 0, lastBytesT = 0, kbps = null;
async function sampleBitrate() {
  if (!pc) return;
  try {
    const stats = await pc.getStats();
    stats.forEach((s) => {
      if (s.type !== "inbound-rtp" || s.kind !== "video") return;
      if (lastBytesT && s.timestamp > lastBytesT && s.bytesReceived >= lastBytes)
        kbps = (s.bytesReceived - lastBytes) * 8 / (s.timestamp - lastBytesT);
      lastBytes = s.bytesReceived; lastBytesT = s.timestamp;
    });
  } catch (e) {}
}
setInterval(() => {
  sampleBitrate();
  const q = video.getVideoPlaybackQuality ? video.getVideoPlaybackQuality() : null;
  const frames = q ? q.totalVideoFrames : 0;
  const now = performance.now();
  const fps = (frames - lastFrames) * 1000 / (now - lastT);
  if (frames !== lastFrames) lastProgress = Date.now();
  lastFrames = frames; lastT = now;
  rtcam.frames = frames; rtcam.width = video.videoWidth; rtcam.height = video.videoHeight;
  rtcam.kbps = kbps;
  if (video.videoWidth) statsEl.textContent = video.videoWidth + "×" + video.videoHeight + " · " + fps.toFixed(0) + " fps"
    + (kbps !== null ? " · " + kbps.toFixed(0) + " kbit/s" : "");
  // A stream that stops (camera gone, rtcam restarted, network change) is re-negotiated
  // instead of waiting for ICE consent to run out.
  const live = rtcam.state === "connected" || rtcam.state === "disconnected";
  if (live && Date.now() - Math.max(lastProgress, rtcam.connectedAt) > 6000) {
    scheduleRetry(frames === 0 ? "No picture" : "The picture stopped");
    // Say why, when the camera itself is the problem.
    fetch(api("/status"), { credentials: "same-origin" }).then((r) => r.json()).then((st) => {
      if (st.source && st.source.state === "failed") showError("Camera: " + (st.source.message || st.source.error));
    }).catch(() => {});
  }
}, 1000);

// Recordings (with --record): the button lists GET /recordings, newest first; a click plays one
// in a player of its own over the live picture, "Live" goes back.
const recBtn = document.getElementById("recbtn"), recsEl = document.getElementById("recs");
const playback = document.getElementById("playback");
rtcam.recordings = [];
rtcam.playRecording = (name) => {
  playback.src = api("/recordings/" + encodeURIComponent(name));
  playback.style.display = "block"; recsEl.style.display = "none"; recBtn.textContent = "Live";
  playback.play().catch(() => {});
};
async function listRecordings() {
  try {
    const r = await fetch(api("/recordings"), { credentials: "same-origin" });
    if (!r.ok) return;
    rtcam.recordings = await r.json();
    recBtn.style.display = "inline-block";
  } catch (e) {}
}
recBtn.onclick = async () => {
  if (playback.style.display === "block") {
    playback.pause(); playback.removeAttribute("src"); playback.load();
    playback.style.display = "none"; recBtn.textContent = "Recordings"; return;
  }
  if (recsEl.style.display === "block") { recsEl.style.display = "none"; return; }
  await listRecordings();
  recsEl.textContent = "";
  for (const r of rtcam.recordings.slice().reverse()) {
    const a = document.createElement("a");
    a.href = "#"; a.textContent = r.start.replace("T", " ").replace("Z", " UTC") + " · " + Math.round(r.duration) + " s · "
      + (r.bytes / 1048576).toFixed(1) + " MB";
    a.onclick = (e) => { e.preventDefault(); rtcam.playRecording(r.name); };
    recsEl.appendChild(a);
  }
  if (!rtcam.recordings.length) recsEl.textContent = "No recordings yet";
  recsEl.style.display = "block";
};
listRecordings();

connect();
</script>
</body>
</html>
"""#

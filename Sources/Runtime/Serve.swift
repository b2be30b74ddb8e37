// `rtcam serve`: creates the identity, binds the sockets, starts the capture thread and runs
// the network loop.
import App
import CRTCam
import Capture
import DTLS
import Record
import Encoder
import HTTP
import ICE
import Peer
import SDP
import SRTP
import Synchronization
import Wire

/// The largest encoded frame the capture side hands over (a frame ring slot): far above any
/// 640x480 (or 1080p) keyframe at the bitrates rtcam allows.
let frameSlotBytes = 1 << 20

/// `rtcam serve`: binds the sockets, starts the capture thread, runs the network loop until
/// SIGINT/SIGTERM. Returns the exit code (2 for bad settings, 1 when something cannot start).
public func serve(_ o: ServeOptions) -> Int32 {
  setLogThreshold(o.logLevel)
  rtc_ignore_sigpipe()
  do { return try runServer(o) } catch {
    log(.error, error.message)
    return error.exitCode
  }
}

func runServer(_ o: ServeOptions) throws(StartupFailure) -> Int32 {
  let now0 = rtc_monotonic_ns()
  let identity = try makeIdentity(o)
  if let dir = o.recordDir { try checkRecordDirectory(dir) }
  let net = try bindSockets(o, https: identity.tls != nil)
  let candidates = try iceCandidates(o, v6: net.v6)
  let pipes = try makeWakePipes()
  let spec = try chooseSource(o)
  let shared = CaptureShared(ring: FrameRing(slots: 8, slotCapacity: frameSlotBytes), wakeFd: pipes.wake.write,
    stillOptions: o.stills, temporalLayers: o.temporalLayers, encoder: o.encoder)
  var source = SourceStatus(spec: spec.description, format: SourceFormat(width: o.width, height: o.height, fps: o.fps),
    bitrate: o.bitrate)
  try startSource(spec, o, shared: shared, status: &source)
  logStartup(o, net: net, candidates: candidates, spec: spec, format: source.format, https: identity.tls != nil)
  let forwards: (cores: [Forwarder], sockets: [(rtp: Int32, rtcp: Int32)])
  do { forwards = try openForwards(o.forward, temporalLayers: o.temporalLayers, random: identity.random, now: rtc_monotonic_ns()) } catch {
    throw StartupFailure(exitCode: error.exitCode, message: error.message)
  }
  for f in forwards.cores {
    let t = f.target
    log(.info, "forwarding to \(t.url) (RTCP port \(t.rtcpPort), H.264 payload type \(f.config.payloadType)" + (t.secure ? ", SRTP AES_CM_128_HMAC_SHA1_80)" : ")"))
  }
  let core = ServerCore(options: o, certificate: identity.certificate, random: identity.random, candidates: candidates,
    forwards: forwards.cores, source: source, startedUnixNs: rtc_realtime_ns(), maxFrameBytes: frameSlotBytes, now: now0)
  var sockets = LoopSockets(http: net.http, udp: net.udp, udpIsV6: net.v6, wake: pipes.wake.read, stop: pipes.stop.read,
    https: net.https)
  sockets.forwards = forwards.sockets
  sockets.rtsp = net.rtsp
  sockets.rtspRtp = net.rtspRtp
  sockets.rtspRtcp = net.rtspRtcp
  let loop = EventLoop(io: SystemIO(), core: core, sockets: sockets, shared: shared, tls: identity.tls)
  // under systemd (Type=notify): ready once every socket is bound; the loop pings the watchdog
  let notifier = ServiceNotifier()
  if let n = notifier {
    n.ready(status: "serving on HTTP port " + String(o.httpPort) + ", source " + spec.description)
    if let i = n.policy.pingIntervalNs { log(.info, "systemd watchdog: a ping every " + String(Int(i / 1_000_000)) + " ms") }
  }
  loop.notifier = notifier
  if let dir = o.recordDir {
    let r = RecordThread(dir: dir, config: o.recording)
    guard r.start() else { throw StartupFailure(exitCode: 1, message: "THREAD_FAILED: cannot start the recording thread") }
    loop.recorder = r
  }
  loop.run()
  loop.recorder?.stop()
  notifier?.stopping()
  stopSource(spec, shared: shared)
  log(.info, "stopped")
  return 0
}

/// The source to serve: --source, or without it the first usable camera, else the test pattern.
func chooseSource(_ o: ServeOptions) throws(StartupFailure) -> SourceSpec {
  let defaultSource = defaultSourceSpec()
  if o.source == nil { log(.info, defaultSource.note) }
  let specText = o.source ?? defaultSource.spec
  guard let spec = SourceSpec.parse(specText) else { throw StartupFailure(exitCode: 2, message: "BAD_SOURCE: '\(specText)'") }
  return spec
}

/// Starts the capture thread for `spec` (a Y4M file's own format goes into `status`). A source
/// that fails at once is reported as its state; only a thread that cannot start fails start-up.
func startSource(_ spec: SourceSpec, _ o: ServeOptions, shared: CaptureShared, status: inout SourceStatus)
  throws(StartupFailure)
{
  var started = true
  let settings = EncoderSettings(width: o.width, height: o.height, fps: o.fps, bitrate: o.bitrate, preset: o.preset)
  switch spec {
  case .testPattern:
    let src = TestPattern(width: o.width, height: o.height, fps: o.fps)
    started = startCapture(Transfer(src), settings: settings, shared: shared)
  case .y4m(let path):
    do {
      let src = try Y4MSource(path: path)
      status.format = SourceFormat(width: src.width, height: src.height, fps: src.fps)
      var s = settings
      s.width = src.width
      s.height = src.height
      s.fps = src.fps
      started = startCapture(Transfer(src), settings: s, shared: shared)
    } catch {
      shared.source.publish(.failed(.capture(error)))
    }
  case .v4l2(let dev):
    // V4L2: the camera thread opens (and keeps reopening) the device itself
    started = startCameraCapture(device: dev, options: o, shared: shared)
  case .exec(let command):
    let argv = (try? splitCommandLine(command)) ?? []  // SourceSpec.parse accepted it
    started = startProcessCapture(name: spec.description, argv: argv, options: o, rawLumaStride: nil, shared: shared)
  case .rpicam:
    let argv = rpicamCommand(width: o.width, height: o.height, fps: o.fps, extra: o.rpicamArgs)
    let stride = rpicamLumaStride(width: o.width, pisp: runsOnPiSP())
    log(.info, "rpicam: running " + argv.joined(separator: " "))
    if stride != o.width {
      log(.warn, "rpicam: width \(o.width) is not a multiple of 128: reading rows padded to \(stride) bytes, as this Pi's ISP writes them (a width that is a multiple of 128 needs no padding)")
    }
    started = startProcessCapture(name: "rpicam", argv: argv, options: o, rawLumaStride: stride, shared: shared)
  case .stdin:
    started = startStdinCapture(options: o, shared: shared)
  }

  guard started else { throw StartupFailure(exitCode: 1, message: "THREAD_FAILED: cannot start the capture thread") }
}

/// Stops the capture side: a source program gets SIGTERM, then SIGKILL after 2 s, and is reaped
/// before rtcam exits.
func stopSource(_ spec: SourceSpec, shared: CaptureShared) {
  shared.stop()
  switch spec {
  case .exec, .rpicam:
    if !shared.waitForCaptureEnd(upToNs: 6_000_000_000) { log(.warn, "the source program did not stop in time") }
  default: break
  }
}

func logStartup(_ o: ServeOptions, net: BoundSockets, candidates: [SocketAddress], spec: SourceSpec, format f: SourceFormat,
                https: Bool) {
  let shownHost = o.iceHosts.first ?? candidates.first?.ipString ?? "localhost"
  let urlHost = shownHost.utf8.contains(UInt8(ascii: ":")) ? "[" + shownHost + "]" : shownHost
  log(.info, "rtcam \(rtcamVersion) (\(buildArch)): HTTP on \(net.listenText) port \(o.httpPort), media on UDP port \(o.udpPort)")
  log(.info, "ICE host candidates: " + candidates.map { $0.description }.joined(separator: ", "))
  log(.info, "source \(spec.description), \(f.width)x\(f.height) at \(f.fps) fps, \(o.bitrate / 1000) kbit/s H.264, preset \(o.preset.name)")
  log(.info, "watch at http://\(urlHost):\(o.httpPort)/")
  if https {
    log(.info, "HTTPS on \(net.listenText) port \(o.httpsPort)" + (o.redirectHTTP ? "; HTTP redirects to it" : ""))
    log(.info, "watch at https://\(urlHost):\(o.httpsPort)/")
  }
  if o.rtsp.port > 0 {
    log(.info, "RTSP at rtsp://\(urlHost):\(o.rtsp.port)/stream (TCP port \(o.rtsp.port); UDP clients get RTP from port "
      + "\(o.rtsp.port) and RTCP from \(o.rtsp.port + 1))")
    if o.auth.isEnabled && o.auth.users.isEmpty {
      log(.warn, "RTSP players cannot send a token: with --token and no --auth user, RTSP refuses them all")
    }
  }
}

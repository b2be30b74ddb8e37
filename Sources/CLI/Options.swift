import App
import Capture
import Encoder
import Runtime
import Wire

/// What `rtcam` was asked to do.
public enum Command: Equatable, Sendable {
  case serve(ServeOptions)
  /// `rtcam probe ...` (Probe.swift).
  case probe(ProbeOptions)
  /// `rtcam devices [--json]` (Probe.swift).
  case devices(json: Bool)
  /// `rtcam passwd USER [--iterations N]`: reads a password on stdin, prints an auth-file line.
  case passwd(user: String, iterations: Int)
  case help
  case version
}

public struct OptionError: Error, Equatable, Sendable {
  public var message: String
  public init(_ message: String) { self.message = message }
}

/// Parses the command line (without the program name). Errors name the offending option.
/// `config` is the text of the `--config` file (ConfigFile.swift), read by the caller: its lines
/// come first and the command line overrides them.
public func parseCommandLine(_ args: [String], config: ConfigFile? = nil) throws(OptionError) -> Command {
  // V4L2 tools: `probe` and `devices` have their own options (Probe.swift)
  if args.first == "probe" {
    if args.contains("--help") || args.contains("-h") { return .help }
    return .probe(try parseProbeOptions(Array(args.dropFirst())))
  }
  if args.first == "devices" { return .devices(json: try parseDevicesOptions(Array(args.dropFirst()))) }
  if args.first == "passwd" { return try parsePasswdOptions(Array(args.dropFirst())) }
  let (commandLine, configPath) = try splitConfigOption(args)
  if asksForHelpOrVersion(commandLine) { return try parseServeArguments(commandLine, origins: []) }
  if let path = configPath, config == nil { throw OptionError("--config \(path) was not read") }
  guard let config else { return try parseServeArguments(commandLine, origins: []) }
  let merged = try mergeConfig(config, commandLine: commandLine)
  return try parseServeArguments(merged.args, origins: merged.origins)
}

/// The serve options; `origins[i]`, when present and not nil, is the `file:line` that argument
/// came from, and errors about it start with that.
func parseServeArguments(_ args: [String], origins: [String?]) throws(OptionError) -> Command {
  func origin(_ index: Int) -> String? { index < origins.count ? origins[index] : nil }
  /// Where each option was last set, when that was a config file line (for the checks at the end).
  var setAt: [String: String] = [:]
  func from(_ names: [String]) -> String {
    for n in names { if let at = setAt[n] { return at + ": " } }
    return ""
  }
  var o = ServeOptions()
  var tlsCert: String? = nil
  var tlsKey: String? = nil
  var i = 0
  var sawServe = false
  func value(_ name: String) throws(OptionError) -> String {
    guard i + 1 < args.count else { throw OptionError("option \(name) needs a value") }
    i += 1
    return args[i]
  }
  func number(_ name: String, _ text: String, _ range: ClosedRange<Int>) throws(OptionError) -> Int {
    guard let n = parseDecimal(text), range.contains(n) else {
      throw OptionError("\(name) must be a whole number from \(range.lowerBound) to \(range.upperBound), not '\(text)'")
    }
    return n
  }
  while i < args.count {
    var arg = args[i]
    var inline: String? = nil
    if arg.hasPrefix("--"), let eq = arg.utf8.firstIndex(of: UInt8(ascii: "=")) {
      inline = String(arg[arg.index(after: eq)...])
      arg = String(arg[..<eq])
    }
    func val() throws(OptionError) -> String {
      if let v = inline { return v }
      return try value(arg)
    }
    let at = origin(i)
    if let at { setAt[arg] = at } else { setAt[arg] = nil }
    do throws(OptionError) {
      switch arg {
      case "-h", "--help", "help": return .help
      case "-V", "--version", "version": return .version
      case "serve":
        guard !sawServe, i == 0 else { throw OptionError("'serve' must come first") }
        sawServe = true
      case "--source": o.source = try sourceOption(try val())
      case "--rpicam-args": o.rpicamArgs = try rpicamArgsOption(try val())
      case "--size": (o.width, o.height) = try sizeOption(try val())
      case "--fps": o.fps = try fpsOption(try val())
      case "--format": o.pixelFormat = try formatOption(try val())
      case "--bitrate": o.bitrate = try bitrateOption(try val())
      case "--preset": o.preset = try presetOption(try val())
      case "--listen":
        let s = try val()
        guard looksLikeIP(s) else { throw OptionError("--listen must be a numeric IP address (e.g. 0.0.0.0, ::, 127.0.0.1), not '\(s)'") }
        o.listen = s
      case "--http-port": o.httpPort = try number("--http-port", try val(), 1...65535)
      case "--udp-port": o.udpPort = try number("--udp-port", try val(), 1...65535)
      case "--ice-host":
        let s = try val()
        guard looksLikeIP(s) else { throw OptionError("--ice-host must be a numeric IP address, not '\(s)'") }
        o.iceHosts.append(s)
      case "--max-viewers": o.maxViewers = try number("--max-viewers", try val(), 1...64)
      case "--auth":
        let s = try val()
        guard let colon = s.utf8.firstIndex(of: UInt8(ascii: ":")) else {
          throw OptionError("--auth must be USER:PASSWORD")
        }
        let user = String(s[..<colon])
        let password = String(s[s.index(after: colon)...])
        do { try PasswordHashLine.checkUserName(user) } catch { throw OptionError("--auth: " + error.message) }
        guard !password.isEmpty else { throw OptionError("--auth: the password must not be empty") }
        o.auth.users.append(UserCredential(name: user, verifier: .plain(password: password)))
      case "--auth-file": o.authFiles.append(try val())
      case "--token":
        let t = try val()
        guard isValidToken(t) else { throw OptionError("--token must be 8-256 visible ASCII characters without spaces") }
        o.auth.addToken(t)
      case "--token-file": o.tokenFiles.append(try val())
      case "--max-connections-per-ip": o.limits.connectionsPerAddress = try number("--max-connections-per-ip", try val(), 1...64)
      case "--max-viewers-per-ip": o.limits.viewersPerAddress = try number("--max-viewers-per-ip", try val(), 1...64)
      case "--auth-failures-per-minute":
        o.limits.authFailuresPerMinute = try number("--auth-failures-per-minute", try val(), 1...10_000)
      case "--offers-per-minute": o.limits.offersPerMinute = try number("--offers-per-minute", try val(), 1...10_000)
      case "--snapshots-per-minute":
        o.limits.snapshotsPerMinute = try number("--snapshots-per-minute", try val(), 1...10_000)
      case "--mjpeg-fps": o.stills.streamFps = try number("--mjpeg-fps", try val(), 1...30)
      case "--mjpeg-quality": o.stills.quality = try number("--mjpeg-quality", try val(), StillOptions.qualityRange)
      case "--max-stream-clients": o.stills.maxStreamClients = try number("--max-stream-clients", try val(), 0...32)
      case "--tls":
        let v = try val()
        guard v == "self-signed" else { throw OptionError("--tls must be 'self-signed' (or give --tls-cert and --tls-key), not '\(v)'") }
        o.tls = .selfSigned
      case "--tls-cert": tlsCert = try val()
      case "--tls-key": tlsKey = try val()
      case "--https-port": o.httpsPort = try number("--https-port", try val(), 1...65535)
      case "--state-dir":
        let d = try val()
        guard d.hasPrefix("/") else { throw OptionError("--state-dir must be an absolute path, not '\(d)'") }
        o.stateDir = d
      case "--http-redirect": o.redirectHTTP = true
      case _ where forwardOptionNames.contains(arg): try forwardOption(arg, try val(), &o.forward)
      case "--log-level":
        let s = try val()
        guard let l = LogLevel(name: s) else { throw OptionError("--log-level must be error, warn, info or debug, not '\(s)'") }
        o.logLevel = l
      default:
        if at != nil { throw OptionError("unknown key '\(arg.dropFirst(2))'") }
        if arg.hasPrefix("-") { throw OptionError("unknown option '\(arg)'") }
        throw OptionError("unknown command '\(arg)'")
      }
      if inline != nil && !arg.hasPrefix("--") { throw OptionError("option \(arg) takes no value") }
    } catch {
      guard let at else { throw error }
      throw OptionError(at + ": " + error.message)
    }
    i += 1
  }
  try checkForwardOptions(o.forward, at: from(["--forward-key", "--forward", "--forward-keyframe-interval"]))
  if o.httpPort == o.udpPort { throw OptionError(from(["--http-port", "--udp-port"]) + "--http-port and --udp-port must differ") }
  if !o.rpicamArgs.isEmpty && o.source != "rpicam" {
    throw OptionError(from(["--rpicam-args", "--source"]) + "--rpicam-args goes with --source rpicam")
  }
  switch (tlsCert, tlsKey) {
  case (nil, nil): break
  case (let c?, let k?):
    guard o.tls == .off else {
      throw OptionError(from(["--tls", "--tls-cert", "--tls-key"]) + "--tls self-signed and --tls-cert/--tls-key exclude each other")
    }
    o.tls = .files(certificate: c, key: k)
  default: throw OptionError(from(["--tls-cert", "--tls-key"]) + "--tls-cert and --tls-key go together")
  }
  if o.tls != .off && o.httpsPort == o.httpPort {
    throw OptionError(from(["--https-port", "--http-port"]) + "--https-port and --http-port must differ")
  }
  if o.redirectHTTP && o.tls == .off {
    throw OptionError(from(["--http-redirect"]) + "--http-redirect needs HTTPS (--tls self-signed or --tls-cert/--tls-key)")
  }
  return .serve(o)
}

// Validators of the options `serve` and `probe` share; each names the option in its error.

func sourceOption(_ s: String) throws(OptionError) -> String {
  if let problem = execSourceProblem(s) { throw OptionError(problem) }
  guard SourceSpec.parse(s) != nil else {
    throw OptionError("--source must be testsrc, y4m:PATH, v4l2:DEVICE, exec:COMMAND, rpicam or stdin:, not '\(s)'")
  }
  return s
}

func sizeOption(_ s: String) throws(OptionError) -> (Int, Int) {
  guard let size = parseSizeOption(s) else {
    throw OptionError("--size must be WIDTHxHEIGHT with even numbers, e.g. 640x480, not '\(s)'")
  }
  return size
}

func fpsOption(_ s: String) throws(OptionError) -> Int {
  guard let n = parseDecimal(s), n >= 1, n <= 120 else {
    throw OptionError("--fps must be a whole number from 1 to 120, not '\(s)'")
  }
  return n
}

func formatOption(_ s: String) throws(OptionError) -> String {
  guard parsePixelFormatOption(s) != nil else { throw OptionError(pixelFormatOptionError(s)) }
  return s
}

/// `--preset speed|balanced|quality`.
func presetOption(_ s: String) throws(OptionError) -> EncoderPreset {
  guard let p = EncoderPreset(name: s) else {
    throw OptionError("--preset must be speed, balanced or quality, not '\(s)'")
  }
  return p
}

func bitrateOption(_ s: String) throws(OptionError) -> Int {
  guard let b = parseBitrate(s), b >= 50_000, b <= 50_000_000 else {
    throw OptionError("--bitrate must be bits per second from 50k to 50M (e.g. 800k, 2M), not '\(s)'")
  }
  return b
}

/// "800000", "800k", "2M", "1.5M" → bits per second; nil when malformed or beyond `Int` (which
/// is 32 bits on armv7: the arithmetic is 64-bit so "3000000k" is rejected, not a trap).
func parseBitrate(_ s: String) -> Int? {
  var text = s.asciiLowercased
  var scale: UInt64 = 1
  if text.hasSuffix("k") { scale = 1000; text.removeLast() } else if text.hasSuffix("m") { scale = 1_000_000; text.removeLast() }
  let parts = text.splitASCII(UInt8(ascii: "."))
  guard parts.count <= 2, let whole = parseDecimal(parts[0], max: 100_000_000_000) else { return nil }
  var value = UInt64(whole) * scale
  if parts.count == 2 {
    guard scale > 1, let frac = parseDecimal(parts[1], max: 999_999), parts[1].utf8.count <= 6 else { return nil }
    var div: UInt64 = 1
    for _ in 0..<parts[1].utf8.count { div *= 10 }
    value += UInt64(frac) * scale / div
  }
  return value <= UInt64(Int.max) ? Int(value) : nil
}

/// Cheap syntactic check for a numeric IPv4 or IPv6 address (the loop validates with inet_pton).
func looksLikeIP(_ s: String) -> Bool {
  if SocketAddress(ipv4: s, port: 0) != nil { return true }
  var colons = 0
  for c in s.utf8 {
    if c == UInt8(ascii: ":") { colons += 1; continue }
    if Hex.nibble(c) == nil && c != UInt8(ascii: ".") { return false }
  }
  return colons >= 2 && s.utf8.count <= 45
}

public let helpText = """
rtcam \(rtcamVersion) — a live camera for any browser on the LAN, over WebRTC, in one static binary.

Usage: rtcam [serve] [options]      serve the viewer page and stream (the default command)
       rtcam probe [--source SPEC] [--frames N] [--size WxH] [--fps N] [--format FOURCC]
                   [--bitrate N] [--preset P] [--h264-out FILE]
                   [--rpicam-args ARGS]  capture and encode N frames (default 30), print one JSON line
       rtcam devices [--json]       list the V4L2 video devices (/dev/video*) with their
                                    formats, sizes and frame rates
       rtcam passwd USER [--iterations N]
                                    read a password on standard input, print an --auth-file line
       rtcam --help | --version

Open http://<this machine>:<http-port>/ in a browser to watch.

Options:
  --config PATH       read options from PATH first (the service uses /etc/rtcam/rtcam.conf):
                      one `key = value` a line, keys are the long options without the dashes
                      (source = v4l2:/dev/video0, http-port = 8080, http-redirect = true),
                      whole-line # comments; values are taken as written (no quotes needed).
                      Repeatable keys (ice-host, auth, auth-file, token, token-file, forward)
                      may repeat.
                      The command line overrides the file; a repeatable option given there
                      replaces the file's lines of that key. Errors say FILE:LINE (exit 2)
  --source SPEC       where frames come from (default: the first usable camera among
                      /dev/video*, else testsrc; the log says which):
                        testsrc          moving test pattern with frame counter and time strip
                        y4m:PATH         a YUV4MPEG2 (4:2:0) file, looped at its own frame rate
                        v4l2:DEVICE      a V4L2 camera such as /dev/video0, capturing YU12, YV12,
                                         NV12, NV21, YUYV, UYVY or MJPEG (decoded) at the size
                                         and rate closest to --size and --fps that it offers
                        exec:COMMAND     run COMMAND (looked up on PATH, no shell: quote with
                                         ' " and \\; use exec:sh -c '...' for pipes) and read raw
                                         I420 frames of --size from its standard output, or Y4M
                                         when it starts with YUV4MPEG2; restarted when it exits
                                         (1 s, doubling to 30 s), stopped with rtcam
                        rpicam           a Raspberry Pi camera module through rpicam-vid:
                                         exec:rpicam-vid -t 0 -n --width W --height H
                                         --framerate F --codec yuv420 [--rpicam-args] -o -
                        stdin:           raw I420 frames of --size (or Y4M) on standard input;
                                         the source ends with the input
  --rpicam-args ARGS  extra rpicam-vid arguments for --source rpicam, split like exec:
                      (e.g. --rpicam-args "--hflip --vflip --awb indoor")
  --size WxH          picture size (default 640x480)
  --fps N             frames per second, 1-120 (default 30)
  --format FOURCC     V4L2 pixel format to capture: YU12 (or I420), YV12, NV12, NV21, YUYV, UYVY
                      or MJPG (default: the camera's closest match, uncompressed before MJPG
                      when both reach the size and rate; YU12 and YV12 need no copy)
  --bitrate N         H.264 target bitrate in bit/s, suffix k or M allowed (default 800k)
  --preset P          encoder speed/quality trade-off: speed, balanced or quality (default
                      balanced); none adds latency (see README, Performance)
  --listen ADDR       address for HTTP and media, numeric IPv4/IPv6 (default ::, all addresses)
  --http-port N       HTTP port for the viewer page and the offer endpoints (default 8080)
  --udp-port N        the one UDP port all viewers' media uses (default 8189)
  --ice-host ADDR     advertise ADDR as the ICE host candidate instead of every interface
                      address; repeatable (port forwarding, NAT, tests)
  --max-viewers N     simultaneous viewers, 1-64 (default 8)
  --log-level LEVEL   error, warn, info or debug (default info)

HTTPS (off by default; TLS 1.2, ECDHE with AES-GCM):
  --tls-cert PEM --tls-key PEM   serve HTTPS with this certificate chain and private key
  --tls self-signed   make a self-signed certificate once and keep it in --state-dir
  --https-port N      HTTPS port (default 8443); HTTP keeps serving on --http-port
  --http-redirect     HTTP answers every request with a redirect to HTTPS
  --state-dir PATH    where rtcam keeps state across restarts (default /var/lib/rtcam)

Access control (off by default):
  --auth USER:PASSWORD   HTTP Basic login required on every page and endpoint; repeatable.
                         Visible to `ps`: prefer --auth-file
  --auth-file PATH       users with salted PBKDF2-SHA256 hashes, one `rtcam passwd` line each
  --token TOKEN          Bearer token accepted on /whep and /offer (WHIP/WHEP players); repeatable
  --token-file PATH      one token per line
  --max-connections-per-ip N   HTTP connections one address may hold (default 16)
  --max-viewers-per-ip N       viewer sessions one address may hold (default 4)
  --auth-failures-per-minute N failed logins per address per minute before 429 (default 10)
  --offers-per-minute N        offers per address per minute before 429 (default 30)
  --snapshots-per-minute N     GET /snapshot.jpg per address per minute before 429 (default 120)

Stills and MJPEG (for OctoPrint, Mainsail, Home Assistant and other tools that want JPEGs):
  --mjpeg-fps N          frames per second of /stream.mjpg at most, 1-30 (default 10)
  --mjpeg-quality N      JPEG quality 1-100 of stream frames and snapshots (default 80)
  --max-stream-clients N /stream.mjpg clients at once, 0-32 (default 4; 0 turns it off)

Forwarding to an SFU (off by default; for more viewers than one Pi can serve, see the README):
  --forward URL       also send the encoded stream as H.264 RTP (payload type 96) to an RTP
                      ingest such as a Janus Streaming mountpoint: rtp://HOST:PORT (plain) or
                      srtp://HOST:PORT (SRTP with --forward-key); HOST is a numeric IPv4 address
                      or a bracketed IPv6 one (no names). Sender reports go to its RTCP port
                      (PORT+1, or ?rtcp=N) once a second and its PLI/FIR there get a keyframe.
                      Repeatable, up to 8; the stream is encoded once for everyone
  --forward-key KEY   base64 of the 30-byte AES_CM_128_HMAC_SHA1_80 master key and salt of the
                      srtp:// forwards (Janus's srtpsuite = 80, srtpcrypto = KEY)
  --forward-keyframe-interval N   a keyframe at least every N seconds, for targets that send
                      no feedback (default 0: only when asked)

  -h, --help          show this help and exit
  -V, --version       print the version and target architecture and exit

HTTP endpoints:
  GET /               the viewer page
  POST /whep          WHEP: body application/sdp offer -> 201 Created, Location, SDP answer
  POST /offer         JSON {"type":"offer","sdp":"..."} -> {"type":"answer","sdp":"...","session":"ID"}
  DELETE /whep/ID     end a session
  GET /status         JSON: source, encoder, sessions
  GET /snapshot.jpg   the next frame as a JPEG (?quality=1-100); also /snapshot
  GET /stream.mjpg    MJPEG (multipart/x-mixed-replace) at --mjpeg-fps; also /stream
  GET /metrics        Prometheus metrics

Camera faults (CAMERA_NOT_FOUND, CAMERA_BUSY, CAMERA_LOST, CAMERA_TIMEOUT, FORMAT_UNSUPPORTED,
CAMERA_ERROR) go to the log and /status; the page is still served and the camera is reopened
every 2 s until it works, then streaming resumes. Program sources report SOURCE_EXITED (exit
status or signal), SOURCE_NOT_FOUND (cannot run the command), SOURCE_SHORT_FRAME (the stream
ended or stalled inside a frame) and SOURCE_TIMEOUT (no frame for 5 s; 10 s after a start);
stdin: ends with END_OF_STREAM.

probe prints {"source","driver","card","bus","format","width","height","fps_requested",
"fps_measured","frames","dropped","damaged","decode_ms","encode_ms_p50","encode_ms_p95","error"}
(error: null or {"code","message"}; driver/card/bus are null except for v4l2:). It takes --source
(any of the above), --frames N (default 30), --size, --fps, --format, --bitrate, --preset,
--rpicam-args, and --h264-out FILE (also write the encoded Annex-B stream to FILE, at most 64 MiB).

Exit codes: 0 ok, 1 runtime failure (see the log; probe: the JSON error), 2 bad command line.
"""

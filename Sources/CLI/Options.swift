// The command line: which command, and `serve`'s options from the config file and the
// arguments. Names, values and defaults come from the option table (OptionTable.swift).
import App
import Capture
import Encoder
import Record
import Runtime
import Wire

/// What `rtcam` was asked to do.
public enum Command: Equatable, Sendable {
  case serve(ServeOptions)
  /// `rtcam probe ...` (Probe.swift).
  case probe(ProbeOptions)
  /// `rtcam devices [--json]` (Devices.swift).
  case devices(json: Bool)
  /// `rtcam passwd USER [--iterations N]`: reads a password on stdin, prints an auth-file line.
  case passwd(user: String, iterations: Int)
  case help
  /// `rtcam help --conf` or `rtcam help --markdown`: board/rtcam.conf or docs/cli.md, made from
  /// the option table (Reference.swift; tools/gen-cli-docs writes them). The host build prints
  /// them; the device build says it does not (exit 2).
  case reference(ReferenceFormat)
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
  if let format = ReferenceFormat(arguments: args) { return .reference(format) }
  switch args.first.flatMap({ CommandName(word: $0) }) {
  case .probe?:
    if args.contains(where: { option(named: $0, of: .probe)?.key == .help }) { return .help }
    return .probe(try parseProbeOptions(Array(args.dropFirst())))
  case .devices?: return .devices(json: try parseDevicesOptions(Array(args.dropFirst())))
  case .passwd?: return try parsePasswdOptions(Array(args.dropFirst()))
  case .serve?, nil: break
  }
  let (commandLine, configPath) = try splitConfigOption(args)
  if asksForHelpOrVersion(commandLine) { return try parseServe(commandLine, config: []) }
  if let path = configPath, config == nil { throw OptionError(OptionKey.config.spec.name + " " + path + " was not read") }
  guard let config else { return try parseServe(commandLine, config: []) }
  return try parseServe(commandLine, config: try configSettings(config))
}

/// `serve`: the config file's settings, then the command line. A repeatable option on the command
/// line replaces the file's lines of that key (the command line decides, as for the others).
func parseServe(_ commandLine: [String], config: [ConfigSetting]) throws(OptionError) -> Command {
  var replaced = OptionKeySet()
  var scan = ArgumentReader(commandLine, command: .serve)
  while let a = try? scan.next() {
    if case .option(let spec, _) = a, spec.repeatable { replaced.insert(spec.key) }
  }
  var p = ServeParser()
  for s in config where !replaced.contains(s.spec.key) { try p.take(s.spec, s.value, at: s.origin) }
  var reader = ArgumentReader(commandLine, command: .serve)
  while let a = try reader.next() {
    switch a {
    case .option(let spec, let value):
      if spec.key == .help { return .help }
      if spec.key == .version { return .version }
      try p.take(spec, value, at: nil)
    case .word(let w):
      if let key = helpOrVersionWord(w) { return key == .help ? .help : .version }
      guard w == CommandName.serve.word else { throw OptionError("unknown command '" + w + "'") }
      guard reader.index == 0 else { throw OptionError("'" + w + "' must come first") }
    case .unknown(let name, _): throw OptionError("unknown option '" + name + "'")
    }
  }
  return .serve(try p.finish())
}

/// `serve`'s options as they are read: each option into `ServeOptions`, then the checks across
/// options. Errors about a config file line start with its `file:line`.
struct ServeParser {
  var o = ServeOptions()
  var tlsCert: String? = nil
  var tlsKey: String? = nil
  /// Where each option was last set, when that was a config file line (for the checks at the end).
  var setAt = OptionKeyMap<String>()
  /// The options given at all (config file or command line).
  var given = OptionKeySet()

  mutating func take(_ spec: OptionSpec, _ value: String, at origin: String?) throws(OptionError) {
    setAt[spec.key] = origin
    given.insert(spec.key)
    do throws(OptionError) { try apply(spec, value) } catch {
      guard let origin else { throw error }
      throw OptionError(origin + ": " + error.message)
    }
  }

  mutating func apply(_ spec: OptionSpec, _ v: String) throws(OptionError) {
    switch spec.key {
    case .source: o.source = try spec.source(v)
    case .rpicamArgs: o.rpicamArgs = try rpicamArgsOption(v)
    case .size: (o.width, o.height) = try spec.size(v)
    case .fps: o.fps = try spec.number(v)
    case .format: o.pixelFormat = try spec.pixelFormat(v)
    case .bitrate: o.bitrate = try spec.bitrate(v)
    case .minBitrate: o.minBitrate = try spec.bitrate(v)
    case .maxBitrate: o.maxBitrate = try spec.bitrate(v)
    case .preset: o.preset = try spec.preset(v)
    case .encoder: o.encoder = try spec.encoder(v)
    case .listen: o.listen = try spec.address(v)
    case .httpPort: o.httpPort = try spec.number(v)
    case .udpPort: o.udpPort = try spec.number(v)
    case .rtspPort: o.rtsp.port = try spec.number(v)
    case .rtspTimeout: o.rtsp.timeoutSeconds = try spec.number(v)
    case .rtspKeyframeInterval: o.rtsp.keyframeIntervalSeconds = try spec.number(v)
    case .record:
      guard !v.isEmpty else { throw OptionError(spec.name + " needs a directory") }
      o.recordDir = v.count > 1 && v.hasSuffix("/") ? String(v.dropLast()) : v
    case .recordSegment: o.recording.segmentSeconds = try spec.number(v)
    case .recordMaxBytes: o.recording.limits.maxBytes = try byteSize(v, spec.name)
    case .recordMaxAge: o.recording.limits.maxAgeSeconds = try ageSeconds(v, spec.name)
    case .iceHost: o.iceHosts.append(try spec.address(v))
    case .maxViewers: o.maxViewers = try spec.number(v)
    case .logLevel:
      guard let l = LogLevel(name: v) else { throw spec.notAChoice(v) }
      o.logLevel = l
    case .auth: o.auth.users.append(try basicAuthUser(v))
    case .authFile: o.authFiles.append(v)
    case .token:
      guard isValidToken(v) else { throw OptionError(spec.name + " must be 8-256 visible ASCII characters without spaces") }
      o.auth.addToken(v)
    case .tokenFile: o.tokenFiles.append(v)
    case .maxConnectionsPerIP: o.limits.connectionsPerAddress = try spec.number(v)
    case .maxViewersPerIP: o.limits.viewersPerAddress = try spec.number(v)
    case .authFailuresPerMinute: o.limits.authFailuresPerMinute = try spec.number(v)
    case .offersPerMinute: o.limits.offersPerMinute = try spec.number(v)
    case .snapshotsPerMinute: o.limits.snapshotsPerMinute = try spec.number(v)
    case .mjpegFps: o.stills.streamFps = try spec.number(v)
    case .mjpegQuality: o.stills.quality = try spec.number(v)
    case .maxStreamClients: o.stills.maxStreamClients = try spec.number(v)
    case .tls:
      guard v == "self-signed" else {
        throw OptionError(spec.name + " must be 'self-signed' (or give --tls-cert and --tls-key), not '" + v + "'")
      }
      o.tls = .selfSigned
    case .tlsCert: tlsCert = v
    case .tlsKey: tlsKey = v
    case .httpsPort: o.httpsPort = try spec.number(v)
    case .stateDir: o.stateDir = try spec.absolutePath(v)
    case .httpRedirect: o.redirectHTTP = true
    case .forward, .forwardKey, .forwardKeyframeInterval: try forwardOption(spec, v, &o.forward)
    case .config, .help, .version, .frames, .h264Out, .codec, .json, .iterations:
      throw OptionError(spec.name + " is not an option of serve")
    }
  }

  /// "file:line: " of the first of `keys` set last by a config file line, or "".
  func from(_ keys: [OptionKey]) -> String {
    for k in keys { if let at = setAt[k] { return at + ": " } }
    return ""
  }

  /// The checks across options, once all are read.
  mutating func finish() throws(OptionError) -> ServeOptions {
    try checkForwardOptions(o.forward, at: from([.forwardKey, .forward, .forwardKeyframeInterval]))
    try settleBitrateBounds()
    if o.httpPort == o.udpPort { throw OptionError(from([.httpPort, .udpPort]) + "--http-port and --udp-port must differ") }
    if o.rtsp.port > 0 && (o.rtsp.port == o.httpPort || o.rtsp.port == o.udpPort || o.rtsp.port + 1 == o.udpPort
      || (o.tls != .off && o.rtsp.port == o.httpsPort)) {
      throw OptionError(from([.rtspPort, .httpPort, .udpPort]) + "--rtsp-port N takes TCP port N and UDP ports N and N+1: "
        + "they must differ from --http-port, --https-port and --udp-port")
    }
    if o.recordDir == nil && o.recording != RecorderConfig() {
      throw OptionError(from([.recordSegment, .recordMaxBytes, .recordMaxAge]) + "--record-segment, --record-max-bytes and "
        + "--record-max-age go with --record DIR")
    }
    if !o.rpicamArgs.isEmpty && o.source != "rpicam" {
      throw OptionError(from([.rpicamArgs, .source]) + "--rpicam-args goes with --source rpicam")
    }
    switch (tlsCert, tlsKey) {
    case (nil, nil): break
    case (let c?, let k?):
      guard o.tls == .off else {
        throw OptionError(from([.tls, .tlsCert, .tlsKey]) + "--tls self-signed and --tls-cert/--tls-key exclude each other")
      }
      o.tls = .files(certificate: c, key: k)
    default: throw OptionError(from([.tlsCert, .tlsKey]) + "--tls-cert and --tls-key go together")
    }
    if o.tls != .off && o.httpsPort == o.httpPort {
      throw OptionError(from([.httpsPort, .httpPort]) + "--https-port and --http-port must differ")
    }
    if o.redirectHTTP && o.tls == .off {
      throw OptionError(from([.httpRedirect]) + "--http-redirect needs HTTPS (--tls self-signed or --tls-cert/--tls-key)")
    }
    return o
  }
}

extension ServeParser {
  /// --min-bitrate <= --bitrate <= --max-bitrate. A bound not given follows --bitrate where the
  /// default would be on the wrong side of it; a bound given on the wrong side is an error.
  mutating func settleBitrateBounds() throws(OptionError) {
    if !given.contains(.minBitrate) { o.minBitrate = min(ServeOptions.defaultMinBitrate, o.bitrate) }
    if !given.contains(.maxBitrate) { o.maxBitrate = max(ServeOptions.defaultMaxBitrate, o.bitrate) }
    guard o.minBitrate <= o.bitrate else {
      throw OptionError(from([.minBitrate, .bitrate]) + "--min-bitrate " + bitrateText(o.minBitrate)
        + " is above --bitrate " + bitrateText(o.bitrate))
    }
    guard o.bitrate <= o.maxBitrate else {
      throw OptionError(from([.maxBitrate, .bitrate]) + "--bitrate " + bitrateText(o.bitrate)
        + " is above --max-bitrate " + bitrateText(o.maxBitrate))
    }
  }
}

/// `--auth USER:PASSWORD`.
func basicAuthUser(_ s: String) throws(OptionError) -> UserCredential {
  let name = OptionKey.auth.spec.name
  guard let colon = s.utf8.firstIndex(of: UInt8(ascii: ":")) else { throw OptionError(name + " must be USER:PASSWORD") }
  let user = String(s[..<colon])
  let password = String(s[s.index(after: colon)...])
  do { try PasswordHashLine.checkUserName(user) } catch { throw OptionError(name + ": " + error.message) }
  guard !password.isEmpty else { throw OptionError(name + ": the password must not be empty") }
  return UserCredential(name: user, verifier: .plain(password: password))
}

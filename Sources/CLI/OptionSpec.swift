// The shape of the option table (OptionTable.swift): one row per option of every command. The
// row drives the command-line parser (Arguments.swift), the config file (ConfigFile.swift),
// `rtcam --help` (Help.swift), board/rtcam.conf and docs/cli.md (Reference.swift).

/// Every option rtcam takes, of every command. Each has exactly one row in `optionTable`.
public enum OptionKey: UInt8, Hashable, Sendable, CaseIterable {
  case config, help, version
  case source, rpicamArgs, size, fps, format, bitrate, preset, encoder
  case listen, httpPort, udpPort, iceHost, maxViewers, minBitrate, maxBitrate, logLevel
  case rtspPort, rtspTimeout, rtspKeyframeInterval
  case tlsCert, tlsKey, tls, httpsPort, httpRedirect, stateDir
  case auth, authFile, token, tokenFile
  case maxConnectionsPerIP, maxViewersPerIP, authFailuresPerMinute, offersPerMinute, snapshotsPerMinute
  case mjpegFps, mjpegQuality, maxStreamClients
  case forward, forwardKey, forwardKeyframeInterval
  case record, recordSegment, recordMaxBytes, recordMaxAge
  case frames, h264Out, codec
  case json
  case iterations

  /// This option's row.
  var spec: OptionSpec {
    for row in optionTable where row.key == self { return row }
    // unreachable: OptionTableTests checks that every key has its row
    return OptionSpec(key: self, name: "--?", value: .text, section: .general, help: "")
  }
}

/// A set of option keys, one bit each (OptionTableTests checks that they fit in 64; a bit set
/// rather than a Set or a Dictionary keeps their code out of the device binary).
struct OptionKeySet: Sendable {
  private var bits: UInt64 = 0
  mutating func insert(_ key: OptionKey) { bits |= 1 << UInt64(key.rawValue) }
  func contains(_ key: OptionKey) -> Bool { bits & (1 << UInt64(key.rawValue)) != 0 }
}

/// A value per option key (nil where none is set).
struct OptionKeyMap<Value: Sendable>: Sendable {
  private var values = [Value?](repeating: nil, count: OptionKey.allCases.count)
  subscript(key: OptionKey) -> Value? {
    get { values[Int(key.rawValue)] }
    set { values[Int(key.rawValue)] = newValue }
  }
}

/// rtcam's commands (the first word of the command line; `serve` may be left out).
public enum CommandName: Equatable, Sendable, CaseIterable {
  case serve, probe, devices, passwd

  /// The word that names it.
  var word: String {
    switch self {
    case .serve: return "serve"
    case .probe: return "probe"
    case .devices: return "devices"
    case .passwd: return "passwd"
    }
  }

  init?(word: String) {
    guard let c = CommandName.allCases.first(where: { $0.word == word }) else { return nil }
    self = c
  }

  /// What it does, for the usage lines.
  var summary: String {
    switch self {
    case .serve: return "serve the viewer page and stream (the default command)"
    case .probe: return "capture and encode frames, print one JSON line"
    case .devices: return "list the V4L2 video devices (/dev/video*), their formats, sizes and frame rates"
    case .passwd: return "read a password on standard input, print an --auth-file line"
    }
  }

  /// Its operands after the word, for the usage lines.
  var operands: String { self == .passwd ? " USER" : "" }
}

/// A set of commands (a row's `commands`).
struct CommandSet: OptionSet, Sendable {
  let rawValue: UInt8
  static let serve = CommandSet(rawValue: 1)
  static let probe = CommandSet(rawValue: 2)
  static let devices = CommandSet(rawValue: 4)
  static let passwd = CommandSet(rawValue: 8)

  func contains(_ command: CommandName) -> Bool {
    switch command {
    case .serve: return contains(CommandSet.serve)
    case .probe: return contains(CommandSet.probe)
    case .devices: return contains(CommandSet.devices)
    case .passwd: return contains(CommandSet.passwd)
    }
  }

  /// The first of them in CommandName's order (the command a row is tested with).
  var first: CommandName? { CommandName.allCases.first { contains($0) } }
}

/// What an option's value must be. The parser checks it (Arguments.swift); the help, the config
/// file and docs/cli.md say it (`allowed`).
enum ValueRule: Sendable {
  /// No value: given or not (in the config file `key = true` or `key = false`).
  case flag
  /// A whole number in the range.
  case number(ClosedRange<Int>)
  /// Whole seconds in the range (0 turns the feature off).
  case seconds(ClosedRange<Int>)
  /// Bits per second in the range, with k or M suffixes.
  case bitrate(ClosedRange<Int>)
  /// WIDTHxHEIGHT, even numbers within `sizeLimits`.
  case size
  /// One of these words.
  case choice([String])
  /// A numeric IPv4 or IPv6 address.
  case address
  /// A path starting with /.
  case absolutePath
  /// Anything; the option's own parser checks it (sources, URLs, keys, paths).
  case text
}

/// The sizes `--size` accepts: even numbers, 16x16 to 7680x4320 (8K UHD).
let sizeLimits = (width: 16...7680, height: 16...4320)

/// What an option is when it is not given.
enum OptionDefault: Sendable {
  /// This value (the config file shows `# key = value`).
  case value(String)
  /// Off, or nothing (the config file shows examples).
  case off
  /// Described in words (the config file shows examples).
  case described(String)
}

/// The groups the help, the config file and docs/cli.md list options in.
enum OptionSection: Equatable, Sendable, CaseIterable {
  case general, picture, network, https, access, stills, forwarding, recording, probe, devices, passwd, info

  var title: String {
    switch self {
    case .general: return "Options"
    case .picture: return "Picture"
    case .network: return "Network"
    case .https: return "HTTPS"
    case .access: return "Access control"
    case .stills: return "Stills and MJPEG"
    case .forwarding: return "Forwarding to an SFU"
    case .recording: return "Recording"
    case .probe: return "rtcam probe"
    case .devices: return "rtcam devices"
    case .passwd: return "rtcam passwd"
    case .info: return "Help"
    }
  }

  /// Said after the title, in parentheses ("" for none).
  var note: String {
    switch self {
    case .general: return "serve, the default command"
    case .picture: return "serve and probe"
    case .network: return "the HTTP and UDP ports must differ; ports below 1024 need CAP_NET_BIND_SERVICE"
    case .https: return "off by default; TLS 1.2, ECDHE with AES-GCM"
    case .access: return "off by default: anyone who reaches the port may watch"
    case .stills: return "for OctoPrint, Mainsail, Home Assistant and other tools that want JPEGs"
    case .forwarding: return "off by default; for more viewers than one Pi can serve, e.g. through Janus"
    case .recording: return "off by default; fragmented MP4 segments, listed at /recordings"
    case .probe: return "also takes --source, --rpicam-args, --size, --fps, --format, --bitrate, --preset and --encoder"
    case .devices, .passwd, .info: return ""
    }
  }
}

/// One line of a list an option's help carries (the kinds of `--source`).
struct OptionDetail: Sendable {
  var term: String
  var text: String
}

/// One row of the option table. Rows use the memberwise initializer with literal values only:
/// then the table is a constant in the binary's data, not code that builds it at start (an
/// initializer of our own, a computed value or an empty array would make it code).
struct OptionSpec: Sendable {
  var key: OptionKey
  /// The long name, with its dashes ("--http-port").
  var name: String
  /// The letter of a short name ("h" for -h), if it has one (a letter, not a string: the table is
  /// smaller so).
  var short: Unicode.Scalar? = nil
  /// The value's placeholder in the help ("N", "PATH"); "" for a flag.
  var metavar: String = ""
  var value: ValueRule
  /// The commands that take it.
  var commands: CommandSet = .serve
  /// Whether `--config` files may set it (as `name-without-dashes = value`), when serve takes it.
  var configFile = true
  /// Whether it may be given more than once (the values add up).
  var repeatable = false
  var section: OptionSection
  var defaultValue: OptionDefault = .off
  /// What it does: a phrase starting in lower case, without the allowed values and the default
  /// (those come from `value` and `defaultValue`).
  var help: String
  /// A list that follows the help (the source kinds).
  var details: [OptionDetail]? = nil
  /// Values the config file shows as `#   key = example` when there is no default to show.
  var examples: [String]? = nil

  /// Whether `--config` files may set it.
  var inConfig: Bool { configFile && commands.contains(CommandName.serve) }
  var detailList: [OptionDetail] { details ?? [] }
  var exampleList: [String] { examples ?? [] }

  /// The config file's key: the long name without its dashes; nil when files cannot set it.
  var configKey: String? { inConfig ? String(name.dropFirst(2)) : nil }

  var isFlag: Bool {
    if case .flag = value { return true }
    return false
  }

  /// "-h, --help", "--http-port N".
  var label: String {
    (alias.isEmpty ? "" : alias + ", ") + name + (metavar.isEmpty ? "" : " " + metavar)
  }

  /// The short name ("-h"), or "".
  var alias: String {
    guard let c = short else { return "" }
    return "-" + String(decoding: [UInt8(truncatingIfNeeded: c.value)], as: UTF8.self)
  }

  /// Whether `arg` is its short name ("-h").
  func isShort(_ arg: String) -> Bool {
    guard let c = short, c.isASCII else { return false }
    return arg.utf8.count == 2 && arg.utf8.first == UInt8(ascii: "-") && arg.utf8.last == UInt8(c.value)
  }

  /// The values it takes, in words ("1-120", "speed, balanced or quality"), or nil.
  var allowed: String? {
    switch value {
    case .flag, .text: return nil
    case .number(let r): return String(r.lowerBound) + "-" + String(r.upperBound)
    case .seconds(let r): return String(r.lowerBound) + "-" + String(r.upperBound) + " s"
    case .bitrate(let r): return bitrateText(r.lowerBound) + "-" + bitrateText(r.upperBound) + " bit/s"
    case .size:
      return "even numbers from " + String(sizeLimits.width.lowerBound) + "x" + String(sizeLimits.height.lowerBound)
        + " to " + String(sizeLimits.width.upperBound) + "x" + String(sizeLimits.height.upperBound)
    case .choice(let words): return wordList(words, "or")
    case .address: return "numeric IPv4 or IPv6"
    case .absolutePath: return "an absolute path"
    }
  }

  /// The default in words for the help ("default 8080"), or nil when there is none to say.
  var defaultPhrase: String? {
    switch defaultValue {
    case .value(let v): return isFlag ? nil : "default " + v
    case .off: return nil
    case .described(let d): return "default: " + d
    }
  }
}

/// 50000 → "50k", 50000000 → "50M".
func bitrateText(_ n: Int) -> String {
  if n % 1_000_000 == 0 { return String(n / 1_000_000) + "M" }
  if n % 1000 == 0 { return String(n / 1000) + "k" }
  return String(n)
}

/// ["a", "b", "c"] → "a, b or c".
func wordList(_ words: [String], _ conjunction: String) -> String {
  guard words.count > 1 else { return words.first ?? "" }
  return words.dropLast().joined(separator: ", ") + " " + conjunction + " " + words[words.count - 1]
}

/// The row named `name` ("--fps", or a short name like "-h") among `command`'s options.
func option(named name: String, of command: CommandName) -> OptionSpec? {
  for row in optionTable where row.commands.contains(command) && (row.name == name || row.isShort(name)) {
    return row
  }
  return nil
}

/// The row a config file's `key` names, or nil when files have no such key.
func option(configKey key: String) -> OptionSpec? {
  for row in optionTable where row.configKey == key { return row }
  return nil
}

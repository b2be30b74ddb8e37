// The `--config` file: `key = value` lines named like the long options without the dashes
// (`source = v4l2:/dev/video0`, `http-port = 8080`, `http-redirect = true`), `#` comment lines
// and blank lines. Each line becomes the argument `--key=value` and goes through the same parser
// as the command line (Options.swift), so the same validation applies; errors start with
// `file:line`. Pure: the caller reads the file (Runtime's readSmallFile) and passes its bytes.

import Wire

/// A config file's path (for messages) and its contents.
public struct ConfigFile: Equatable, Sendable {
  public var path: String
  public var bytes: [UInt8]
  public init(path: String, bytes: [UInt8]) {
    self.path = path
    self.bytes = bytes
  }

  /// At most 64 KiB: every option once with its longest value is far less; the bound keeps a
  /// wrong path (a log, a device) from being read into memory whole.
  public static let maxBytes = 1 << 16
  /// At most 8192 bytes a line: twice the longest value an option accepts (an `exec:` command
  /// of 4096 bytes) plus its key; a longer line is not a config line.
  public static let maxLineBytes = 8192
}

/// One `key = value` line of a config file.
public struct ConfigLine: Equatable, Sendable {
  public var key: String
  public var value: String
  /// 1-based line number.
  public var line: Int
}

/// Options that may be given more than once. A repeatable option given on the command line
/// replaces all of that key's lines from the file (the command line decides, as for the others).
let repeatableOptions: Set<String> = ["ice-host", "auth", "auth-file", "token", "token-file", "forward"]
/// Options that take no value; in the file they are `key = true` or `key = false`.
let flagOptions: Set<String> = ["http-redirect"]

/// Splits a config file into its key/value lines. Errors name `path:line` and the reason;
/// whether a key is an option, and its value, are checked by the option parser.
public func parseConfigLines(_ file: ConfigFile) throws(OptionError) -> [ConfigLine] {
  guard file.bytes.count <= ConfigFile.maxBytes else {
    throw OptionError("\(file.path) is larger than \(ConfigFile.maxBytes) bytes")
  }
  var out: [ConfigLine] = []
  var firstLine: [String: Int] = [:]
  for (index, raw) in file.bytes.split(separator: 10, omittingEmptySubsequences: false).enumerated() {
    let number = index + 1
    let at = "\(file.path):\(number)"
    guard raw.count <= ConfigFile.maxLineBytes else {
      throw OptionError("\(at): the line is longer than \(ConfigFile.maxLineBytes) bytes")
    }
    var bytes = Array(raw)
    if bytes.last == 13 { bytes.removeLast() }  // CRLF files
    for b in bytes where (b < 32 && b != 9) || b == 127 {
      throw OptionError("\(at): control character \(b) in the line")
    }
    let text = String(decoding: bytes, as: UTF8.self)
    guard Array(text.utf8) == bytes else { throw OptionError("\(at): the line is not valid UTF-8") }
    let line = text.trimmedASCII
    if line.isEmpty || line.hasPrefix("#") { continue }
    guard let eq = line.utf8.firstIndex(of: UInt8(ascii: "=")) else {
      // the line is not repeated: it may hold a password or token written without its `=`
      throw OptionError("\(at): expected 'key = value' (there is no '=')")
    }
    let key = String(line[..<eq]).trimmedASCII
    let value = String(line[line.index(after: eq)...]).trimmedASCII
    guard !key.isEmpty, key.utf8.allSatisfy({ ($0 >= 97 && $0 <= 122) || ($0 >= 48 && $0 <= 57) || $0 == 45 }),
      !key.hasPrefix("-")
    else {
      throw OptionError("\(at): '\(key)' is not a key (keys are long option names without the dashes, e.g. http-port)")
    }
    if key == "config" { throw OptionError("\(at): a config file cannot name another config file") }
    if !repeatableOptions.contains(key) {
      if let first = firstLine[key] { throw OptionError("\(at): \(key) is set again (first on line \(first))") }
      firstLine[key] = number
    }
    out.append(ConfigLine(key: key, value: value, line: number))
  }
  return out
}

/// Takes `--config PATH` (or `--config=PATH`) out of the serve command line.
func splitConfigOption(_ args: [String]) throws(OptionError) -> (rest: [String], path: String?) {
  var rest: [String] = []
  var path: String? = nil
  var i = 0
  while i < args.count {
    let a = args[i]
    var found: String? = nil
    if a == "--config" {
      guard i + 1 < args.count else { throw OptionError("option --config needs a value") }
      i += 1
      found = args[i]
    } else if a.hasPrefix("--config=") {
      found = String(a.dropFirst(9))
    }
    if let p = found {
      guard path == nil else { throw OptionError("--config may be given once") }
      guard !p.isEmpty else { throw OptionError("--config needs a file name") }
      path = p
    } else {
      rest.append(a)
    }
    i += 1
  }
  return (rest, path)
}

/// The config file to read for this command line, if any (nil for probe, devices and passwd,
/// which take no config file, and for a malformed `--config`, which the parser then reports).
public func configPath(in args: [String]) -> String? {
  if let first = args.first, first == "probe" || first == "devices" || first == "passwd" { return nil }
  if asksForHelpOrVersion(args) { return nil }
  return (try? splitConfigOption(args))?.path
}

/// `--help` and `--version` answer without reading the config file.
func asksForHelpOrVersion(_ args: [String]) -> Bool {
  if args.first == "help" || args.first == "version" { return true }
  return args.contains { $0 == "-h" || $0 == "--help" || $0 == "-V" || $0 == "--version" }
}

/// The file's lines as arguments, then the command line's; a repeatable option on the command
/// line drops the file's lines of that key. `origins` holds `file:line` for the file's arguments.
func mergeConfig(_ file: ConfigFile, commandLine: [String]) throws(OptionError) -> (args: [String], origins: [String?]) {
  var cmd = commandLine
  var args: [String] = []
  var origins: [String?] = []
  if cmd.first == "serve" {
    args.append(cmd.removeFirst())
    origins.append(nil)
  }
  var replaced: Set<String> = []
  for a in cmd where a.hasPrefix("--") {
    let name = String(a.dropFirst(2).split(separator: "=", maxSplits: 1).first ?? "")
    if repeatableOptions.contains(name) { replaced.insert(name) }
  }
  for entry in try parseConfigLines(file) where !replaced.contains(entry.key) {
    let at = "\(file.path):\(entry.line)"
    if flagOptions.contains(entry.key) {
      switch entry.value {
      case "true": args.append("--" + entry.key)
      case "false": continue
      default: throw OptionError("\(at): \(entry.key) must be true or false, not '\(entry.value)'")
      }
    } else if entry.key == "help" || entry.key == "version" {
      throw OptionError("\(at): unknown key '\(entry.key)'")
    } else {
      args.append("--" + entry.key + "=" + entry.value)
    }
    origins.append(at)
  }
  args += cmd
  origins += [String?](repeating: nil, count: cmd.count)
  return (args, origins)
}

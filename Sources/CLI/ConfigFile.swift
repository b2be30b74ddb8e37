// The `--config` file: `key = value` lines named like the long options without the dashes
// (`source = v4l2:/dev/video0`, `http-port = 8080`, `http-redirect = true`), `#` comment lines
// and blank lines. The keys are the option table's (OptionTable.swift); each line's value goes
// through the same checks as the command line's (Options.swift); errors start with `file:line`.
// Pure: the caller reads the file (Runtime's readSmallFile) and passes its bytes.

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

/// One `key = value` line of a config file, its key an option of the table.
public struct ConfigLine: Equatable, Sendable {
  public var key: OptionKey
  /// The value as written; for a flag "true" or "false".
  public var value: String
  /// 1-based line number.
  public var line: Int
}

/// Splits a config file into its key/value lines. Errors name `path:line` and the reason: a line
/// that is not `key = value`, a key that is no option files may set, a flag that is not true or
/// false, a key set twice that is not repeatable. The values are checked by the option parser.
public func parseConfigLines(_ file: ConfigFile) throws(OptionError) -> [ConfigLine] {
  guard file.bytes.count <= ConfigFile.maxBytes else {
    throw OptionError(file.path + " is larger than " + String(ConfigFile.maxBytes) + " bytes")
  }
  var out: [ConfigLine] = []
  var firstLine = OptionKeyMap<Int>()
  for (index, raw) in file.bytes.split(separator: 10, omittingEmptySubsequences: false).enumerated() {
    let number = index + 1
    let at = file.path + ":" + String(number)
    guard let (key, value) = try keyAndValue(raw, at: at) else { continue }
    if key == OptionKey.config.spec.name.dropFirst(2) { throw OptionError(at + ": a config file cannot name another config file") }
    guard let spec = option(configKey: key) else { throw OptionError(at + ": unknown key '" + key + "'") }
    if spec.isFlag && value != "true" && value != "false" {
      throw OptionError(at + ": " + key + " must be true or false, not '" + value + "'")
    }
    if !spec.repeatable {
      if let first = firstLine[spec.key] { throw OptionError(at + ": " + key + " is set again (first on line " + String(first) + ")") }
      firstLine[spec.key] = number
    }
    out.append(ConfigLine(key: spec.key, value: value, line: number))
  }
  return out
}

/// One line's key and value, nil for a blank or comment line; `at` is "path:line" for errors.
func keyAndValue(_ raw: ArraySlice<UInt8>, at: String) throws(OptionError) -> (String, String)? {
  guard raw.count <= ConfigFile.maxLineBytes else {
    throw OptionError(at + ": the line is longer than " + String(ConfigFile.maxLineBytes) + " bytes")
  }
  var bytes = Array(raw)
  if bytes.last == 13 { bytes.removeLast() }  // CRLF files
  for b in bytes where (b < 32 && b != 9) || b == 127 {
    throw OptionError(at + ": control character " + String(b) + " in the line")
  }
  let text = String(decoding: bytes, as: UTF8.self)
  guard Array(text.utf8) == bytes else { throw OptionError(at + ": the line is not valid UTF-8") }
  let line = text.trimmedASCII
  if line.isEmpty || line.hasPrefix("#") { return nil }
  guard let eq = line.utf8.firstIndex(of: UInt8(ascii: "=")) else {
    // the line is not repeated: it may hold a password or token written without its `=`
    throw OptionError(at + ": expected 'key = value' (there is no '=')")
  }
  let key = String(line[..<eq]).trimmedASCII
  let value = String(line[line.index(after: eq)...]).trimmedASCII
  guard !key.isEmpty, key.utf8.allSatisfy({ ($0 >= 97 && $0 <= 122) || ($0 >= 48 && $0 <= 57) || $0 == 45 }),
    !key.hasPrefix("-")
  else {
    throw OptionError(at + ": '" + key + "' is not a key (keys are long option names without the dashes, e.g. http-port)")
  }
  return (key, value)
}

/// A config file setting for the serve parser: the option, its value ("" for a flag that is set),
/// and "path:line" for its errors.
struct ConfigSetting: Sendable {
  var spec: OptionSpec
  var value: String
  var origin: String
}

/// The file's settings in file order; a flag set to false is no setting.
func configSettings(_ file: ConfigFile) throws(OptionError) -> [ConfigSetting] {
  var out: [ConfigSetting] = []
  for line in try parseConfigLines(file) {
    let spec = line.key.spec
    if spec.isFlag && line.value == "false" { continue }
    out.append(ConfigSetting(spec: spec, value: spec.isFlag ? "" : line.value, origin: file.path + ":" + String(line.line)))
  }
  return out
}

/// Takes `--config PATH` (or `--config=PATH`) out of the serve command line.
func splitConfigOption(_ args: [String]) throws(OptionError) -> (rest: [String], path: String?) {
  let name = OptionKey.config.spec.name
  var rest: [String] = []
  var path: String? = nil
  var i = 0
  while i < args.count {
    let a = args[i]
    var found: String? = nil
    if a == name {
      guard i + 1 < args.count else { throw OptionError("option " + name + " needs a value") }
      i += 1
      found = args[i]
    } else if a.hasPrefix(name + "=") {
      found = String(a.dropFirst(name.utf8.count + 1))
    }
    if let p = found {
      guard path == nil else { throw OptionError(name + " may be given once") }
      guard !p.isEmpty else { throw OptionError(name + " needs a file name") }
      path = p
    } else {
      rest.append(a)
    }
    i += 1
  }
  return (rest, path)
}

/// The config file to read for this command line, if any (nil for the commands other than serve,
/// which take no config file, and for a malformed `--config`, which the parser then reports).
public func configPath(in args: [String]) -> String? {
  if let first = args.first, let command = CommandName(word: first), command != .serve { return nil }
  if asksForHelpOrVersion(args) { return nil }
  return (try? splitConfigOption(args))?.path
}

/// `--help` and `--version` answer without reading the config file.
func asksForHelpOrVersion(_ args: [String]) -> Bool {
  if let first = args.first, helpOrVersionWord(first) != nil { return true }
  return args.contains { helpOrVersion($0) != nil }
}

// Reading a command's arguments against the option table (`--name value`, `--name=value`, short
// names, words), and the value checks the options share; every error names the option.
import App
import Capture
import Encoder
import Wire

/// One argument of a command line, read against that command's options.
enum Argument: Sendable {
  /// An option of the command with its value ("" for a flag).
  case option(OptionSpec, value: String)
  /// An argument that does not start with "-": a command word or an operand.
  case word(String)
  /// An argument starting with "-" that is no option of the command: `name` without any
  /// `=value`, `argument` as given.
  case unknown(name: String, argument: String)
}

/// Reads `args` one argument at a time, so errors come in the order of the command line.
struct ArgumentReader {
  let args: [String]
  let command: CommandName
  /// The position of the argument `next()` returned last.
  private(set) var index = 0
  private var position = 0

  init(_ args: [String], command: CommandName) {
    self.args = args
    self.command = command
  }

  /// The next argument (taking an option's value from the next one unless it was `--name=value`),
  /// or nil at the end.
  mutating func next() throws(OptionError) -> Argument? {
    guard position < args.count else { return nil }
    index = position
    let arg = args[position]
    position += 1
    guard arg.hasPrefix("-") else { return .word(arg) }
    var name = arg
    var inline: String? = nil
    if arg.hasPrefix("--"), let eq = arg.utf8.firstIndex(of: UInt8(ascii: "=")) {
      inline = String(arg[arg.index(after: eq)...])
      name = String(arg[..<eq])
    }
    guard let spec = option(named: name, of: command) else { return .unknown(name: name, argument: arg) }
    if spec.isFlag {
      guard inline == nil else { throw OptionError("option " + spec.name + " takes no value") }
      return .option(spec, value: "")
    }
    if let v = inline { return .option(spec, value: v) }
    guard position < args.count else { throw OptionError("option " + name + " needs a value") }
    position += 1
    return .option(spec, value: args[position - 1])
  }
}

/// `--help`/`-h` and `--version`/`-V`, also written as the words `help` and `version`.
func helpOrVersion(_ arg: String) -> OptionKey? {
  for key in [OptionKey.help, .version] {
    let s = key.spec
    if arg == s.name || s.isShort(arg) { return key }
  }
  return nil
}

/// The words `help` and `version` (the long names without their dashes).
func helpOrVersionWord(_ word: String) -> OptionKey? {
  for key in [OptionKey.help, .version] where key.spec.name.dropFirst(2) == word { return key }
  return nil
}

// The value checks. Each takes the option's row, so its name and its range come from the table.
// (Messages are joined with + rather than interpolated: in Embedded Swift that is a sixth of the code.)
extension OptionSpec {
  /// "NAME must be WHAT, not 'TEXT'".
  func mustBe(_ what: String, _ text: String) -> OptionError {
    OptionError(name + " must be " + what + ", not '" + text + "'")
  }

  /// A whole number (or whole seconds) within the row's range.
  func number(_ text: String) throws(OptionError) -> Int {
    let range: ClosedRange<Int>
    let what: String
    switch value {
    case .number(let r): (range, what) = (r, "a whole number from " + String(r.lowerBound))
    case .seconds(let r): (range, what) = (r, "whole seconds from " + String(r.lowerBound) + (r.lowerBound == 0 ? " (off)" : ""))
    default: throw OptionError(name + " takes no number")
    }
    guard let n = parseDecimal(text), range.contains(n) else { throw mustBe(what + " to " + String(range.upperBound), text) }
    return n
  }

  /// Bits per second within the row's range ("800k", "2M").
  func bitrate(_ text: String) throws(OptionError) -> Int {
    guard case .bitrate(let r) = value else { throw OptionError(name + " takes no bitrate") }
    guard let b = parseBitrate(text), r.contains(b) else {
      throw mustBe("bits per second from " + bitrateText(r.lowerBound) + " to " + bitrateText(r.upperBound) + " (e.g. 800k, 2M)", text)
    }
    return b
  }

  /// WIDTHxHEIGHT, even numbers within `sizeLimits`.
  func size(_ text: String) throws(OptionError) -> (Int, Int) {
    guard let size = parseSizeOption(text) else { throw mustBe("WIDTHxHEIGHT with even numbers, e.g. 640x480", text) }
    return size
  }

  /// The error for a word that is not one of a `.choice` row's words.
  func notAChoice(_ text: String) -> OptionError {
    guard case .choice(let words) = value else { return mustBe("something else", text) }
    return mustBe(wordList(words, "or"), text)
  }

  /// A numeric IPv4 or IPv6 address; the error shows the row's examples.
  func address(_ text: String) throws(OptionError) -> String {
    guard looksLikeIP(text) else {
      throw mustBe("a numeric IP address" + (exampleList.isEmpty ? "" : " (e.g. " + exampleList.joined(separator: ", ") + ")"), text)
    }
    return text
  }

  /// A path starting with /.
  func absolutePath(_ text: String) throws(OptionError) -> String {
    guard text.hasPrefix("/") else { throw mustBe("an absolute path", text) }
    return text
  }

  /// A source spec: one of the row's detail terms (testsrc, y4m:PATH, ...).
  func source(_ text: String) throws(OptionError) -> String {
    if let problem = execSourceProblem(text) { throw OptionError(problem) }
    guard SourceSpec.parse(text) != nil else { throw mustBe(wordList(detailList.map { $0.term }, "or"), text) }
    return text
  }

  /// A V4L2 pixel format rtcam captures ("YUYV", "I420", ...).
  func pixelFormat(_ text: String) throws(OptionError) -> String {
    guard parsePixelFormatOption(text) != nil else {
      throw mustBe("one of " + V4L2PixelLayout.supported.map { $0.text }.joined(separator: ", ") + " (I420 = YU12)", text)
    }
    return text
  }

  /// An encoder preset by name.
  func preset(_ text: String) throws(OptionError) -> EncoderPreset {
    guard let p = EncoderPreset(name: text) else { throw notAChoice(text) }
    return p
  }

  func encoder(_ text: String) throws(OptionError) -> EncoderRequest {
    guard let e = EncoderRequest.parse(text) else {
      throw OptionError(name + " must be auto, openh264, v4l2m2m or v4l2m2m:/dev/videoN, not '" + text + "'")
    }
    return e
  }
}

/// "640x480" → (640, 480): even numbers within `sizeLimits`.
func parseSizeOption(_ s: String) -> (Int, Int)? {
  let parts = s.asciiLowercased.splitASCII(UInt8(ascii: "x"))
  guard parts.count == 2,
    let w = parseDecimal(parts[0], max: UInt64(sizeLimits.width.upperBound)),
    let h = parseDecimal(parts[1], max: UInt64(sizeLimits.height.upperBound)),
    sizeLimits.width.contains(w), sizeLimits.height.contains(h), w % 2 == 0, h % 2 == 0
  else { return nil }
  return (w, h)
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

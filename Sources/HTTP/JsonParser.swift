// Reading JSON text (RFC 8259) with bounds on size and depth, for the HTTP API.
import Wire

/// Why JSON text was rejected; `offset` is the byte position where parsing stopped.
public struct JsonError: Error, Equatable, Sendable {
  public var message: String
  public var offset: Int

  public init(message: String, offset: Int) {
    self.message = message
    self.offset = offset
  }
}

/// Parses one JSON value (RFC 8259) from UTF-8 bytes. Whitespace may surround it; anything else
/// after it is an error. Rejects input longer than `maxBytes`, nesting deeper than `maxDepth`
/// objects/arrays (clamped to 256, so recursion stays shallow), invalid UTF-8, raw control
/// characters in strings, lone surrogates, duplicate object member names and leading zeros.
public func parseJson(_ bytes: [UInt8], maxDepth: Int = 16, maxBytes: Int = 1 << 20) throws(JsonError) -> JsonValue {
  guard bytes.count <= maxBytes else { throw JsonError(message: "JSON text too large", offset: 0) }
  var p = JsonParser(b: bytes, maxDepth: min(max(maxDepth, 0), 256))
  p.skipWhitespace()
  let v = try p.parseValue(depth: 0)
  p.skipWhitespace()
  guard p.i == bytes.count else { throw JsonError(message: "unexpected data after JSON value", offset: p.i) }
  return v
}

/// `parseJson` for a String.
public func parseJson(_ text: String, maxDepth: Int = 16, maxBytes: Int = 1 << 20) throws(JsonError) -> JsonValue {
  try parseJson(Array(text.utf8), maxDepth: maxDepth, maxBytes: maxBytes)
}

struct JsonParser: Sendable {
  let b: [UInt8]
  var i = 0
  let maxDepth: Int

  init(b: [UInt8], maxDepth: Int) {
    self.b = b
    self.maxDepth = maxDepth
  }

  func fail(_ m: String) -> JsonError { JsonError(message: m, offset: i) }

  mutating func skipWhitespace() {
    while i < b.count {
      let c = b[i]
      guard c == 32 || c == 9 || c == 10 || c == 13 else { return }
      i += 1
    }
  }

  mutating func parseValue(depth: Int) throws(JsonError) -> JsonValue {
    guard i < b.count else { throw fail("unexpected end of JSON") }
    switch b[i] {
    case UInt8(ascii: "{"):
      guard depth < maxDepth else { throw fail("JSON nested too deeply") }
      return try parseObject(depth: depth + 1)
    case UInt8(ascii: "["):
      guard depth < maxDepth else { throw fail("JSON nested too deeply") }
      return try parseArray(depth: depth + 1)
    case UInt8(ascii: "\""):
      return .string(try parseString())
    case UInt8(ascii: "t"):
      try literal("true")
      return .bool(true)
    case UInt8(ascii: "f"):
      try literal("false")
      return .bool(false)
    case UInt8(ascii: "n"):
      try literal("null")
      return .null
    case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
      return .number(try parseNumber())
    default:
      throw fail("unexpected character")
    }
  }

  mutating func literal(_ word: StaticString) throws(JsonError) {
    let n = word.utf8CodeUnitCount
    guard b.count - i >= n else { throw fail("invalid literal") }
    let p = word.utf8Start
    for k in 0..<n where b[i + k] != p[k] { throw fail("invalid literal") }
    i += n
  }

  mutating func parseObject(depth: Int) throws(JsonError) -> JsonValue {
    i += 1  // {
    var members: [(String, JsonValue)] = []
    var names = Set<String>()
    skipWhitespace()
    if i < b.count && b[i] == UInt8(ascii: "}") {
      i += 1
      return .object(members)
    }
    while true {
      skipWhitespace()
      guard i < b.count, b[i] == UInt8(ascii: "\"") else { throw fail("expected member name") }
      let start = i
      let name = try parseString()
      guard names.insert(name).inserted else { throw JsonError(message: "duplicate member name", offset: start) }
      skipWhitespace()
      guard i < b.count, b[i] == UInt8(ascii: ":") else { throw fail("expected ':'") }
      i += 1
      skipWhitespace()
      let v = try parseValue(depth: depth)
      members.append((name, v))
      skipWhitespace()
      guard i < b.count else { throw fail("unterminated object") }
      if b[i] == UInt8(ascii: ",") { i += 1; continue }
      if b[i] == UInt8(ascii: "}") { i += 1; return .object(members) }
      throw fail("expected ',' or '}'")
    }
  }

  mutating func parseArray(depth: Int) throws(JsonError) -> JsonValue {
    i += 1  // [
    var items: [JsonValue] = []
    skipWhitespace()
    if i < b.count && b[i] == UInt8(ascii: "]") {
      i += 1
      return .array(items)
    }
    while true {
      skipWhitespace()
      items.append(try parseValue(depth: depth))
      skipWhitespace()
      guard i < b.count else { throw fail("unterminated array") }
      if b[i] == UInt8(ascii: ",") { i += 1; continue }
      if b[i] == UInt8(ascii: "]") { i += 1; return .array(items) }
      throw fail("expected ',' or ']'")
    }
  }

  mutating func hex4() throws(JsonError) -> UInt32 {
    guard b.count - i >= 4 else { throw fail("truncated \\u escape") }
    var v: UInt32 = 0
    for k in 0..<4 {
      guard let h = hexValue(b[i + k]) else { throw fail("invalid \\u escape") }
      v = v << 4 | UInt32(h)
    }
    i += 4
    return v
  }

  mutating func parseString() throws(JsonError) -> String {
    i += 1  // opening quote
    var out: [UInt8] = []
    let start = i
    while true {
      guard i < b.count else { throw fail("unterminated string") }
      let c = b[i]
      if c == UInt8(ascii: "\"") {
        i += 1
        break
      }
      if c < 0x20 { throw fail("control character in string") }
      if c != UInt8(ascii: "\\") {
        out.append(c)
        i += 1
        continue
      }
      i += 1
      guard i < b.count else { throw fail("unterminated escape") }
      let e = b[i]
      i += 1
      switch e {
      case UInt8(ascii: "\""): out.append(0x22)
      case UInt8(ascii: "\\"): out.append(0x5C)
      case UInt8(ascii: "/"): out.append(0x2F)
      case UInt8(ascii: "b"): out.append(0x08)
      case UInt8(ascii: "f"): out.append(0x0C)
      case UInt8(ascii: "n"): out.append(0x0A)
      case UInt8(ascii: "r"): out.append(0x0D)
      case UInt8(ascii: "t"): out.append(0x09)
      case UInt8(ascii: "u"):
        var scalar = try hex4()
        if scalar >= 0xDC00 && scalar <= 0xDFFF { throw fail("lone low surrogate") }
        if scalar >= 0xD800 && scalar <= 0xDBFF {
          guard b.count - i >= 2, b[i] == UInt8(ascii: "\\"), b[i + 1] == UInt8(ascii: "u") else {
            throw fail("lone high surrogate")
          }
          i += 2
          let low = try hex4()
          guard low >= 0xDC00 && low <= 0xDFFF else { throw fail("lone high surrogate") }
          scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
        }
        appendUTF8(&out, scalar)
      default:
        throw fail("invalid escape")
      }
    }
    guard isValidUTF8(out) else { throw JsonError(message: "invalid UTF-8 in string", offset: start) }
    return String(decoding: out, as: UTF8.self)
  }

  /// -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
  mutating func parseNumber() throws(JsonError) -> String {
    let start = i
    if b[i] == UInt8(ascii: "-") { i += 1 }
    guard i < b.count, isDigit(b[i]) else { throw fail("invalid number") }
    if b[i] == UInt8(ascii: "0") {
      i += 1
      if i < b.count && isDigit(b[i]) { throw fail("leading zero in number") }
    } else {
      while i < b.count && isDigit(b[i]) { i += 1 }
    }
    if i < b.count && b[i] == UInt8(ascii: ".") {
      i += 1
      guard i < b.count, isDigit(b[i]) else { throw fail("invalid number fraction") }
      while i < b.count && isDigit(b[i]) { i += 1 }
    }
    if i < b.count && (b[i] == UInt8(ascii: "e") || b[i] == UInt8(ascii: "E")) {
      i += 1
      if i < b.count && (b[i] == UInt8(ascii: "+") || b[i] == UInt8(ascii: "-")) { i += 1 }
      guard i < b.count, isDigit(b[i]) else { throw fail("invalid number exponent") }
      while i < b.count && isDigit(b[i]) { i += 1 }
    }
    return String(decoding: b[start..<i], as: UTF8.self)
  }
}

@inline(__always) func isDigit(_ c: UInt8) -> Bool { c >= 48 && c <= 57 }

func appendUTF8(_ out: inout [UInt8], _ s: UInt32) {
  switch s {
  case 0..<0x80:
    out.append(UInt8(s))
  case 0x80..<0x800:
    out.append(UInt8(0xC0 | (s >> 6)))
    out.append(UInt8(0x80 | (s & 0x3F)))
  case 0x800..<0x10000:
    out.append(UInt8(0xE0 | (s >> 12)))
    out.append(UInt8(0x80 | ((s >> 6) & 0x3F)))
    out.append(UInt8(0x80 | (s & 0x3F)))
  default:
    out.append(UInt8(0xF0 | ((s >> 18) & 0x07)))
    out.append(UInt8(0x80 | ((s >> 12) & 0x3F)))
    out.append(UInt8(0x80 | ((s >> 6) & 0x3F)))
    out.append(UInt8(0x80 | (s & 0x3F)))
  }
}

/// Small text helpers that work in Embedded Swift (no Foundation).
public enum Hex: Sendable {
  static let digitsLower: [UInt8] = Array("0123456789abcdef".utf8)
  static let digitsUpper: [UInt8] = Array("0123456789ABCDEF".utf8)

  /// Lower-case hex without separators.
  public static func encode(_ bytes: [UInt8], upper: Bool = false) -> String {
    let d = upper ? digitsUpper : digitsLower
    var out: [UInt8] = []
    out.reserveCapacity(bytes.count * 2)
    for b in bytes {
      out.append(d[Int(b >> 4)])
      out.append(d[Int(b & 15)])
    }
    return String(decoding: out, as: UTF8.self)
  }

  /// "AB:CD:..." as used by SDP `a=fingerprint`.
  public static func fingerprint(_ bytes: [UInt8]) -> String {
    var out: [UInt8] = []
    out.reserveCapacity(bytes.count * 3)
    for (i, b) in bytes.enumerated() {
      if i > 0 { out.append(UInt8(ascii: ":")) }
      out.append(digitsUpper[Int(b >> 4)])
      out.append(digitsUpper[Int(b & 15)])
    }
    return String(decoding: out, as: UTF8.self)
  }

  /// Parses hex digits, ignoring ':' separators. Returns nil on any other character or odd length.
  public static func decode(_ text: String) -> [UInt8]? {
    var out: [UInt8] = []
    var high: UInt8? = nil
    for c in text.utf8 {
      if c == UInt8(ascii: ":") { continue }
      guard let v = nibble(c) else { return nil }
      if let h = high { out.append(h << 4 | v); high = nil } else { high = v }
    }
    return high == nil ? out : nil
  }

  public static func nibble(_ c: UInt8) -> UInt8? {
    switch c {
    case UInt8(ascii: "0")...UInt8(ascii: "9"): return c - UInt8(ascii: "0")
    case UInt8(ascii: "a")...UInt8(ascii: "f"): return c - UInt8(ascii: "a") + 10
    case UInt8(ascii: "A")...UInt8(ascii: "F"): return c - UInt8(ascii: "A") + 10
    default: return nil
    }
  }
}

extension String {
  /// ASCII lower-casing (protocol tokens: header names, codec names).
  public var asciiLowercased: String {
    var out = Array(utf8)
    for i in 0..<out.count where out[i] >= 65 && out[i] <= 90 { out[i] += 32 }
    return String(decoding: out, as: UTF8.self)
  }

  /// Trims ASCII spaces, tabs, CR and LF at both ends.
  public var trimmedASCII: String {
    let u = Array(utf8)
    var a = 0
    var b = u.count
    while a < b && isSpace(u[a]) { a += 1 }
    while b > a && isSpace(u[b - 1]) { b -= 1 }
    return String(decoding: u[a..<b], as: UTF8.self)
  }

  /// Splits on a single ASCII byte; keeps empty fields.
  public func splitASCII(_ separator: UInt8, maxSplits: Int = Int.max) -> [String] {
    var parts: [String] = []
    var cur: [UInt8] = []
    for c in utf8 {
      if c == separator && parts.count < maxSplits {
        parts.append(String(decoding: cur, as: UTF8.self))
        cur.removeAll(keepingCapacity: true)
      } else {
        cur.append(c)
      }
    }
    parts.append(String(decoding: cur, as: UTF8.self))
    return parts
  }
}

@inline(__always) func isSpace(_ c: UInt8) -> Bool { c == 32 || c == 9 || c == 13 || c == 10 }

/// Parses a non-negative decimal integer (no sign, no spaces). Returns nil on overflow or junk.
public func parseDecimal(_ s: String, max: UInt64 = UInt64(Int.max)) -> Int? {
  var v: UInt64 = 0
  var any = false
  for c in s.utf8 {
    guard c >= 48 && c <= 57 else { return nil }
    let (m, o1) = v.multipliedReportingOverflow(by: 10)
    let (a, o2) = m.addingReportingOverflow(UInt64(c - 48))
    if o1 || o2 || a > max { return nil }
    v = a
    any = true
  }
  return any && v <= UInt64(Int.max) ? Int(v) : nil
}

/// Formats `value / 10^decimals` with a fixed number of decimals ("12.34"); Embedded Swift
/// cannot print floating point numbers, so durations and rates are kept as scaled integers.
public func formatFixed(_ value: Int, decimals: Int) -> String {
  var scale = 1
  for _ in 0..<decimals { scale *= 10 }
  let neg = value < 0
  let v = neg ? -value : value
  var frac = String(v % scale)
  while frac.utf8.count < decimals { frac = "0" + frac }
  return (neg ? "-" : "") + String(v / scale) + (decimals > 0 ? "." + frac : "")
}

/// Escapes a string for a JSON string literal (without the quotes).
public func jsonEscape(_ s: String) -> String {
  var out: [UInt8] = []
  out.reserveCapacity(s.utf8.count + 8)
  let hex = Array("0123456789abcdef".utf8)
  for c in s.utf8 {
    switch c {
    case UInt8(ascii: "\""): out.append(92); out.append(c)
    case UInt8(ascii: "\\"): out.append(92); out.append(c)
    case 10: out.append(92); out.append(UInt8(ascii: "n"))
    case 13: out.append(92); out.append(UInt8(ascii: "r"))
    case 9: out.append(92); out.append(UInt8(ascii: "t"))
    case 0..<32:
      out.append(contentsOf: Array("\\u00".utf8))
      out.append(hex[Int(c >> 4)])
      out.append(hex[Int(c & 15)])
    default: out.append(c)
    }
  }
  return String(decoding: out, as: UTF8.self)
}

/// Trims spaces and horizontal tabs (HTTP's and RTSP's optional whitespace) at both ends.
public func trimOWS(_ s: String) -> String {
  let u = Array(s.utf8)
  var a = 0
  var b = u.count
  while a < b && (u[a] == 32 || u[a] == 9) { a += 1 }
  while b > a && (u[b - 1] == 32 || u[b - 1] == 9) { b -= 1 }
  return String(decoding: u[a..<b], as: UTF8.self)
}

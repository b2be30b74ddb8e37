// Byte classes and small text helpers for HTTP: tchar, OWS, targets, UTF-8, percent-decoding.
import Wire

// MARK: - byte classes and small helpers

/// RFC 9110 tchar: ALPHA / DIGIT / "!#$%&'*+-.^_`|~".
@inline(__always) func isTchar(_ c: UInt8) -> Bool {
  switch c {
  case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
    UInt8(ascii: "0")...UInt8(ascii: "9"):
    return true
  case UInt8(ascii: "!"), UInt8(ascii: "#"), UInt8(ascii: "$"), UInt8(ascii: "%"), UInt8(ascii: "&"),
    UInt8(ascii: "'"), UInt8(ascii: "*"), UInt8(ascii: "+"), UInt8(ascii: "-"), UInt8(ascii: "."),
    UInt8(ascii: "^"), UInt8(ascii: "_"), UInt8(ascii: "`"), UInt8(ascii: "|"), UInt8(ascii: "~"):
    return true
  default:
    return false
  }
}

/// Splits an origin-form target at the first "?".
func splitTarget(_ t: [UInt8]) -> (path: String, query: String?) {
  if let q = t.firstIndex(of: UInt8(ascii: "?")) {
    return (String(decoding: t[..<q], as: UTF8.self), String(decoding: t[(q + 1)...], as: UTF8.self))
  }
  return (String(decoding: t, as: UTF8.self), nil)
}

@inline(__always) func hexValue(_ c: UInt8) -> UInt8? {
  switch c {
  case UInt8(ascii: "0")...UInt8(ascii: "9"): return c - UInt8(ascii: "0")
  case UInt8(ascii: "a")...UInt8(ascii: "f"): return c - UInt8(ascii: "a") + 10
  case UInt8(ascii: "A")...UInt8(ascii: "F"): return c - UInt8(ascii: "A") + 10
  default: return nil
  }
}

/// Strict UTF-8 validation (no overlongs, no surrogates, nothing above U+10FFFF).
func isValidUTF8(_ b: [UInt8]) -> Bool {
  var i = 0
  let n = b.count
  while i < n {
    let c = b[i]
    if c < 0x80 { i += 1; continue }
    var need = 0
    var lo: UInt8 = 0x80
    var hi: UInt8 = 0xBF
    switch c {
    case 0xC2...0xDF: need = 1
    case 0xE0: need = 2; lo = 0xA0
    case 0xE1...0xEC, 0xEE...0xEF: need = 2
    case 0xED: need = 2; hi = 0x9F
    case 0xF0: need = 3; lo = 0x90
    case 0xF1...0xF3: need = 3
    case 0xF4: need = 3; hi = 0x8F
    default: return false
    }
    guard i + need < n else { return false }
    let c1 = b[i + 1]
    guard c1 >= lo && c1 <= hi else { return false }
    var k = 2
    while k <= need {
      let ck = b[i + k]
      guard ck >= 0x80 && ck <= 0xBF else { return false }
      k += 1
    }
    i += need + 1
  }
  return true
}

/// Percent-decodes one path segment ("%41b" -> "Ab"). Returns nil on a truncated or non-hex
/// escape, on NUL (raw or %00) and when the decoded bytes are not valid UTF-8. "+" stays "+";
/// "%2F" decodes to "/" (callers split the path before decoding).
public func percentDecode(_ s: String) -> String? {
  let u = Array(s.utf8)
  var out: [UInt8] = []
  out.reserveCapacity(u.count)
  var i = 0
  while i < u.count {
    let c = u[i]
    if c == 0 { return nil }
    if c == UInt8(ascii: "%") {
      guard i + 2 < u.count, let h = hexValue(u[i + 1]), let l = hexValue(u[i + 2]) else { return nil }
      let v = h << 4 | l
      if v == 0 { return nil }
      out.append(v)
      i += 3
    } else {
      out.append(c)
      i += 1
    }
  }
  guard isValidUTF8(out) else { return nil }
  return String(decoding: out, as: UTF8.self)
}

// Byte helpers for the SDP parser: trimming, tokens, decimals, fmtp parameters.
import Wire

// MARK: - Byte helpers

@inline(__always) func isBlank(_ c: UInt8) -> Bool { c == 32 || c == 9 || c == 13 || c == 10 }

func trim(_ s: ArraySlice<UInt8>) -> ArraySlice<UInt8> {
  var a = s.startIndex
  var b = s.endIndex
  while a < b && isBlank(s[a]) { a += 1 }
  while b > a && isBlank(s[b - 1]) { b -= 1 }
  return s[a..<b]
}

/// Splits on runs of spaces/tabs.
func tokens(_ s: ArraySlice<UInt8>) -> [ArraySlice<UInt8>] {
  var out: [ArraySlice<UInt8>] = []
  var i = s.startIndex
  while i < s.endIndex {
    while i < s.endIndex && isBlank(s[i]) { i += 1 }
    let a = i
    while i < s.endIndex && !isBlank(s[i]) { i += 1 }
    if i > a { out.append(s[a..<i]) }
  }
  return out
}

/// First token and the trimmed rest.
func splitFirstToken(_ s: ArraySlice<UInt8>) -> (ArraySlice<UInt8>, ArraySlice<UInt8>) {
  let t = trim(s)
  var i = t.startIndex
  while i < t.endIndex && !isBlank(t[i]) { i += 1 }
  return (t[t.startIndex..<i], trim(t[i...]))
}

/// Non-empty, only visible ASCII (0x21...0x7E): safe to echo into an answer line.
func isVisibleToken(_ s: ArraySlice<UInt8>) -> Bool {
  guard !s.isEmpty else { return false }
  for c in s where c < 0x21 || c > 0x7e { return false }
  return true
}

func text(_ s: ArraySlice<UInt8>) -> String { String(decoding: s, as: UTF8.self) }

func decimal(_ s: ArraySlice<UInt8>, max: Int) -> Int? {
  guard !s.isEmpty, s.count <= 12 else { return nil }
  var v = 0
  for c in s {
    guard c >= 48 && c <= 57 else { return nil }
    v = v * 10 + Int(c - 48)
  }
  return v <= max ? v : nil
}

func equalsASCII(_ s: ArraySlice<UInt8>, _ literal: String, caseInsensitive: Bool = false) -> Bool {
  let l = literal.utf8
  guard s.count == l.count else { return false }
  var i = s.startIndex
  for c in l {
    var a = s[i]
    var b = c
    if caseInsensitive {
      if a >= 65 && a <= 90 { a += 32 }
      if b >= 65 && b <= 90 { b += 32 }
    }
    if a != b { return false }
    i += 1
  }
  return true
}

/// "a=1;b=2; c" -> ["a": "1", "b": "2", "c": ""].
func fmtpParameters(_ s: ArraySlice<UInt8>) -> [String: String] {
  var out: [String: String] = [:]
  for part in s.split(separator: UInt8(ascii: ";")) {
    let p = trim(part)
    if p.isEmpty { continue }
    if let eq = p.firstIndex(of: UInt8(ascii: "=")) {
      let key = text(trim(p[p.startIndex..<eq])).asciiLowercased
      if out[key] == nil { out[key] = text(trim(p[(eq + 1)...])) }
    } else {
      let key = text(p).asciiLowercased
      if out[key] == nil { out[key] = "" }
    }
  }
  return out
}

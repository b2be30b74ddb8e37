// ByteRange: the Range header of `GET /recordings/NAME.mp4` (RFC 9110 14.1-14.2), one range
// only, so players can seek in a recording.

/// What to answer a GET with a Range header.
public enum ByteRangeAnswer: Equatable, Sendable {
  /// 200 with the whole file: no Range, not a bytes range, malformed, or several ranges
  /// (RFC 9110 14.2: a server may ignore Range).
  case full
  /// 206 with bytes `first...last` of the file (both inclusive, within it).
  case partial(first: UInt64, last: UInt64)
  /// 416: a valid range that does not overlap the file.
  case unsatisfiable
}

/// Parsing of single byte ranges.
public enum ByteRange {
  /// Longest Range header value read; longer ones are ignored (a single range is at most
  /// `bytes=` and two 19-digit numbers).
  public static let maxHeaderBytes = 64

  /// The answer to `Range: header` for a file of `size` bytes (`bytes=a-b`, `bytes=a-`,
  /// `bytes=-n`; the unit is case-insensitive, spaces around the range are allowed).
  public static func parse(_ header: String?, size: UInt64) -> ByteRangeAnswer {
    guard let h = header else { return .full }
    let u = h.utf8
    guard u.count <= maxHeaderBytes else { return .full }
    var b: [UInt8] = []
    b.reserveCapacity(u.count)
    b.append(contentsOf: u)
    var i = 0
    while i < b.count && (b[i] == 32 || b[i] == 9) { i += 1 }
    let unit: [UInt8] = Array("bytes=".utf8)
    guard b.count - i >= unit.count else { return .full }
    var k = 0
    while k < unit.count {
      var c = b[i + k]
      if c >= UInt8(ascii: "A") && c <= UInt8(ascii: "Z") { c += 32 }
      if c != unit[k] { return .full }
      k += 1
    }
    i += unit.count
    var end = b.count
    while end > i && (b[end - 1] == 32 || b[end - 1] == 9) { end -= 1 }
    while i < end && (b[i] == 32 || b[i] == 9) { i += 1 }
    // first-pos, "-", last-pos; either number may be missing (not both)
    let first = number(b, &i, end)
    guard i < end, b[i] == UInt8(ascii: "-") else { return .full }
    i += 1
    let last = number(b, &i, end)
    guard i == end else { return .full }  // a comma (several ranges) or junk
    switch (first, last) {
    case (nil, nil):
      return .full
    case (nil, let n?):  // the last n bytes
      guard n > 0, size > 0 else { return .unsatisfiable }
      return .partial(first: n >= size ? 0 : size - n, last: size - 1)
    case (let a?, let z):
      if let z, z < a { return .full }  // invalid: ignored
      guard a < size else { return .unsatisfiable }
      return .partial(first: a, last: min(z ?? (size - 1), size - 1))
    }
  }

  /// The Content-Range value of a 206 (`bytes 0-99/1234`).
  public static func contentRange(first: UInt64, last: UInt64, size: UInt64) -> String {
    "bytes " + String(first) + "-" + String(last) + "/" + String(size)
  }

  /// The Content-Range value of a 416 (`bytes */1234`).
  public static func unsatisfiedRange(size: UInt64) -> String { "bytes */" + String(size) }

  /// Reads up to 19 digits at `i` (no overflow: 19 digits fit UInt64); nil if there are none
  /// or too many.
  static func number(_ b: [UInt8], _ i: inout Int, _ end: Int) -> UInt64? {
    var v: UInt64 = 0
    let start = i
    while i < end && b[i] >= UInt8(ascii: "0") && b[i] <= UInt8(ascii: "9") {
      guard i - start < 19 else { return nil }
      v = v * 10 + UInt64(b[i] - UInt8(ascii: "0"))
      i += 1
    }
    return i > start ? v : nil
  }
}

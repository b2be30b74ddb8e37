// SegmentName: recording files are named after their UTC start, `2026-12-06T18-46-36Z.mp4`
// (dashes in the time: FAT and exFAT cards forbid colons).

/// Segment file names and their start times.
public enum SegmentName {
  /// Length of every segment name: `YYYY-MM-DDTHH-MM-SSZ.mp4`.
  public static let length = 24
  /// Years a name may carry: four digits, and none before the Unix epoch.
  static let years = 1970...9999

  /// The name of a segment that starts at `unixSeconds` (UTC), or nil outside 1970...9999.
  public static func make(unixSeconds: Int64) -> String? {
    let t = CivilTime(unixSeconds: unixSeconds)
    guard years.contains(t.year) else { return nil }
    return t.format(timeSeparator: UInt8(ascii: "-")) + ".mp4"
  }

  /// The start (Unix seconds) of the segment named `name`, or nil unless `name` is exactly a
  /// name `make` produces: 24 characters of the pattern, digits only where digits go, a real
  /// date and time. Anything else (`../x.mp4`, `a.mp4`, `2026-13-01T00-00-00Z.mp4`, a trailing
  /// slash, upper case `.MP4`) is refused, so a name from a URL is safe to use as a file name.
  public static func parse(_ name: String) -> Int64? {
    let u = name.utf8
    guard u.count == length else { return nil }  // bounded before anything is read
    var b: [UInt8] = []
    b.reserveCapacity(length)
    b.append(contentsOf: u)
    // Fixed characters of the pattern, by position.
    let fixed: [(Int, UInt8)] = [
      (4, UInt8(ascii: "-")), (7, UInt8(ascii: "-")), (10, UInt8(ascii: "T")), (13, UInt8(ascii: "-")),
      (16, UInt8(ascii: "-")), (19, UInt8(ascii: "Z")), (20, UInt8(ascii: ".")), (21, UInt8(ascii: "m")),
      (22, UInt8(ascii: "p")), (23, UInt8(ascii: "4")),
    ]
    var i = 0
    while i < fixed.count {
      if b[fixed[i].0] != fixed[i].1 { return nil }
      i += 1
    }
    guard let year = number(b, 0, 4), let month = number(b, 5, 2), let day = number(b, 8, 2),
      let hour = number(b, 11, 2), let minute = number(b, 14, 2), let second = number(b, 17, 2)
    else { return nil }
    let t = CivilTime(year: year, month: month, day: day, hour: hour, minute: minute, second: second)
    guard years.contains(year), t.isValid else { return nil }
    return t.unixSeconds
  }

  /// `count` ASCII digits at `at` as a number, nil if any is not a digit.
  static func number(_ b: [UInt8], _ at: Int, _ count: Int) -> Int? {
    var v = 0
    var i = at
    while i < at + count {
      let c = b[i]
      guard c >= UInt8(ascii: "0") && c <= UInt8(ascii: "9") else { return nil }
      v = v * 10 + Int(c - UInt8(ascii: "0"))
      i += 1
    }
    return v
  }
}

// CivilTime: UTC calendar dates and times from Unix seconds and back (proleptic Gregorian),
// without a C library: what segment names and the listing's ISO 8601 times need.

/// A UTC date and time of day.
public struct CivilTime: Equatable, Sendable {
  /// The year (proleptic Gregorian; may be below 1 or above 9999 for far times).
  public var year: Int
  /// 1...12
  public var month: Int
  /// 1...31
  public var day: Int
  /// 0...23
  public var hour: Int
  /// 0...59
  public var minute: Int
  /// 0...59 (no leap seconds: Unix time has none)
  public var second: Int

  /// A time from its fields (not checked: see `isValid`).
  public init(year: Int, month: Int, day: Int, hour: Int, minute: Int, second: Int) {
    self.year = year
    self.month = month
    self.day = day
    self.hour = hour
    self.minute = minute
    self.second = second
  }

  /// The UTC time of `unixSeconds` (seconds since 1970-01-01T00:00:00Z; may be negative).
  public init(unixSeconds: Int64) {
    var days = unixSeconds / 86_400
    var rest = unixSeconds % 86_400
    if rest < 0 {
      rest += 86_400
      days -= 1
    }
    let date = CivilTime.date(fromDays: days)
    self.init(
      year: date.year, month: date.month, day: date.day, hour: Int(rest / 3600), minute: Int(rest / 60 % 60),
      second: Int(rest % 60))
  }

  /// Seconds since the Unix epoch (fields assumed in range; see `isValid`).
  public var unixSeconds: Int64 {
    CivilTime.days(year: year, month: month, day: day) * 86_400 + Int64(hour * 3600 + minute * 60 + second)
  }

  /// Whether every field is in range (the day within its month, no leap second).
  public var isValid: Bool {
    month >= 1 && month <= 12 && day >= 1 && day <= CivilTime.daysIn(month: month, year: year)
      && hour >= 0 && hour < 24 && minute >= 0 && minute < 60 && second >= 0 && second < 60
  }

  static func isLeap(_ y: Int) -> Bool { y % 4 == 0 && (y % 100 != 0 || y % 400 == 0) }

  static func daysIn(month: Int, year: Int) -> Int {
    switch month {
    case 2: return isLeap(year) ? 29 : 28
    case 4, 6, 9, 11: return 30
    default: return 31
    }
  }

  /// Days from 1970-01-01 to the date. Counted in 400-year cycles (146 097 days each) of years
  /// that begin on 1 March, so that the leap day falls at the end of a year: the day of such a
  /// year follows from the month by (153 * m + 2) / 5, m counted from March.
  static func days(year: Int, month: Int, day: Int) -> Int64 {
    let y = Int64(month <= 2 ? year - 1 : year)
    let cycle = (y >= 0 ? y : y - 399) / 400
    let yearOfCycle = y - cycle * 400  // 0...399
    let m = Int64(month > 2 ? month - 3 : month + 9)  // March = 0
    let dayOfYear = (153 * m + 2) / 5 + Int64(day) - 1  // 0...365
    let dayOfCycle = yearOfCycle * 365 + yearOfCycle / 4 - yearOfCycle / 100 + dayOfYear
    return cycle * 146_097 + dayOfCycle - 719_468  // 719 468: days from 0000-03-01 to 1970-01-01
  }

  /// The date `days` after 1970-01-01: the inverse of `days(year:month:day:)`.
  static func date(fromDays days: Int64) -> (year: Int, month: Int, day: Int) {
    let z = days + 719_468
    let cycle = (z >= 0 ? z : z - 146_096) / 146_097
    let dayOfCycle = z - cycle * 146_097  // 0...146096
    // Years into the cycle: remove the leap days that came before (one per 4 years, but not
    // per 100, again per 400; the cycle's last day belongs to year 399).
    let yearOfCycle = (dayOfCycle - dayOfCycle / 1460 + dayOfCycle / 36_524 - dayOfCycle / 146_096) / 365
    let dayOfYear = dayOfCycle - (365 * yearOfCycle + yearOfCycle / 4 - yearOfCycle / 100)  // from 1 March
    let m = (5 * dayOfYear + 2) / 153  // March = 0
    let day = dayOfYear - (153 * m + 2) / 5 + 1
    let month = m < 10 ? m + 3 : m - 9
    let year = yearOfCycle + cycle * 400 + (month <= 2 ? 1 : 0)
    return (Int(year), Int(month), Int(day))
  }

  /// ISO 8601 extended form, `2026-12-06T18:46:36Z` (for JSON).
  public var iso8601: String { format(timeSeparator: UInt8(ascii: ":")) }

  /// `YYYY-MM-DDTHH?MM?SSZ` with `timeSeparator` between the time's fields.
  func format(timeSeparator: UInt8) -> String {
    var b: [UInt8] = []
    b.reserveCapacity(20)
    CivilTime.digits(&b, year, 4)
    b.append(UInt8(ascii: "-"))
    CivilTime.digits(&b, month, 2)
    b.append(UInt8(ascii: "-"))
    CivilTime.digits(&b, day, 2)
    b.append(UInt8(ascii: "T"))
    CivilTime.digits(&b, hour, 2)
    b.append(timeSeparator)
    CivilTime.digits(&b, minute, 2)
    b.append(timeSeparator)
    CivilTime.digits(&b, second, 2)
    b.append(UInt8(ascii: "Z"))
    return String(decoding: b, as: UTF8.self)
  }

  /// `value` as exactly `width` decimal digits (callers keep it in range).
  static func digits(_ b: inout [UInt8], _ value: Int, _ width: Int) {
    var divisor = 1
    var i = 1
    while i < width {
      divisor *= 10
      i += 1
    }
    var v = value
    while divisor > 0 {
      b.append(UInt8(ascii: "0") + UInt8(truncatingIfNeeded: (v / divisor) % 10))
      v %= divisor
      divisor /= 10
    }
  }
}

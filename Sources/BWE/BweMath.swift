// Numeric helpers for the estimator. Sources/ has no Foundation (Embedded Swift), so the one
// transcendental function GCC needs, growth by a factor per second over part of a second, is
// computed here; and every conversion from a measured Double back to an Int goes through a
// clamp, so no input, however absurd, can trap.

enum BweMath {
  /// Nanoseconds per second and per millisecond; microseconds per second.
  static let nsPerSecond: UInt64 = 1_000_000_000
  static let nsPerMs: UInt64 = 1_000_000
  static let usPerSecond: Int64 = 1_000_000
  static let usPerMs = 1000.0
  static let bitsPerByte = 8.0

  /// The largest bitrate a measurement is converted to: Int32.max (2.1 Gbit/s), because Int is
  /// 32 bits on armv7 (a device target), and no camera link comes near it.
  static let bitrateCeiling = Double(Int32.max)

  /// e^x. Range reduction (halve x until |x| <= 1/16, at most 12 times for |x| <= 256), a
  /// Taylor series of 9 terms (error below 1e-16 there), then squaring back. |x| is clamped to
  /// 256 (e^256 ~ 1e111: the callers only ever pass rates times seconds of order 1); NaN gives 1.
  static func exp(_ x: Double) -> Double {
    guard !x.isNaN else { return 1 }
    let maxExponent = 256.0
    var r = min(max(x, -maxExponent), maxExponent)
    let reduced = 0.0625
    var halvings = 0
    while r.magnitude > reduced {
      r /= 2
      halvings += 1
    }
    let terms = 9
    var term = 1.0
    var sum = 1.0
    for n in 1...terms {
      term *= r / Double(n)
      sum += term
    }
    for _ in 0..<halvings { sum *= sum }
    return sum
  }

  /// Time from `earlier` to `now` in ns; 0 if the clock seems to have gone backwards.
  static func elapsed(from earlier: UInt64, to now: UInt64) -> UInt64 {
    now >= earlier ? now - earlier : 0
  }

  /// `t + d`, saturating at the end of the clock (a hostile `now` cannot wrap a deadline).
  static func later(_ t: UInt64, by d: UInt64) -> UInt64 {
    t > UInt64.max - d ? UInt64.max : t + d
  }

  /// Seconds from `earlier` to `now` (0 when backwards).
  static func seconds(from earlier: UInt64, to now: UInt64) -> Double {
    Double(elapsed(from: earlier, to: now)) / Double(nsPerSecond)
  }

  /// `a - b` in milliseconds, signed (send times of packet groups need not be ordered).
  static func signedMs(_ a: UInt64, minus b: UInt64) -> Double {
    a >= b ? Double(a - b) / Double(nsPerMs) : -(Double(b - a) / Double(nsPerMs))
  }

  /// A rate in bit/s as an Int, to the nearest bit/s: NaN and negatives give 0, huge values the
  /// ceiling.
  static func bitrate(_ d: Double) -> Int {
    guard d.isFinite, d > 0 else { return d == .infinity ? Int(bitrateCeiling) : 0 }
    return Int(min(d, bitrateCeiling).rounded())
  }

  /// Floor division (the bin of a negative arrival time is below zero, not at zero).
  static func floorDiv(_ a: Int64, _ b: Int64) -> Int64 {
    a >= 0 ? a / b : -((-a - 1) / b) - 1
  }
}

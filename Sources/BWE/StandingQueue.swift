// A standing queue: one-way delay held above its recent minimum. The trendline sees a queue
// while it grows; a drop-tail queue that filled before the trendline's window did (a start far
// above a slow link) stays full with a flat delay, so the trendline says "normal" while the link
// drops what does not fit. Loss with such a queue is congestion, not the random loss of a noisy
// link: the estimator treats it as overuse (rtcam's addition; GCC has no such rule).

/// The one-way delay of reported packets (receiver's arrival clock minus our send clock: an
/// unknown offset plus the path's delay) against its minimum over the last 10 s.
struct StandingQueue: Sendable {
  /// Minima are kept per second of our clock, for 10 s: long enough that the queue has been
  /// empty at some point (the trendline reacts to growth within a second or two), short
  /// enough that clock drift between sender and receiver (tens of ppm) stays below a ms.
  static let slotNs: UInt64 = 1_000_000_000
  static let slots = 10
  /// Queueing delay that counts as standing: beyond the tens of ms that Wi-Fi aggregation and
  /// retries add, well below the 200-300 ms of a router's drop-tail queue.
  static let standingUs: Int64 = 100_000
  static let nsPerUs: UInt64 = 1000

  var slotIndex: [UInt64]
  var slotMinimum: [Int64]
  /// The smallest one-way delay of the report being read, and of the last complete one.
  var reportMinimum: Int64?
  var lastReportMinimum: Int64?

  init() {
    slotIndex = [UInt64](repeating: UInt64.max, count: Self.slots)
    slotMinimum = [Int64](repeating: 0, count: Self.slots)
  }

  /// A packet sent at `sendNs` arrived at `arrivalUs` (within +-2^50 us), reported at `now`.
  mutating func add(sendNs: UInt64, arrivalUs: Int64, now: UInt64) {
    let owd = arrivalUs - Int64(sendNs / Self.nsPerUs)
    reportMinimum = min(reportMinimum ?? owd, owd)
    let second = now / Self.slotNs
    let i = Int(second % UInt64(Self.slots))
    if slotIndex[i] != second {
      slotIndex[i] = second
      slotMinimum[i] = owd
    } else {
      slotMinimum[i] = min(slotMinimum[i], owd)
    }
  }

  /// The report is complete.
  mutating func endReport() {
    if let m = reportMinimum { lastReportMinimum = m }
    reportMinimum = nil
  }

  /// Queueing delay (us) of the last report's least delayed packet over the 10-s minimum.
  func queueUs(now: UInt64) -> Int64? {
    guard let latest = lastReportMinimum else { return nil }
    let second = now / Self.slotNs
    var base: Int64?
    for i in 0..<Self.slots where slotIndex[i] != UInt64.max && slotIndex[i] + UInt64(Self.slots) > second {
      base = min(base ?? slotMinimum[i], slotMinimum[i])
    }
    return base.map { latest - $0 }
  }

  /// Whether the last report saw a standing queue.
  func isStanding(now: UInt64) -> Bool { (queueUs(now: now) ?? 0) >= Self.standingUs }
}

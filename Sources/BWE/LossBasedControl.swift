// Loss-based control (draft-ietf-rmcat-gcc-02 section 6; thresholds and steps as libwebrtc's
// SendSideBandwidthEstimation): a ceiling on the estimate set by heavy loss, lifted by low loss.

/// Counts reported packets per window and keeps the loss-based limit (bit/s).
///
/// The limit is nil until loss calls for one. With transport feedback the delay-based rate leads
/// and the limit only caps it: above 10 % loss it is set to the estimate x (1 - loss/2); below
/// 2 % it rises by 8 %/s and is dropped once it no longer caps; in between it holds, which
/// includes holding "no limit", so the random loss of a noisy link neither pulls the estimate
/// down nor stops the delay-based increase. Without transport feedback (receiver reports only)
/// the limit is the estimate itself: it starts at the current estimate and follows the same
/// three rules.
struct LossBasedControl: Sendable {
  /// Below this loss the limit may rise; above `highLoss` it falls (draft section 6: 2 %, 10 %).
  static let lowLoss = 0.02
  static let highLoss = 0.10
  /// A window closes after 1 s with at least 100 packets reported. libwebrtc's kLimitNumPackets
  /// is 20, but at the start (300 kbit/s, about 30 packets a second) 5 % random loss measures
  /// over 10 % in one 20-packet window in six, and the limit that sets holds for good while the
  /// loss stays between 2 and 10 % (`tools/bench adapt` saw a 5 %-lossy link held at 850 kbit/s).
  /// With 100 packets that takes 2.2 standard deviations (about one window in 70, early only: at
  /// 2 Mbit/s a second holds ~200 packets, 5 % +- 1.5 %). Slower at low rates, where the
  /// delay-based control reacts first anyway.
  static let windowNs: UInt64 = 1_000_000_000
  static let minPackets = 100
  /// The loss of the window under way counts for the standing-queue rule from 20 packets
  /// (libwebrtc's kLimitNumPackets): there it only confirms a queue of 100 ms or more.
  static let recentMinPackets = 20
  /// Decreases come at most every 300 ms + one round trip (libwebrtc kBweDecreaseInterval).
  static let decreaseIntervalNs: UInt64 = 300_000_000
  /// Low loss lets the limit grow 8 %/s (ln 1.08 per second, at most one second per update)
  /// plus 1 kbit/s per update so it cannot stall at very low rates (libwebrtc).
  static let growthPerSecond = AimdRateControl.growthPerSecond
  static let maxGrowthStepSeconds = 1.0
  /// Between 2 and 10 % loss without a queue: 16 %/s, so a limit that a one-second burst set on
  /// a randomly lossy link is back at 2 Mbit/s from 1 Mbit/s within about 5 s.
  static let noisyGrowthPerSecond = 2 * growthPerSecond
  static let growthOffsetBps = 1000.0

  let minRate: Double
  let maxRate: Double
  var expected = 0
  var lost = 0
  var windowStartNs: UInt64?
  /// Loss of the last closed window (or the last receiver report), 0...1.
  var lossRatio = 0.0
  var limit: Double?
  var lastUpdateNs: UInt64?
  var lastDecreaseNs: UInt64?

  init(min: Int, max: Int) {
    minRate = Double(min)
    maxRate = Double(max)
  }

  /// A packet reported for the first time, arrived or lost.
  mutating func count(lost isLost: Bool, now: UInt64) {
    if windowStartNs == nil { windowStartNs = now }
    expected += 1
    if isLost { lost += 1 }
  }

  /// A packet reported lost earlier has arrived after all (it still counts as expected).
  mutating func recovered() {
    if lost > 0 { lost -= 1 }
  }

  /// The loss of the window under way once it holds `recentMinPackets`, else of the last one.
  var recentLoss: Double {
    expected >= Self.recentMinPackets ? Double(lost) / Double(expected) : lossRatio
  }

  /// A closed window: its loss ratio and when it began.
  struct Window: Sendable {
    var ratio: Double
    var startNs: UInt64
  }

  /// The loss ratio of the window if it is complete at `now` (and starts the next one), and
  /// when the window began.
  mutating func closeWindow(now: UInt64) -> Window? {
    guard let start = windowStartNs, expected >= Self.minPackets,
      BweMath.elapsed(from: start, to: now) >= Self.windowNs
    else { return nil }
    let ratio = Double(lost) / Double(expected)
    expected = 0
    lost = 0
    windowStartNs = nil
    return Window(ratio: ratio, startNs: start)
  }

  /// Applies one loss measurement (0...1) against the current `estimate`. `answered`: the
  /// delay-based control already decreased for congestion during the measured window, so heavy
  /// loss in it (the queue overflowing before the decrease took hold) is not answered twice.
  ///
  /// `queueing`: whether the delay-based detector sees a queue (overuse, or a standing queue);
  /// without one, loss between 2 and 10 % lets the limit grow back. Nil when the delay is not
  /// known (receiver reports alone: the limit is the estimate and holds as in GCC).
  mutating func apply(loss: Double, estimate: Int, rttNs: UInt64, now: UInt64, answered: Bool = false,
                      queueing: Bool? = nil) {
    lossRatio = min(max(loss, 0), 1)
    let seconds = min(
      lastUpdateNs.map { BweMath.seconds(from: $0, to: now) } ?? 0, Self.maxGrowthStepSeconds)
    lastUpdateNs = now
    if lossRatio > Self.highLoss {
      guard !answered else { return }
      let interval = BweMath.later(Self.decreaseIntervalNs, by: rttNs)
      if let last = lastDecreaseNs, BweMath.elapsed(from: last, to: now) < interval { return }
      lastDecreaseNs = now
      let base = min(limit ?? Double(estimate), Double(estimate))
      limit = clamped(base * (1 - lossRatio / 2))
    } else if lossRatio < Self.lowLoss, let l = limit {
      limit = clamped(l * BweMath.exp(Self.growthPerSecond * seconds) + Self.growthOffsetBps)
    } else if queueing == false, let l = limit {
      // 2-10 % loss with no queue behind it is a noisy link, not congestion: the limit a burst
      // set grows back, twice as fast as below 2 % loss (GCC would hold it for good at a steady
      // 5 % random loss); a link that loses over 10 % in most windows still backs off
      limit = clamped(l * BweMath.exp(Self.noisyGrowthPerSecond * seconds) + Self.growthOffsetBps)
    }
  }

  func clamped(_ r: Double) -> Double { Swift.min(Swift.max(r, minRate), maxRate) }
}

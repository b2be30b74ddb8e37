// The encoder's target bitrate from the viewers' estimates (issue 19, item 4): the full rate for
// the best-served viewer, the base layer small enough for the weakest, within --min-bitrate and
// --max-bitrate; and a damper so the encoder is not reconfigured on every estimate.

/// The bitrates the encoder target stays within, and the one it runs at without feedback.
public struct LayerPolicyConfig: Equatable, Sendable {
  /// --min-bitrate: the encoder's target never goes below it.
  public var minBitrate: Int
  /// --max-bitrate: nor above it (at least `minBitrate`).
  public var maxBitrate: Int
  /// --bitrate: the target while no viewer has an estimate (within min...max).
  public var configuredBitrate: Int

  /// Default --min-bitrate: about 150 kbit/s, as the issue asks (a base layer at 7.5 fps of a
  /// 640x480 picture still decodes to something watchable there).
  public static let defaultMinBitrate = 150_000

  public init(minBitrate: Int = LayerPolicyConfig.defaultMinBitrate, maxBitrate: Int, configuredBitrate: Int) {
    self.minBitrate = max(minBitrate, 1)
    self.maxBitrate = max(maxBitrate, self.minBitrate)
    self.configuredBitrate = configuredBitrate
  }

  /// `rate` within [minBitrate, maxBitrate].
  func clamp(_ rate: Int) -> Int { min(max(rate, minBitrate), maxBitrate) }
}

/// Why the encoder runs at its target (/status shows `code` and `text`).
public enum EncoderTargetReason: Equatable, Sendable {
  /// The best-served viewer's estimate: every viewer's base layer fits.
  case bestViewer
  /// The weakest viewer's estimate divided by the base layer's share: its base layer fits, the
  /// better viewers get less than they could carry.
  case weakestBaseLayer
  /// The estimates ask for more than --max-bitrate.
  case maxBitrate
  /// The estimates ask for less than --min-bitrate.
  case minBitrate
  /// No viewer has an estimate (no transport-cc, REMB or loss reports yet): the configured rate.
  case noFeedback

  public var code: String {
    switch self {
    case .bestViewer: return "BEST_VIEWER"
    case .weakestBaseLayer: return "WEAKEST_BASE_LAYER"
    case .maxBitrate: return "MAX_BITRATE"
    case .minBitrate: return "MIN_BITRATE"
    case .noFeedback: return "NO_FEEDBACK"
    }
  }

  public var text: String {
    switch self {
    case .bestViewer: return "the best-served viewer's estimate"
    case .weakestBaseLayer: return "the base layer sized for the weakest viewer"
    case .maxBitrate: return "capped by --max-bitrate"
    case .minBitrate: return "raised to --min-bitrate"
    case .noFeedback: return "no viewer has an estimate: the configured bitrate"
    }
  }
}

extension LayerPolicy {
  /// The base layer's share before anything is measured: a guess of half. With 3 layers it
  /// carries a quarter of the frames, but its frames reference further back and are larger.
  public static let defaultBaseShare = 0.5
  /// The least base share used: below it the weakest viewer would pull the target up to 4x its
  /// estimate on the strength of a measurement over a few base frames.
  public static let minBaseShare = 0.25
  /// The weakest viewer's base layer fills this much of its estimate: the rest is headroom for
  /// the encoder's overshoot and for some frames of the next layer (a viewer is sent those when
  /// they fit), so that viewer gets more than the base layer's frame rate.
  public static let baseLayerFill = 0.85
  /// A new target goes to the encoder only when it differs by more than 5 % from the current one
  /// (smaller steps would reconfigure the encoder on every wobble of an estimate)...
  public static let applyChangeShare = 0.05
  /// ...and at most every 500 ms (15 frames at 30 fps: the rate control gets to work towards one
  /// target before it is handed the next)...
  public static let minApplyIntervalNs: UInt64 = 500_000_000
  /// ...except a drop of 10 % or more, which goes at once: GCC's backoff (beta = 0.85,
  /// draft-ietf-rmcat-gcc-02 section 5.5) is a 15 % drop, and the link cannot wait.
  public static let urgentDropShare = 0.10
  /// A smaller change is applied once the target has stood this long: 5 s, so it settles.
  public static let settleNs: UInt64 = 5_000_000_000

  /// The encoder's target from the best and the weakest viewer estimate among the viewers with
  /// feedback (nil: no such viewer; one alone stands for both), and the base layer's share:
  /// min(best, weakest x baseLayerFill / baseShare) within [minBitrate, maxBitrate]; the configured rate when
  /// neither is known. `baseShare` is bounded to [minBaseShare, 1].
  public static func encoderTarget(best: Int?, weakest: Int?, baseShare: Double, config: LayerPolicyConfig)
    -> (bitrate: Int, reason: EncoderTargetReason)
  {
    guard let one = best ?? weakest else { return (config.clamp(config.configuredBitrate), .noFeedback) }
    let other = weakest ?? one
    let top = max(max(one, other), 0)
    let bottom = max(min(one, other), 0)
    // (also when baseShare is NaN: the comparison fails and the bound holds)
    let share = baseShare >= minBaseShare ? min(baseShare, 1) : minBaseShare
    let weakLimit = Double(bottom) * baseLayerFill / share
    let (raw, reason): (Int, EncoderTargetReason) =
      Double(top) <= weakLimit ? (top, .bestViewer) : (Int(weakLimit), .weakestBaseLayer)
    if raw > config.maxBitrate { return (config.maxBitrate, .maxBitrate) }
    if raw < config.minBitrate { return (config.minBitrate, .minBitrate) }
    return (raw, reason)
  }

  /// `encoderTarget` with the base share this policy measured.
  public func encoderTarget(best: Int?, weakest: Int?, config: LayerPolicyConfig) -> (bitrate: Int, reason: EncoderTargetReason) {
    LayerPolicy.encoderTarget(best: best, weakest: weakest, baseShare: baseShare, config: config)
  }

  /// Whether to hand `new` to the encoder now, which runs at `current` since `lastChangeAt` (nil:
  /// never changed): always the first time; a drop of `urgentDropShare` or more at once;
  /// otherwise not within `minApplyIntervalNs` of the last change, then a change of more than
  /// `applyChangeShare`, or any change once the target has stood `settleNs`.
  public func shouldApply(new: Int, current: Int, lastChangeAt: UInt64?, now: UInt64) -> Bool {
    guard new != current else { return false }
    guard let last = lastChangeAt, current > 0 else { return true }
    let change = (Double(new) - Double(current)) / Double(current)
    if change <= -LayerPolicy.urgentDropShare { return true }
    let elapsed = now > last ? now - last : 0
    guard elapsed >= LayerPolicy.minApplyIntervalNs else { return false }
    return abs(change) > LayerPolicy.applyChangeShare || elapsed >= LayerPolicy.settleNs
  }
}

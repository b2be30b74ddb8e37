// The estimator's bounds and starting point, and the states /status shows.

/// Where a viewer's estimate starts and the range it stays in (bit/s).
public struct BandwidthEstimatorConfig: Sendable, Equatable {
  /// The estimate before any feedback: what the encoder was asked for before bandwidth
  /// adaptation (the `--bitrate` default).
  public static let defaultStartBitrate = 800_000
  /// The issue's `--min-bitrate` default: the base layer of 640x480 still decodes at it.
  public static let defaultMinBitrate = 150_000
  /// Room above the 2 Mbit/s link of the bench and the ~0.9 Mbit/s its clip needs.
  public static let defaultMaxBitrate = 2_500_000
  /// The lowest minimum accepted: one 1200-byte packet per 30 fps frame needs ~290 kbit/s, a
  /// keyframe-only trickle less; below 10 kbit/s nothing useful is sent.
  public static let floorBitrate = 10_000
  /// The highest maximum accepted: `--bitrate`'s upper bound. It also bounds the send history
  /// (its capacity follows the maximum).
  public static let ceilingBitrate = 50_000_000

  public var startBitrate: Int
  public var minBitrate: Int
  public var maxBitrate: Int

  public init(
    startBitrate: Int = defaultStartBitrate, minBitrate: Int = defaultMinBitrate,
    maxBitrate: Int = defaultMaxBitrate
  ) {
    self.startBitrate = startBitrate
    self.minBitrate = minBitrate
    self.maxBitrate = maxBitrate
  }

  /// The same bounds made consistent: floor <= min <= max <= ceiling, start within [min, max].
  public var normalized: BandwidthEstimatorConfig {
    let lo = min(max(minBitrate, Self.floorBitrate), Self.ceilingBitrate)
    let hi = min(max(maxBitrate, lo), Self.ceilingBitrate)
    return BandwidthEstimatorConfig(
      startBitrate: min(max(startBitrate, lo), hi), minBitrate: lo, maxBitrate: hi)
  }
}

/// What the delay-based detector concludes from the trend of the one-way delay
/// (draft-ietf-rmcat-gcc-02 section 5.4).
public enum BandwidthUsage: Sendable, Equatable {
  /// The queue along the path is not growing.
  case normal
  /// The queue is growing: the sender is above the path's capacity.
  case overusing
  /// The queue is draining.
  case underusing
}

/// What the rate controller did last (draft-ietf-rmcat-gcc-02 section 5.5).
public enum RateControlState: Sendable, Equatable {
  case increase
  case hold
  case decrease
}

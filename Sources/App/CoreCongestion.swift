// One encoder for every viewer: each viewer's estimate picks the temporal layers it is sent,
// and the viewers together pick the encoder's target (`LayerPolicy` holds the rules).
import BWE
import Peer

/// The encoder's target as last told to the capture side, and why it was chosen.
public struct EncoderTarget: Equatable, Sendable {
  public var bitrate: Int
  public var reason: EncoderTargetReason
  /// When it last changed (nil: never: the configured rate).
  public var changedAt: UInt64?
}

extension ServerCore {
  /// A viewer's first estimate, before any feedback (when --bitrate is higher).
  static let startEstimate = 300_000
  /// The least a viewer's estimate goes to: below the encoder's floor (--min-bitrate), so that
  /// a link slower than what the encoder makes at its floor is matched by sending fewer layers.
  static let estimateFloor = 100_000
  /// Every this many frames (half a second at 30 fps) the layers are chosen again.
  static let layerReviewFrames = 15

  /// A viewer's estimate changed: its layers follow at once, the encoder's target if the
  /// policy's damping allows.
  func estimateChanged(_ p: Peer, _ estimate: Int, now: UInt64) {
    reviewLayers(now: now)
  }

  /// The encoder's target, then every receiver's layers, from the estimates and the measured
  /// layer rates.
  func reviewLayers(now: UInt64) {
    retarget(now: now)
    for v in sessions.order {
      guard let c = v.congestionStatus else { continue }
      v.handleLayerLimit(layerLimit(estimate: c.estimate, current: c.maxLayer))
    }
    for f in forwards {
      guard let e = f.rembEstimate(now: now) else { continue }
      f.handleLayerLimit(layerLimit(estimate: e, current: f.maxLayer))
    }
  }

  /// The layers a receiver with `estimate` is sent. One that carries the encoder's whole target
  /// (the encoder follows it) gets every layer; the others what the measured layer rates allow.
  func layerLimit(estimate: Int, current: UInt8) -> UInt8 {
    let all = layerPolicy.cumulativeBitrate(through: layerPolicy.topLayer)
    // (unless the encoder overshoots its target by more than a quarter: it does below about
    // 200 kbit/s, where OpenH264's quantiser reaches its ceiling)
    if estimate >= encoderTarget.bitrate / 10 * 9, (all ?? 0) <= estimate / 4 * 5 { return layerPolicy.topLayer }
    return layerPolicy.layers(for: estimate, current: current)
  }

  /// The encoder's target from the best and the weakest estimate of the viewers that give
  /// feedback (none: the configured rate).
  func retarget(now: UInt64) {
    var best: Int? = nil
    var weakest: Int? = nil
    for p in sessions.order {
      guard let c = p.congestionStatus else { continue }
      best = max(best ?? c.estimate, c.estimate)
      weakest = min(weakest ?? c.estimate, c.estimate)
    }
    // forwards that send REMB (Janus does) count like viewers
    for f in forwards {
      guard let e = f.rembEstimate(now: now) else { continue }
      best = max(best ?? e, e)
      weakest = min(weakest ?? e, e)
    }
    let (bitrate, reason) = layerPolicy.encoderTarget(best: best, weakest: weakest, config: layerConfig)
    if reason != encoderTarget.reason { encoderTarget.reason = reason }
    guard bitrate != encoderTarget.bitrate,
      layerPolicy.shouldApply(new: bitrate, current: encoderTarget.bitrate, lastChangeAt: encoderTarget.changedAt, now: now)
    else { return }
    log(.debug, "encoder target \(bitrate / 1000) kbit/s (\(reason.text))")
    encoderTarget = EncoderTarget(bitrate: bitrate, reason: reason, changedAt: now)
    emit(.capture(.bitrate(bitrate)))
  }
}

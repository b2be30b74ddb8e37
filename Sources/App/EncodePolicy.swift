// When the capture thread encodes, when the next frame must be a keyframe, and the bitrate the
// encoder works to: the policy without the thread. The runtime asks it once per captured frame
// (no allocation).
import Encoder
import Synchronization

/// What to do with one captured frame.
public enum FrameDecision: Equatable, Sendable {
  /// Nobody watches: capture only, spend no CPU on encoding.
  case skip
  /// Encode it; `keyframe` forces an IDR.
  case encode(keyframe: Bool)
}

/// The keyframe and idle policy of the encoder: the one place that knows whether a keyframe is
/// owed. It is owed at start, after a restart of the source, after a stretch without viewers,
/// after a frame was lost on our side, and when a viewer or forward asks (joined, PLI, FIR); it
/// stays owed until an IDR is actually produced (the rate control may skip the forced frame, an
/// encode may fail) and published.
///
/// The capture thread calls `frame`, `produced`, `frameLost`, `restarted` and `targetChange`;
/// any thread may call `requestKeyframe` and `setTargetBitrate`. `Sendable`: the state is two
/// `Atomic`s. A request that arrives while an IDR is being encoded may be settled by that IDR: it
/// is published after the request was made, so the viewer that asked receives it.
public final class EncodePolicy: Sendable {
  let owed = Atomic<Bool>(true)
  /// The bitrate the encoder should work to (bit/s), 0 until one is set. One value, read and
  /// written whole: relaxed ordering is enough (a change reaches the next frame or the one after).
  let target = Atomic<Int>(0)

  public init() {}

  /// Whether the next encoded frame must be an IDR.
  public var keyframeOwed: Bool { owed.load(ordering: .acquiring) }

  /// Any thread: a viewer or forward asked for a keyframe (joined, PLI, FIR).
  public func requestKeyframe() { owed.store(true, ordering: .releasing) }

  /// Capture thread: one captured frame, with the number of consumers (viewers and forwards).
  public func frame(viewers: Int) -> FrameDecision {
    guard viewers > 0 else {
      // the next viewer must start with a keyframe anyway
      owed.store(true, ordering: .releasing)
      return .skip
    }
    return .encode(keyframe: owed.load(ordering: .acquiring))
  }

  /// Capture thread: the encoder produced a frame that is about to be published. An IDR settles
  /// the debt; call this before publishing, so a request made after it stays owed.
  public func produced(keyframe: Bool) {
    if keyframe { owed.store(false, ordering: .releasing) }
  }

  /// Capture thread: an encoded frame could not be handed to the network loop (the ring was full,
  /// or it was larger than a slot): what follows cannot be decoded without a keyframe.
  public func frameLost() { owed.store(true, ordering: .releasing) }

  /// Capture thread: the source (re)started: its first frame must be a keyframe.
  public func restarted() { owed.store(true, ordering: .releasing) }

  /// Any thread: the encoder should work to `bitsPerSecond` from its next frame on, without a
  /// keyframe (H264Encoder.setBitrate). Kept within what the encoder takes
  /// (`EncoderSettings.bitrateRange`); the newest value wins.
  public func setTargetBitrate(_ bitsPerSecond: Int) {
    let range = EncoderSettings.bitrateRange
    target.store(min(max(bitsPerSecond, range.lowerBound), range.upperBound), ordering: .relaxed)
  }

  /// The target last set, or nil when none was (the encoder keeps the configured bitrate).
  public var targetBitrate: Int? {
    let t = target.load(ordering: .relaxed)
    return t > 0 ? t : nil
  }

  /// Capture thread, before each encode: the target to apply when it differs from the encoder's
  /// `current` one, else nil.
  public func targetChange(from current: Int) -> Int? {
    guard let t = targetBitrate, t != current else { return nil }
    return t
  }
}

// When the capture thread encodes, and when the next frame must be a keyframe: the policy without
// the thread. The runtime asks it once per captured frame (no allocation).

/// What to do with one captured frame.
public enum FrameDecision: Equatable, Sendable {
  /// Nobody watches: capture only, spend no CPU on encoding.
  case skip
  /// Encode it; `keyframe` forces an IDR.
  case encode(keyframe: Bool)
}

/// The keyframe and idle policy of the encoder, kept by the capture thread.
public struct EncodePolicy: Equatable, Sendable {
  /// A keyframe is owed: at start, after a stretch without viewers, after a frame was lost on
  /// our side, or because a viewer asked (joined, PLI, FIR).
  public private(set) var keyframeOwed = true

  public init() {}

  /// One captured frame, with the number of connected viewers and whether a viewer asked for a
  /// keyframe since the last frame.
  public mutating func frame(viewers: Int, keyframeRequested: Bool) -> FrameDecision {
    if keyframeRequested { keyframeOwed = true }
    guard viewers > 0 else {
      // the next viewer must start with a keyframe anyway
      keyframeOwed = true
      return .skip
    }
    let owed = keyframeOwed
    keyframeOwed = false
    return .encode(keyframe: owed)
  }

  /// The encoded frame could not be handed to the network loop (the ring was full): what
  /// follows cannot be decoded without a keyframe.
  public mutating func frameLost() { keyframeOwed = true }

  /// The source (re)started: its first frame must be a keyframe.
  public mutating func restarted() { keyframeOwed = true }
}

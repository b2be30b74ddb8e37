// --forward, --forward-key, --forward-keyframe-interval: the stream to RTP ingests (Janus).
import Peer

/// Where the stream is forwarded besides the viewers (off when `targets` is empty).
public struct ForwardOptions: Equatable, Sendable {
  /// --forward URL (repeatable).
  public var targets: [ForwardTarget] = []
  /// --forward-key: the SRTP master key and salt of every srtp:// target.
  public var key: ForwardKey? = nil
  /// --forward-keyframe-interval SECONDS: a keyframe at least this often (0 = only when the
  /// target asks with PLI/FIR, when a forward starts and when its target comes back).
  public var keyframeIntervalSeconds = 0
  /// Upper bounds of the options: targets (each one more packetization and socket pair) and
  /// seconds (an hour between keyframes is already more than any viewer waits).
  public static let maxTargets = 8
  public static let maxKeyframeIntervalSeconds = 3600

  public init() {}
}

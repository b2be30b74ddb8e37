// Fmp4Settings: the fragment writer's bounds and timing.

/// Settings of the fragment writer. Each one bounds memory or time; `Fmp4Writer.init` clamps
/// them to sane ranges.
public struct Fmp4Settings: Equatable, Sendable {
  /// A fragment ends at the first frame at least this long after the fragment's first frame
  /// (so fragments last about this long). Default 1 s: at most that much is lost in a crash.
  public var fragmentDurationNs: UInt64 = 1_000_000_000
  /// A new segment (file) starts at the first keyframe at least this long after the segment's
  /// first frame. Default 60 s.
  public var segmentDurationNs: UInt64 = 60_000_000_000
  /// Capacity of each of the two fragment buffers (moof + mdat), allocated once. A frame that
  /// does not fit in what is left ends the fragment early; one that does not fit an empty
  /// buffer is refused (`RECORD_FRAME_TOO_LARGE`). Default 1 MiB: 1 s at 8 Mbit/s.
  /// Clamped to 64 KiB...64 MiB.
  public var fragmentBufferBytes = 1 << 20
  /// Most samples in one fragment (the trun table is this big, fixed); a full table ends the
  /// fragment early. Default 128: 1 s at up to 120 fps. Clamped to 1...4096.
  public var maxSamplesPerFragment = 128
  /// Longest SPS or PPS accepted (the init segment buffer holds one of each). Real ones are
  /// 10-40 bytes. Default 256, clamped to 16...4096.
  public var maxParameterSetBytes = 256
  /// Duration given to the last frame when recording stops and its fragment holds only that
  /// frame (with two or more, the previous frame interval is used). Default 3000 (1/30 s).
  public var defaultFrameDurationTicks: UInt32 = 3000

  /// The defaults above.
  public init() {}
}

// RecordActions: what the fragment writer asks the runtime to do after a frame.

/// One step for the runtime, in order.
public enum RecordAction: Equatable, Sendable {
  /// Open a new segment file; `startNs` is the capture time of its first frame (the runtime
  /// maps it to wall-clock time for the file's name, see `SegmentName`).
  case beginSegment(startNs: UInt64)
  /// Append these bytes to the open segment file with one write, then fsync: the init segment
  /// or one whole fragment (moof + mdat). The slice shares the writer's buffer: write it before
  /// the next call into the writer and let it go (holding it makes the writer copy its buffer).
  case write(ArraySlice<UInt8>)
  /// Close the segment file (it is complete: every fragment was written whole).
  case endSegment
}

/// The actions of one call, at most four (a fragment, the end of a segment, the start of the
/// next and its init segment). Fixed storage: returning it allocates nothing.
public struct RecordActions: Sendable {
  /// How many actions there are (0...4).
  public private(set) var count = 0
  var a0 = RecordAction.endSegment
  var a1 = RecordAction.endSegment
  var a2 = RecordAction.endSegment
  var a3 = RecordAction.endSegment

  /// No actions.
  public init() {}

  /// The actions in order (index below `count`).
  public subscript(i: Int) -> RecordAction {
    switch i {
    case 0: return a0
    case 1: return a1
    case 2: return a2
    default: return a3
    }
  }

  /// Whether there is nothing to do.
  public var isEmpty: Bool { count == 0 }

  mutating func append(_ a: RecordAction) {
    switch count {
    case 0: a0 = a
    case 1: a1 = a
    case 2: a2 = a
    default: a3 = a
    }
    if count < 4 { count += 1 }
  }
}

/// Counters of one writer (for /metrics and logs).
public struct RecordStats: Equatable, Sendable {
  /// Frames that went into a fragment.
  public var framesRecorded = 0
  /// Frames skipped while waiting for a keyframe (before the first one, after a refused frame).
  public var framesSkipped = 0
  /// Frames refused with an error.
  public var framesRefused = 0
  /// Fragments handed out.
  public var fragments = 0
  /// Fragments that ended early: buffer or sample table full.
  public var fragmentsCutShort = 0
  /// Segments begun.
  public var segments = 0

  /// All zero.
  public init() {}
}

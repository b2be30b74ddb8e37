// Retention: which segment files to delete so that recordings stay within a byte budget and an
// age limit. The runtime lists the directory and unlinks what this returns.

/// One segment file on the card.
public struct SegmentFile: Equatable, Sendable {
  /// The file name (`SegmentName`).
  public var name: String
  /// Start time, Unix seconds (from the name, see `SegmentName.parse`).
  public var startUnixSeconds: Int64
  /// File size.
  public var bytes: UInt64
  /// Seconds of video in it, when known (`Fmp4Summary`); nil: unknown.
  public var durationSeconds: Int64?

  /// A segment from its fields.
  public init(name: String, startUnixSeconds: Int64, bytes: UInt64, durationSeconds: Int64? = nil) {
    self.name = name
    self.startUnixSeconds = startUnixSeconds
    self.bytes = bytes
    self.durationSeconds = durationSeconds
  }
}

/// Limits on what recordings may keep; nil means no limit of that kind.
public struct RetentionLimits: Equatable, Sendable {
  /// Total bytes of all segments, the open one included.
  public var maxBytes: UInt64?
  /// A segment whose last frame is older than this is deleted.
  public var maxAgeSeconds: Int64?

  /// Limits from their values (no limit by default).
  public init(maxBytes: UInt64? = nil, maxAgeSeconds: Int64? = nil) {
    self.maxBytes = maxBytes
    self.maxAgeSeconds = maxAgeSeconds
  }
}

/// The retention policy.
public enum Retention {
  /// Segments considered per call: a directory listing is cut to this many (the oldest are kept
  /// in the list: a huge backlog is worked off over several calls). 100 000 one-minute segments
  /// are ten weeks.
  public static let maxSegments = 100_000

  /// The names to delete, oldest first: first those past the age limit, then the oldest until
  /// the rest fit in `maxBytes`. `open` (the segment being written) is never deleted, though its
  /// bytes count. A segment ends when its duration says, or else where the next one starts; the
  /// newest closed one without a duration is kept by age (its end is unknown).
  public static func toDelete(
    _ segments: [SegmentFile], limits: RetentionLimits, nowUnixSeconds now: Int64, open: String?
  ) -> [String] {
    var list = segments.count > maxSegments ? Array(segments.prefix(maxSegments)) : segments
    list.sort { a, b in
      a.startUnixSeconds != b.startUnixSeconds ? a.startUnixSeconds < b.startUnixSeconds : a.name < b.name
    }
    var total: UInt64 = 0
    for s in list { total &+= s.bytes }
    var delete: [String] = []
    var deleted = [Bool](repeating: false, count: list.count)
    if let maxAge = limits.maxAgeSeconds {
      for (i, s) in list.enumerated() where s.name != open {
        let end: Int64?
        if let d = s.durationSeconds {
          end = s.startUnixSeconds + d
        } else if i + 1 < list.count {
          end = list[i + 1].startUnixSeconds
        } else {
          end = nil
        }
        if let e = end, now - e > maxAge {
          deleted[i] = true
          total &-= s.bytes
        }
      }
    }
    if let maxBytes = limits.maxBytes {
      for (i, s) in list.enumerated() where total > maxBytes && !deleted[i] && s.name != open {
        deleted[i] = true
        total &-= s.bytes
      }
    }
    for (i, s) in list.enumerated() where deleted[i] { delete.append(s.name) }
    return delete
  }
}

// RecordingList: the JSON answer of `GET /recordings`.
import HTTP
import Wire

/// One recording in the listing.
public struct RecordingEntry: Equatable, Sendable {
  /// The file name (`SegmentName`).
  public var name: String
  /// Start, Unix seconds.
  public var startUnixSeconds: Int64
  /// Duration in milliseconds (from `Fmp4Summary.durationMs`).
  public var durationMs: Int64
  /// File size.
  public var bytes: UInt64

  /// An entry from its fields.
  public init(name: String, startUnixSeconds: Int64, durationMs: Int64, bytes: UInt64) {
    self.name = name
    self.startUnixSeconds = startUnixSeconds
    self.durationMs = durationMs
    self.bytes = bytes
  }
}

/// The listing of recordings.
public enum RecordingList {
  /// Most entries in one listing (the newest are kept): bounds the answer (about 100 bytes per
  /// entry, so 10 000 entries are 1 MB; a week of one-minute segments).
  public static let maxEntries = 10_000

  /// `[{"name":"2026-12-06T18-46-36Z.mp4","start":"2026-12-06T18:46:36Z","duration":60.033,
  /// "bytes":1234567},...]`, oldest first; duration in seconds with millisecond decimals.
  public static func json(_ entries: [RecordingEntry]) -> String {
    var list = entries
    list.sort { a, b in
      a.startUnixSeconds != b.startUnixSeconds ? a.startUnixSeconds < b.startUnixSeconds : a.name < b.name
    }
    if list.count > maxEntries { list.removeFirst(list.count - maxEntries) }
    var w = JsonWriter()
    w.beginArray()
    for e in list {
      w.beginObject()
      w.field("name", e.name)
      w.field("start", CivilTime(unixSeconds: e.startUnixSeconds).iso8601)
      w.key("duration")
      w.raw(formatFixed(Int(e.durationMs), decimals: 3))
      w.key("bytes")
      w.uint64(e.bytes)
      w.endObject()
    }
    w.endArray()
    return w.text
  }
}

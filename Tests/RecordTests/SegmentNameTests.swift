import Testing

@testable import Record

/// Segment names from UTC start times and back; nothing but the exact pattern is a name.
@Suite struct SegmentNameTests {
  @Test func aNameFromItsStart() {
    // 2026-12-06T18:46:36Z
    #expect(SegmentName.make(unixSeconds: 1_796_582_796) == "2026-12-06T18-46-36Z.mp4")
    #expect(SegmentName.make(unixSeconds: 0) == "1970-01-01T00-00-00Z.mp4")
    #expect(SegmentName.make(unixSeconds: 951_782_400) == "2000-02-29T00-00-00Z.mp4")  // leap day of a /400 year
    #expect(SegmentName.make(unixSeconds: 4_107_542_399) == "2100-02-28T23-59-59Z.mp4")
    #expect(SegmentName.make(unixSeconds: 4_107_542_400) == "2100-03-01T00-00-00Z.mp4")  // 2100: no leap day
    #expect(SegmentName.make(unixSeconds: -1) == nil)
    #expect(SegmentName.make(unixSeconds: 253_402_300_800) == nil)  // year 10000
    #expect(SegmentName.make(unixSeconds: 253_402_300_799) == "9999-12-31T23-59-59Z.mp4")
  }

  /// Every day of 1970...2400 (and a spread of times) round-trips through the name.
  @Test func roundTrip() {
    var s: Int64 = 0
    while s < 13_569_465_600 {  // 2400-01-01
      let name = SegmentName.make(unixSeconds: s)
      #expect(name.flatMap(SegmentName.parse) == s, "\(s)")
      s += 86_400 + 3_607
    }
    #expect(CivilTime(unixSeconds: -86_400) == CivilTime(year: 1969, month: 12, day: 31, hour: 0, minute: 0, second: 0))
    #expect(CivilTime(unixSeconds: -1).unixSeconds == -1)
    #expect(CivilTime(unixSeconds: 1_796_582_796).iso8601 == "2026-12-06T18:46:36Z")
  }

  @Test func anythingElseIsRefused() {
    let bad = [
      "", "a.mp4", "../x.mp4", "../2026-12-06T18-46-36Z.mp4", "2026-12-06T18-46-36Z.mp4/",
      "/2026-12-06T18-46-36Z.mp4", "2026-12-06T18:46:36Z.mp4", "2026-12-06T18-46-36Z.MP4",
      "2026-12-06T18-46-36Z.mp5", "2026-12-06t18-46-36Z.mp4", "2026-12-06T18-46-36z.mp4",
      "2026-12-06T18-46-36Z.mp4.mp4", "2026-12-06T18-46-3Z.mp4 ", "2026-12-06T18-46-3aZ.mp4",
      "+026-12-06T18-46-36Z.mp4", "2026-12-06T18-46-36Z.mp", "2026-1-206T18-46-36Z.mp4",
      "2026-13-06T18-46-36Z.mp4", "2026-00-06T18-46-36Z.mp4", "2026-12-00T18-46-36Z.mp4",
      "2026-02-29T18-46-36Z.mp4", "2026-04-31T18-46-36Z.mp4", "2026-12-06T24-00-00Z.mp4",
      "2026-12-06T18-60-36Z.mp4", "2026-12-06T18-46-60Z.mp4", "1969-12-31T23-59-59Z.mp4",
      "2026-12-06T18-46-36Z\u{0}mp4", "２026-12-06T18-46-36Z.mp4", "2026-12-06T18-46-36Z%2e.mp4",
    ]
    for name in bad { #expect(SegmentName.parse(name) == nil, "\(name)") }
    #expect(SegmentName.parse("2028-02-29T12-00-00Z.mp4") == 1_835_438_400)
    #expect(SegmentName.parse("2026-12-06T18-46-36Z.mp4") == 1_796_582_796)
  }
}

/// Which segments the retention policy deletes.
@Suite struct RetentionTests {
  /// Ten one-minute segments of 100 bytes from t = 1000.
  static let ten: [SegmentFile] = (0..<10).map { i in
    let start = Int64(1000 + 60 * i)
    return SegmentFile(name: SegmentName.make(unixSeconds: start)!, startUnixSeconds: start, bytes: 100)
  }
  static let now: Int64 = 1000 + 600

  @Test func byBytesOldestFirst() {
    let d = Retention.toDelete(
      Self.ten.shuffled(), limits: RetentionLimits(maxBytes: 750), nowUnixSeconds: Self.now, open: Self.ten[9].name)
    #expect(d == Self.ten[0..<3].map(\.name))
  }

  @Test func byAge() {
    // segments that ended more than 200 s ago: segment i ends at 1060 + 60i; now - 200 = 1400
    let d = Retention.toDelete(
      Self.ten, limits: RetentionLimits(maxAgeSeconds: 200), nowUnixSeconds: Self.now, open: Self.ten[9].name)
    #expect(d == Self.ten[0..<6].map(\.name))
    // with durations: 30 s each, segment i ends at 1030 + 60i
    let short = Self.ten.map { var s = $0; s.durationSeconds = 30; return s }
    #expect(Retention.toDelete(short, limits: RetentionLimits(maxAgeSeconds: 200), nowUnixSeconds: Self.now, open: nil)
      == Self.ten[0..<7].map(\.name))
  }

  @Test func byBothLimits() {
    let d = Retention.toDelete(
      Self.ten, limits: RetentionLimits(maxBytes: 250, maxAgeSeconds: 500), nowUnixSeconds: Self.now,
      open: Self.ten[9].name)
    #expect(d == Self.ten[0..<8].map(\.name))
    #expect(Retention.toDelete(Self.ten, limits: RetentionLimits(), nowUnixSeconds: Self.now, open: nil).isEmpty)
  }

  /// The open segment is never deleted, even when it alone is over the budget or old.
  @Test func neverTheOpenOne() {
    let d = Retention.toDelete(
      Self.ten, limits: RetentionLimits(maxBytes: 0, maxAgeSeconds: 0), nowUnixSeconds: Self.now + 10_000,
      open: Self.ten[4].name)
    #expect(d == (Self.ten[0..<4] + Self.ten[5..<10]).map(\.name))
    let one = [SegmentFile(name: "x", startUnixSeconds: 0, bytes: 1 << 40, durationSeconds: 60)]
    #expect(Retention.toDelete(one, limits: RetentionLimits(maxBytes: 1, maxAgeSeconds: 1), nowUnixSeconds: 1 << 30, open: "x").isEmpty)
  }
}

/// Range headers of `GET /recordings/NAME.mp4` (RFC 9110 14.1.2, 14.2, 15.5.17).
@Suite struct ByteRangeTests {
  @Test(arguments: [
    ("bytes=0-99", ByteRangeAnswer.partial(first: 0, last: 99)),
    ("bytes=100-", .partial(first: 100, last: 999)),
    ("bytes=-100", .partial(first: 900, last: 999)),
    ("bytes=-5000", .partial(first: 0, last: 999)),
    ("bytes=900-5000", .partial(first: 900, last: 999)),
    ("bytes=999-999", .partial(first: 999, last: 999)),
    ("BYTES=1-2", .partial(first: 1, last: 2)),
    (" bytes= 5-6 ", .partial(first: 5, last: 6)),
    ("bytes=1000-", .unsatisfiable),
    ("bytes=1000-2000", .unsatisfiable),
    ("bytes=-0", .unsatisfiable),
    ("bytes=5-4", .full),
    ("bytes=-", .full),
    ("bytes=0-1,5-6", .full),
    ("bytes=0-1, -5", .full),
    ("items=0-1", .full),
    ("bytes 0-1", .full),
    ("bytes=a-b", .full),
    ("bytes=1-2x", .full),
    ("bytes=99999999999999999999-", .full),
    ("bytes=0-" + String(repeating: "9", count: 70), .full),
    ("", .full),
  ])
  func aRangeAgainstAThousandBytes(header: String, answer: ByteRangeAnswer) {
    #expect(ByteRange.parse(header, size: 1000) == answer)
  }

  @Test func edges() {
    #expect(ByteRange.parse(nil, size: 10) == .full)
    #expect(ByteRange.parse("bytes=0-", size: 0) == .unsatisfiable)
    #expect(ByteRange.parse("bytes=-1", size: 0) == .unsatisfiable)
    #expect(ByteRange.parse("bytes=9223372036854775807-", size: UInt64.max) == .partial(first: 9_223_372_036_854_775_807, last: UInt64.max - 1))
    #expect(ByteRange.contentRange(first: 0, last: 99, size: 1000) == "bytes 0-99/1000")
    #expect(ByteRange.unsatisfiedRange(size: 1000) == "bytes */1000")
  }
}

@Suite struct RecordingListTests {
  @Test func theListingJson() {
    let a = RecordingEntry(name: "2026-12-06T18-46-36Z.mp4", startUnixSeconds: 1_796_582_796, durationMs: 60_033, bytes: 1_234_567)
    let b = RecordingEntry(name: "2026-12-06T18-47-36Z.mp4", startUnixSeconds: 1_796_582_856, durationMs: 5, bytes: 7)
    #expect(RecordingList.json([b, a]) == """
      [{"name":"2026-12-06T18-46-36Z.mp4","start":"2026-12-06T18:46:36Z","duration":60.033,"bytes":1234567},\
      {"name":"2026-12-06T18-47-36Z.mp4","start":"2026-12-06T18:47:36Z","duration":0.005,"bytes":7}]
      """)
    #expect(RecordingList.json([]) == "[]")
  }
}

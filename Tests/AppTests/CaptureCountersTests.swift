import Testing

@testable import App

/// The capture thread's counters as the core receives them: fixed fields, the encode-time
/// histogram included.
@Suite struct CaptureCountersTests {
  @Test func theHistogramHasOneBucketPerBoundPlusInfinity() {
    #expect(EncodeTimes.bucketCount == encodeTimeBucketBounds.count + 1)
    #expect(EncodeTimes().buckets == [UInt64](repeating: 0, count: EncodeTimes.bucketCount))
  }

  @Test func recordingFillsTheBucketOfEachDuration() {
    var t = EncodeTimes()
    t.record(ns: 500_000)  // <= 1 ms
    t.record(ns: 1_000_000)  // <= 1 ms (bounds are inclusive)
    t.record(ns: 1_000_001)  // <= 2 ms
    t.record(ns: 40_000_000)  // <= 50 ms
    t.record(ns: 2_000_000_000)  // +Inf
    #expect(t.buckets == [2, 1, 0, 0, 0, 0, 1, 0, 1])
    #expect(t.sumNs == 2_042_500_001)
    #expect(t[0] == 2 && t[8] == 1)
    // out of range: reads 0, writes nothing
    #expect(t[-1] == 0 && t[9] == 0)
    t[9] = 7
    #expect(t.buckets == [2, 1, 0, 0, 0, 0, 1, 0, 1])
  }

  @Test func equalityComparesEveryBucketAndTheSum() {
    var a = EncodeTimes(), b = EncodeTimes()
    #expect(a == b)
    a[8] = 1
    #expect(a != b)
    b[8] = 1
    #expect(a == b)
    b.sumNs = 1
    #expect(a != b)
    var c = CaptureCounters(), d = CaptureCounters()
    c.encodeTimes = a
    d.encodeTimes = a
    #expect(c == d)
    d.framesDropped = 1
    #expect(c != d)
  }
}

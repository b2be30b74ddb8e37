import AllocCounter
import Testing
import TestSupport
@testable import Capture

/// libjpeg's pools are recycled (Sources/CRTCam/jpeg_mem.c): after the first picture of a size,
/// encoding a JPEG allocates nothing (/stream.mjpg encodes several a second).
@Suite struct JpegAllocationTests {
  @Test func encodingAJpegAfterTheFirstAllocatesNothing() throws {
    let t = FakeTime()
    var src = TestPattern(width: 640, height: 480, fps: 30, clock: t.clock)
    let enc = try JpegEncoder()
    for q in [80, 80, 50] { _ = try enc.encode(try src.nextFrame(), quality: q) }
    // The cache is shared by every thread, and other tests code JPEGs of other sizes at the same
    // time (swift test runs suites in parallel): a round may miss when they crowd it. One round
    // of 10 pictures without any allocation shows the recycling; each round gets its chance.
    var rounds: [[Int]] = []
    rounds.reserveCapacity(5)
    for _ in 0..<5 {
      var counts: [Int] = []
      counts.reserveCapacity(10)
      for i in 0..<10 {
        let frame = try src.nextFrame()
        alloc_counter_begin()
        let jpeg = try enc.encode(frame, quality: i % 2 == 0 ? 80 : 50)
        counts.append(alloc_counter_end())
        #expect(jpeg.count > 1000 && jpeg[0] == 0xFF && jpeg[1] == 0xD8, "a JPEG")
      }
      rounds.append(counts)
      if counts.allSatisfy({ $0 == 0 }) { break }
    }
    #expect(rounds.last!.allSatisfy { $0 == 0 }, "allocations per JPEG, by round: \(rounds)")
  }
}

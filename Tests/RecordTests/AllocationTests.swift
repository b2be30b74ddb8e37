import AllocCounter
import Testing

@testable import Record

/// The fragment writer allocates nothing per frame once running: fragment closes, segment
/// changes and init segments included.
@Suite struct AllocationTests {
  @Test func theWriterAllocatesNothingPerFrame() throws {
    var settings = Fmp4Settings()
    settings.segmentDurationNs = 2_000_000_000  // segment changes inside the measured frames
    var w = Fmp4Writer(settings: settings)
    let aus = try encodeTestPattern(count: 240)
    // the frames in buffers of their own, so that nothing but `push` runs while counting
    var frames: [UnsafeMutableRawBufferPointer] = []
    for au in aus {
      let b = UnsafeMutableRawBufferPointer.allocate(byteCount: au.bytes.count, alignment: 1)
      b.copyBytes(from: au.bytes)
      frames.append(b)
    }
    defer { for f in frames { f.deallocate() } }
    var counts = [Int](repeating: -1, count: aus.count)
    var written = 0
    var segments = 0
    var i = 0
    while i < aus.count {
      let frame = UnsafeRawBufferPointer(frames[i])
      let t = aus[i].captureTimeNs
      let key = aus[i].isKeyframe
      alloc_counter_begin()
      let actions = try w.push(frame, captureTimeNs: t, isKeyframe: key)
      var k = 0
      while k < actions.count {
        switch actions[k] {
        case .write(let bytes): written += bytes.count
        case .beginSegment: segments += 1
        case .endSegment: break
        }
        k += 1
      }
      counts[i] = alloc_counter_end()
      i += 1
    }
    #expect(segments == 4 && written > 100_000)
    // from the second frame on: every buffer was allocated by init (the very first push of the
    // process may initialise a lazy global once: run alone, this suite sees it on frame 0)
    #expect(counts.dropFirst().allSatisfy { $0 == 0 }, "allocations per frame: \(counts)")
    #expect(counts[0] <= 1, "frame 0: \(counts[0])")
  }
}

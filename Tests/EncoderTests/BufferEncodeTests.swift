import Capture
import TestSupport
import Testing

@testable import Encoder

/// Encoding straight into caller memory (a ring slot in rtcam): the same bytes as the array
/// form, nothing written past the buffer, and a frame too large for it reported, not cut.
@Suite struct BufferEncodeTests {
  @Test func aBufferGetsTheSameAccessUnitsAsAnArray() throws {
    let intoBuffer = try H264Encoder(EncoderSettings(width: 320, height: 240))
    let intoArray = try H264Encoder(EncoderSettings(width: 320, height: 240))
    var src = TestPattern(width: 320, height: 240, fps: 30, clock: FakeTime().clock)
    var buffer = [UInt8](repeating: 0xAA, count: 256 * 1024)
    var array: [UInt8] = []
    for i in 0..<20 {
      let frame = try src.nextFrame()
      let force = i == 7
      let outcome = try buffer.withUnsafeMutableBytes { try intoBuffer.encode(frame, forceKeyframe: force, into: $0) }
      let e = try #require(try intoArray.encode(frame, forceKeyframe: force, into: &array))
      guard case .encoded(let b) = outcome else {
        Issue.record("frame \(i): \(outcome)")
        continue
      }
      #expect(b == e, "frame \(i)")
      #expect(Array(buffer[0..<b.length]) == array, "frame \(i)")
      #expect(b.isKeyframe == (i == 0 || i == 7))
    }
  }

  @Test func anAccessUnitLargerThanTheBufferIsReportedAndNothingIsWrittenPastIt() throws {
    let enc = try H264Encoder(EncoderSettings(width: 320, height: 240))
    var src = TestPattern(width: 320, height: 240, fps: 30, clock: FakeTime().clock)
    // room for 64 bytes, then a guard zone that must stay untouched
    var memory = [UInt8](repeating: 0x5C, count: 4096)
    let frame = try src.nextFrame()
    let outcome = try memory.withUnsafeMutableBytes { all in
      try enc.encode(frame, forceKeyframe: true, into: UnsafeMutableRawBufferPointer(rebasing: all[0..<64]))
    }
    guard case .tooLarge(let needed) = outcome else {
      Issue.record("an IDR fit in 64 bytes: \(outcome)")
      return
    }
    #expect(needed > 64)
    #expect(memory.allSatisfy { $0 == 0x5C }, "nothing is written when the access unit does not fit")
    // the next forced frame into a buffer that fits is a whole IDR
    var big = [UInt8](repeating: 0, count: 256 * 1024)
    let next = try src.nextFrame()
    let again = try big.withUnsafeMutableBytes { try enc.encode(next, forceKeyframe: true, into: $0) }
    guard case .encoded(let e) = again else {
      Issue.record("\(again)")
      return
    }
    #expect(e.isKeyframe && splitAnnexB(Array(big[0..<e.length])).map(\.type) == [7, 8, 5])
  }
}

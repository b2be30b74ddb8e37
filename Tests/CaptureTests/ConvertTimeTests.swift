import Testing
@testable import Capture

/// `lastConvertNs`: the part of `nextFrame` a source spends making the picture I420, which the
/// capture thread reports as the convert stage (the rest of `nextFrame` is capture wait).
@Suite struct ConvertTimeTests {
  /// A clock that moves 1 ms every time it is read.
  final class SteppingClock {
    var now: UInt64 = 1_000_000_000
    var clock: CaptureClock {
      CaptureClock(
        monotonicNs: { self.now += 1_000_000; return self.now },
        realtimeNs: { 1_700_000_000_000_000_000 },
        sleepUntil: { d in if d > self.now { self.now = d } })
    }
  }

  /// A source that delivers I420 as it is (like a pipe): the protocol's default.
  struct PlainSource: FrameSource {
    var pattern = TestPattern(width: 64, height: 64, fps: 30, paced: false)
    mutating func nextFrame() throws(CaptureError) -> FrameView { try pattern.nextFrame() }
    var width: Int { 64 }
    var height: Int { 64 }
    var fps: Int { 30 }
    var description: String { "plain" }
  }

  func convertTime<S: FrameSource>(_ s: inout S) throws -> UInt64 {
    _ = try s.nextFrame()
    return s.lastConvertNs
  }

  @Test func testPatternCountsItsDrawingAsConversion() throws {
    let c = SteppingClock()
    var src = TestPattern(width: 640, height: 480, fps: 30, clock: c.clock, paced: false)
    // read before drawing and after: one step of the clock
    #expect(try convertTime(&src) == 1_000_000)
    // the real clock: drawing 640x480 takes some time
    var real = TestPattern(width: 640, height: 480, fps: 30, paced: false)
    #expect(try convertTime(&real) > 0)
  }

  @Test func sourcesWithoutConversionReportZero() throws {
    var src = PlainSource()
    #expect(try convertTime(&src) == 0)
  }
}

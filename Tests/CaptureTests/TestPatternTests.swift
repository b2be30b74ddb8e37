import TestSupport
import Testing
@testable import Capture

@Suite struct TestPatternTests {
  @Test func producesI420FramesOfTheRequestedSize() throws {
    let t = FakeTime()
    var src = TestPattern(width: 640, height: 480, fps: 30, clock: t.clock, paced: false)
    #expect(src.width == 640 && src.height == 480 && src.fps == 30)
    #expect(src.description == "testsrc 640x480@30")
    let f = try src.nextFrame()
    #expect(f.width == 640 && f.height == 480 && f.layout == .i420)
    #expect(f.yStride == 640 && f.uvStride == 320)
    #expect(f.u == f.y + 640 * 480)
    #expect(f.v == f.u + 320 * 240)
    #expect(f.sequence == 0)
    #expect(f.captureTimeNs == t.mono)
    let p = planes(f)
    // limited-range luma everywhere, chroma within 16...240
    #expect(p.y.allSatisfy { $0 >= 16 && $0 <= 235 })
    #expect(p.u.allSatisfy { $0 >= 16 && $0 <= 240 })
    #expect(p.v.allSatisfy { $0 >= 16 && $0 <= 240 })
    // colourful: all eight bars show up in a row below the strip
    let row = Set(p.y[(100 * 640)..<(101 * 640)])
    #expect(row.count >= 8)
    #expect(try src.nextFrame().sequence == 1)
  }

  @Test func sizesAreMadeEvenAndClamped() throws {
    let a = TestPattern(width: 321, height: 241, fps: 0, paced: false)
    #expect(a.width == 320 && a.height == 240 && a.fps == 1)
    let b = TestPattern(width: 10, height: 10, fps: 1000, paced: false)
    #expect(b.width == 64 && b.height >= b.strip.height + 16 && b.fps == 240)
    for (w, h) in [(64, 144), (160, 120), (176, 144), (320, 240), (1280, 720), (1920, 1080)] {
      var s = TestPattern(width: w, height: h, fps: 30, paced: false)
      let f = try s.nextFrame()
      #expect(f.width == w && f.height == h)
      #expect(f.width % 2 == 0 && f.height % 2 == 0)
    }
  }

  @Test func everyFrameLooksDifferentAndTheCounterIsDrawn() throws {
    let t = FakeTime()
    var src = TestPattern(width: 640, height: 480, fps: 30, clock: t.clock, paced: false)
    let f0 = planes(try src.nextFrame()).y
    let f1 = planes(try src.nextFrame()).y
    let f2 = planes(try src.nextFrame()).y
    #expect(f0 != f1 && f1 != f2)
    // The counter box is bottom-left (rows 296...463, x 16...367 at 640x480). The wall clock does
    // not move (fake time), so inside the box only the frame number changes between frames 1 and 2.
    func box(_ y: [UInt8]) -> [UInt8] {
      var out: [UInt8] = []
      for r in 300..<460 { out.append(contentsOf: y[(r * 640 + 20)..<(r * 640 + 360)]) }
      return out
    }
    let b1 = box(f1)
    let b2 = box(f2)
    #expect(b1 != b2)
    // the box is mostly black with white segments
    #expect(b1.filter { $0 == 16 }.count > b1.count / 2)
    #expect(b1.contains(235))
    // same frame number on a later frame of another pattern with the same clock: same box
    var other = TestPattern(width: 640, height: 480, fps: 30, clock: t.clock, paced: false)
    _ = try other.nextFrame()
    #expect(box(planes(try other.nextFrame()).y) == b1)
  }

  @Test func timestampStripRoundTrips() throws {
    let t = FakeTime(real: 1_723_456_789_012_345_678)
    for (w, h) in [(640, 480), (1280, 720), (320, 240), (176, 144), (160, 120), (64, 144), (66, 150)] {
      var src = TestPattern(width: w, height: h, fps: 30, clock: t.clock, paced: false)
      for i in 0..<3 {
        let f = try src.nextFrame()
        let got = decodeTimestampStrip(luma: f.y, width: f.width, height: f.height, stride: f.yStride)
        #expect(got?.unixMs == t.real / 1_000_000, "size \(w)x\(h)")
        #expect(got?.frame == UInt16(i), "size \(w)x\(h)")
        // the array version reads the same
        let arr = decodeTimestampStrip(luma: planes(f).y, width: f.width, height: f.height, stride: f.width)
        #expect(arr?.unixMs == got?.unixMs && arr?.frame == got?.frame)
        t.advance(33_000_000)
      }
    }
  }

  @Test func stripLayoutAt640() throws {
    let s = try #require(TimestampStrip(width: 640))
    #expect(s.blocksPerRow == 64 && s.blockWidth == 10 && s.blockHeight == 16 && s.dataBands == 1 && s.height == 32)
    let small = try #require(TimestampStrip(width: 160))
    #expect(small.blocksPerRow == 16 && small.blockWidth == 10 && small.blockHeight == 8 && small.height == 64)
    #expect(TimestampStrip(width: 63) == nil)
    // the word is 48-bit milliseconds then the 16-bit counter, MSB first: block 0 is bit 63
    var luma = [UInt8](repeating: 0, count: 640 * 32)
    luma.withUnsafeMutableBufferPointer { b in
      s.draw(luma: b.baseAddress!, stride: 640, unixMs: 0x8000_0000_0001, frame: 0x0003)
    }
    func block(_ i: Int, band: Int) -> UInt8 { luma[(band * 16 + 8) * 640 + i * 10 + 5] }
    #expect(block(0, band: 0) == 235 && block(0, band: 1) == 16)  // MSB of the time
    #expect(block(1, band: 0) == 16 && block(1, band: 1) == 235)
    #expect(block(47, band: 0) == 235)  // LSB of the time
    #expect(block(62, band: 0) == 235 && block(63, band: 0) == 235 && block(61, band: 0) == 16)
    let got = decodeTimestampStrip(luma: luma, width: 640, height: 32, stride: 640)
    #expect(got?.unixMs == 0x8000_0000_0001 && got?.frame == 3)
  }

  @Test func stripDecodingRejectsOtherPictures() {
    let grey = [UInt8](repeating: 128, count: 640 * 480)
    #expect(decodeTimestampStrip(luma: grey, width: 640, height: 480, stride: 640) == nil)
    var rng = SystemRandomNumberGenerator()
    let noise = (0..<(640 * 480)).map { _ in UInt8.random(in: 0...255, using: &rng) }
    #expect(decodeTimestampStrip(luma: noise, width: 640, height: 480, stride: 640) == nil)
    // too small buffers or sizes never read out of bounds
    #expect(decodeTimestampStrip(luma: [UInt8](repeating: 16, count: 100), width: 640, height: 480, stride: 640) == nil)
    #expect(decodeTimestampStrip(luma: grey, width: 640, height: 20, stride: 640) == nil)
    #expect(decodeTimestampStrip(luma: grey, width: 32, height: 480, stride: 32) == nil)
    #expect(decodeTimestampStrip(luma: grey, width: 640, height: 480, stride: 100) == nil)
  }

  @Test func stripSurvivesMildNoiseAndBlur() throws {
    let t = FakeTime()
    var src = TestPattern(width: 640, height: 480, fps: 30, clock: t.clock, paced: false)
    let f = try src.nextFrame()
    var y = planes(f).y
    var rng = SystemRandomNumberGenerator()
    for i in 0..<(640 * 40) {
      let n = Int.random(in: -30...30, using: &rng)
      y[i] = UInt8(clamping: Int(y[i]) + n)
    }
    // horizontal blur over the strip rows (compression smears the block edges)
    for r in 0..<32 {
      var row = Array(y[(r * 640)..<(r * 640 + 640)])
      for x in 1..<639 {
        let i = r * 640 + x
        let sum: Int = Int(y[i - 1]) + Int(y[i]) + Int(y[i + 1])
        row[x] = UInt8(sum / 3)
      }
      y.replaceSubrange((r * 640)..<(r * 640 + 640), with: row)
    }
    let got = decodeTimestampStrip(luma: y, width: 640, height: 480, stride: 640)
    #expect(got?.unixMs == t.real / 1_000_000 && got?.frame == 0)
  }

  @Test func pacedPatternRunsOnAbsoluteDeadlines() throws {
    let t = FakeTime()
    let start = t.mono
    var src = TestPattern(width: 160, height: 120, fps: 30, clock: t.clock)
    var times: [UInt64] = []
    for _ in 0..<61 { times.append(try src.nextFrame().captureTimeNs) }
    #expect(times[0] == start)
    // frame k at start + k/30 s exactly (rounded down to ns), no accumulated rounding drift
    for k in 0..<61 { #expect(times[k] == start + UInt64(k) * 1_000_000_000 / 30) }
    #expect(times[60] == start + 2_000_000_000)
  }
}

@Suite struct PacerTests {
  @Test func slightlyLateFramesKeepTheSchedule() {
    let t = FakeTime()
    var p = FramePacer(num: 25, den: 1)
    let c = t.clock
    let t0 = p.wait(c)
    t.advance(50_000_000)  // work took 1.25 frame intervals: frame 1 (due at 40 ms) is late
    let t1 = p.wait(c)
    #expect(t1 == t0 + 50_000_000)  // returned at once, no sleep
    let t2 = p.wait(c)
    #expect(t2 == t0 + 80_000_000)  // frame 2 still at its original deadline
    #expect(t.sleeps == [t0 + 80_000_000])
  }

  @Test func farBehindReanchorsInsteadOfBursting() {
    let t = FakeTime()
    var p = FramePacer(num: 30, den: 1)
    let c = t.clock
    let t0 = p.wait(c)
    t.advance(500_000_000)  // stalled for 15 frames
    let t1 = p.wait(c)
    #expect(t1 == t0 + 500_000_000)
    let t2 = p.wait(c)
    // the next frame waits a full interval after the stall instead of coming back to back
    #expect(t2 == t1 + 1_000_000_000 / 30)
    let t3 = p.wait(c)
    #expect(t3 == t1 + 2_000_000_000 / 30)
  }

  @Test func fractionalRatesDoNotDrift() {
    let t = FakeTime()
    var p = FramePacer(num: 30000, den: 1001)
    let c = t.clock
    let t0 = p.wait(c)
    var last: UInt64 = 0
    for _ in 0..<30000 { last = p.wait(c) }
    // 30000 frames at 29.97 fps take exactly 1001 s
    #expect(last == t0 + 1001 * 1_000_000_000)
    #expect(p.intervalNs == 33_366_666)
  }
}

@Suite struct SourceSpecTests {
  @Test func parsesTheThreeForms() {
    #expect(SourceSpec.parse("testsrc") == .testPattern)
    #expect(SourceSpec.parse("y4m:/tmp/a.y4m") == .y4m("/tmp/a.y4m"))
    #expect(SourceSpec.parse("y4m:c:/odd:path.y4m") == .y4m("c:/odd:path.y4m"))
    #expect(SourceSpec.parse("v4l2:/dev/video0") == .v4l2("/dev/video0"))
    for s in ["testsrc", "y4m:/tmp/a.y4m", "v4l2:/dev/video0"] { #expect(SourceSpec.parse(s)?.description == s) }
  }

  @Test func rejectsEverythingElse() {
    for s in ["", "test", "TESTSRC", "y4m:", "v4l2:", "y4m", "file:/x", ":x", "testsrc:1"] {
      #expect(SourceSpec.parse(s) == nil, "\(s)")
    }
  }
}

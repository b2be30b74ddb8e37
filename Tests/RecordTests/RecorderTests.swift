// The recording policy around the writer: segment names from the clocks, a full disk pausing
// recording with its code and the retry, retention due after a segment and after a pause.
import Testing

@testable import Record

@Suite struct RecorderTests {
  func push(_ r: inout Recorder, _ au: EncodedAU, now: UInt64) -> RecordActions {
    au.bytes.withUnsafeBytes { r.frame($0, captureTimeNs: au.captureTimeNs, isKeyframe: au.isKeyframe, now: now) }
  }

  @Test func theSegmentIsNamedByTheWallClockTimeOfItsFirstFrame() {
    let r = Recorder(config: RecorderConfig())
    // the first frame was captured 2.5 s before now; the wall clock says 2026-12-06T18:46:40Z now
    let unixNow: UInt64 = 1_796_582_800 * 1_000_000_000
    let name = r.segmentName(startNs: 10_000_000_000, now: 12_500_000_000, unixNs: unixNow)
    #expect(name == SegmentName.make(unixSeconds: 1_796_582_797))
    #expect(r.segmentName(startNs: 10_000_000_000, now: 12_500_000_000, unixNs: unixNow, bump: 1)
      == SegmentName.make(unixSeconds: 1_796_582_798), "a taken name moves on by a second")
  }

  @Test func aFullDiskPausesWithItsCodeAndRecordingResumesAfterTheRetry() throws {
    var r = Recorder(config: RecorderConfig())
    let aus = threeSeconds
    try #require(aus.count == 90)
    var a = push(&r, aus[0], now: 1)
    #expect(a.count == 2 && a[0] == .beginSegment(startNs: aus[0].captureTimeNs))
    r.opened("x.mp4", .done, now: 1)
    #expect(r.openName == "x.mp4")
    r.wrote(100, .done, now: 1)
    #expect(r.bytesWritten == 100)
    // a fragment's write fails with ENOSPC (28)
    r.wrote(5000, .failed(28), now: 2_000_000_000)
    #expect(r.fault?.code == "RECORD_DISK_FULL")
    #expect(r.openName == nil)
    // frames are not recorded while paused
    for i in 1..<60 { #expect(push(&r, aus[i], now: 2_000_000_000 + UInt64(i)).isEmpty) }
    #expect(r.faults["RECORD_DISK_FULL"] == 1)
    // 30 s later the next keyframe starts a segment again, after retention
    r.retentionDone()
    a = push(&r, aus[60], now: 32_000_000_001)
    #expect(r.retentionDue, "space may have been freed by retention first")
    #expect(a.count == 2 && a[0] == .beginSegment(startNs: aus[60].captureTimeNs), "frame 60 is a keyframe")
    #expect(r.fault == nil)
  }

  @Test func otherFailuresHaveTheirOwnCodes() {
    var r = Recorder(config: RecorderConfig())
    r.opened("a.mp4", .failed(30), now: 1)
    #expect(r.fault?.code == "RECORD_READ_ONLY")
    var r2 = Recorder(config: RecorderConfig())
    r2.opened("a.mp4", .failed(13), now: 1)
    #expect(r2.fault?.code == "RECORD_CREATE_FAILED")
    var r3 = Recorder(config: RecorderConfig())
    r3.opened("a.mp4", .done, now: 1)
    r3.wrote(10, .failed(5), now: 2)
    #expect(r3.fault?.code == "RECORD_WRITE_FAILED")
  }

  @Test func retentionIsDueAtStartAndAfterEachSegment() {
    var r = Recorder(config: RecorderConfig())
    #expect(r.retentionDue)
    r.retentionDone()
    #expect(!r.retentionDue)
    r.opened("a.mp4", .done, now: 1)
    r.closed()
    #expect(r.retentionDue && r.openName == nil)
  }
}

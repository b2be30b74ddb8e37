import Capture
import Encoder
import Testing

@testable import App

/// One input to the supervisor, then everything it asks for until its `.timeout` (left out).
func run(_ s: inout CameraSupervisor, _ input: (inout CameraSupervisor) -> Void) -> [CameraOutput] {
  input(&s)
  var out: [CameraOutput] = []
  while true {
    let o = s.pollOutput()
    if case .timeout = o { return out }
    out.append(o)
  }
}

/// The camera thread's policy: what is published and logged as a camera fails, streams, is lost
/// and comes back, and when the thread tries again.
@Suite struct CameraSupervisorTests {
  func logs(_ a: [CameraOutput]) -> [String] {
    a.compactMap { if case .log(_, let m) = $0 { return m } else { return nil } }
  }

  func published(_ a: [CameraOutput]) -> [SourceState] {
    a.compactMap { if case .publish(let s) = $0 { return s } else { return nil } }
  }

  @Test func eachFailureIsPublishedEveryTimeAndLoggedOncePerChange() {
    var s = CameraSupervisor(name: "v4l2:/dev/video0")
    let missing = SourceError.capture(.cameraNotFound("no camera at /dev/video0"))
    let a = run(&s) { $0.handleFailed(missing) }
    #expect(published(a) == [.retrying(missing)])
    #expect(logs(a) == ["source v4l2:/dev/video0: CAMERA_NOT_FOUND: no camera at /dev/video0 (retrying every 2 s; the page is still served)"])
    // the same failure again (the next retry): published, not logged again
    let b = run(&s) { $0.handleFailed(missing) }
    #expect(published(b) == [.retrying(missing)] && logs(b).isEmpty)
    // a different one is logged
    let c = run(&s) { $0.handleFailed(.capture(.cameraBusy("/dev/video0 is busy"))) }
    #expect(logs(c).count == 1 && logs(c)[0].contains("CAMERA_BUSY"))
  }

  @Test func runningThenBackAfterALoss() {
    var s = CameraSupervisor(name: "v4l2:/dev/video0")
    let f = SourceFormat(width: 640, height: 480, fps: 30)
    let a = run(&s) { $0.handleStreaming(f, details: "/dev/video0 YUYV 640x480") }
    #expect(published(a) == [.running(f)])
    #expect(logs(a) == ["camera running: /dev/video0 YUYV 640x480"])

    let lost = run(&s) { $0.handleEnded(.cameraLost("/dev/video0 stopped working"), counters: "90 frames, 0 dropped") }
    #expect(logs(lost).first == "source v4l2:/dev/video0 ended after 90 frames, 0 dropped")
    #expect(published(lost) == [.retrying(.capture(.cameraLost("/dev/video0 stopped working")))])

    // while it is gone, "not found" is shown as the loss it is
    for _ in 0..<3 {
      let gone = run(&s) { $0.handleFailed(.capture(.cameraNotFound("no camera at /dev/video0"))) }
      #expect(published(gone) == [.retrying(.capture(.cameraLost("/dev/video0 stopped working; not back yet")))])
    }
    let back = run(&s) { $0.handleStreaming(f, details: "/dev/video0 YUYV 640x480") }
    #expect(logs(back) == ["camera back: /dev/video0 YUYV 640x480"])
    // after it came back, a missing camera is just missing again, and logged again
    let missing = run(&s) { $0.handleFailed(.capture(.notACamera("/dev/video0 is not a camera"))) }
    #expect(published(missing) == [.retrying(.capture(.notACamera("/dev/video0 is not a camera")))])
    #expect(logs(missing).count == 1)
  }

  @Test func theTimeoutSaysWhenToTryAgain() {
    let s2: UInt64 = 2_000_000_000
    var s = CameraSupervisor(name: "v4l2:/dev/video0")
    #expect(s.pollOutput() == .timeout(nil), "nothing to retry before anything happened")
    s.handleFailed(.capture(.cameraBusy("/dev/video0 is busy")), now: 5 * s2)
    while case .publish = s.pollOutput() {}
    #expect(s.pollOutput() == .timeout(6 * s2), "2 s after the failure")
    s.handleStreaming(SourceFormat(width: 640, height: 480, fps: 30), details: "x", now: 8 * s2)
    _ = run(&s) { _ in }
    #expect(s.pollOutput() == .timeout(nil), "nothing to retry while it streams")
    var never = CameraSupervisor(name: "stdin:", noun: "source", policy: .never)
    #expect(run(&never) { $0.handleFailed(.capture(.endOfStream), now: 1) }.last == .stop)
    #expect(never.pollOutput() == .timeout(nil), "given up: no retry")
  }

  @Test func encoderFailuresAreTyped() {
    var s = CameraSupervisor(name: "v4l2:/dev/video1")
    let a = run(&s) { $0.handleFailed(.encoder(.initFailed(-3))) }
    #expect(published(a) == [.retrying(.encoder(.initFailed(-3)))])
    #expect(a.contains { if case .log(.error, let m) = $0 { return m.contains("ENCODER_INIT_FAILED") } else { return false } })
  }
}

/// The restart policy of program sources: 1 s doubling to 30 s, reset by a run that streamed.
@Suite struct RestartBackoffTests {
  let s: UInt64 = 1_000_000_000

  @Test func doublesUpToTheCapAndStaysThere() {
    var b = RestartBackoff()
    let delays = (0..<8).map { _ in b.delay(afterStreamingFor: 0) }
    #expect(delays == [1, 2, 4, 8, 16, 30, 30, 30].map { $0 * s })
  }

  @Test func aRunThatStreamedLongEnoughStartsAgainAtTheBeginning() {
    var b = RestartBackoff()
    _ = b.delay(afterStreamingFor: 0)
    _ = b.delay(afterStreamingFor: 0)
    #expect(b.delay(afterStreamingFor: 3 * s) == 4 * s)  // a short run does not reset
    #expect(b.delay(afterStreamingFor: 10 * s) == 1 * s)  // 10 s does
    #expect(b.delay(afterStreamingFor: 0) == 2 * s)
  }

  @Test func customValuesAndNoOverflow() {
    var b = RestartBackoff(initialNs: 250_000_000, maxNs: 1 * s, resetAfterNs: 5 * s)
    #expect((0..<4).map { _ in b.delay(afterStreamingFor: 0) } == [250_000_000, 500_000_000, 1 * s, 1 * s])
    var huge = RestartBackoff(initialNs: UInt64.max / 3, maxNs: UInt64.max, resetAfterNs: 1)
    _ = huge.delay(afterStreamingFor: 0)
    #expect(huge.delay(afterStreamingFor: 0) == UInt64.max / 3 * 2)
    #expect(huge.delay(afterStreamingFor: 0) == UInt64.max)
  }

  func logs(_ a: [CameraOutput]) -> [String] {
    a.compactMap { if case .log(_, let m) = $0 { return m } else { return nil } }
  }

  @Test func supervisorWithBackoffUsesTheRunTime() {
    var sup = CameraSupervisor(name: "exec:gen", noun: "source", policy: .backoff(RestartBackoff()))
    let exited = SourceError.capture(.sourceExited("gen exited with status 3 after 90 frames"))
    let a = run(&sup) { $0.handleFailed(exited, now: 100 * s) }
    #expect(a.first == .publish(.retrying(exited)))
    #expect(sup.retryNs == 1 * s)
    #expect(logs(a) == ["source exec:gen: SOURCE_EXITED: gen exited with status 3 after 90 frames (restarting in 1 s, then up to every 30 s; the page is still served)"])
    // the same failure again: 2 s, logged at debug only
    let b = run(&sup) { $0.handleFailed(exited, now: 101 * s) }
    #expect(sup.retryNs == 2 * s && b.contains(.log(.debug, "source exec:gen: SOURCE_EXITED again; restarting in 2 s")))
    // it starts, streams 3 s and exits: not long enough to reset (4 s)
    let f = SourceFormat(width: 640, height: 480, fps: 30)
    #expect(logs(run(&sup) { $0.handleStreaming(f, details: "exec:gen 640x480@30", now: 104 * s) }) == ["source running: exec:gen 640x480@30"])
    _ = run(&sup) { $0.handleEnded(.sourceExited("gen exited with status 3 after 90 frames"), counters: "90 frames", now: 107 * s) }
    #expect(sup.retryNs == 4 * s)
    // back, streams 60 s: the next exit waits 1 s again
    #expect(logs(run(&sup) { $0.handleStreaming(f, details: "exec:gen", now: 111 * s) }) == ["source back: exec:gen"])
    _ = run(&sup) { $0.handleEnded(.sourceExited("gen was killed by SIGKILL after 1800 frames"), counters: "1800 frames", now: 171 * s) }
    #expect(sup.retryNs == 1 * s)
  }

  @Test func aSourceThatIsNotRestartedFailsForGood() {
    var sup = CameraSupervisor(name: "stdin:", noun: "source", policy: .never)
    let a = run(&sup) { $0.handleEnded(.endOfStream, counters: "300 frames") }
    #expect(a == [.log(.info, "source stdin: ended after 300 frames"), .publish(.failed(.capture(.endOfStream))), .stop])
  }

  /// The test pattern and Y4M files: opened once, no run lines in the log (the start-up log says
  /// what the source is), every failure final and logged by the core alone.
  @Test func aQuietSourceOnlyPublishes() {
    var sup = CameraSupervisor(name: "y4m:clip.y4m", noun: "source", policy: .never, announcesRuns: false)
    let f = SourceFormat(width: 320, height: 240, fps: 25)
    #expect(run(&sup) { $0.handleStreaming(f, details: "clip.y4m 320x240@25") } == [.publish(.running(f))])
    #expect(run(&sup) { $0.handleEnded(.endOfStream, counters: "300 frames") } == [.publish(.failed(.capture(.endOfStream))), .stop])
    var encoder = CameraSupervisor(name: "testsrc", noun: "source", policy: .never, announcesRuns: false)
    let bad = SourceError.encoder(.badSettings("fps 200 out of range (1...120)"))
    #expect(run(&encoder) { $0.handleFailed(bad) } == [.publish(.failed(bad)), .stop])
  }
}

import Capture
import Encoder
import Testing

@testable import App

/// The camera thread's policy: what is published and logged as a camera fails, streams, is lost
/// and comes back.
@Suite struct CameraSupervisorTests {
  func logs(_ a: [CameraAction]) -> [String] {
    a.compactMap { if case .log(_, let m) = $0 { return m } else { return nil } }
  }

  func published(_ a: [CameraAction]) -> [SourceState] {
    a.compactMap { if case .publish(let s) = $0 { return s } else { return nil } }
  }

  @Test func eachFailureIsPublishedEveryTimeAndLoggedOncePerChange() {
    var s = CameraSupervisor(name: "v4l2:/dev/video0")
    let missing = SourceError.capture(.cameraNotFound("no camera at /dev/video0"))
    let a = s.failed(missing)
    #expect(published(a) == [.retrying(missing)])
    #expect(logs(a) == ["source v4l2:/dev/video0: CAMERA_NOT_FOUND: no camera at /dev/video0 (retrying every 2 s; the page is still served)"])
    // the same failure again (the next retry): published, not logged again
    let b = s.failed(missing)
    #expect(published(b) == [.retrying(missing)] && logs(b).isEmpty)
    // a different one is logged
    let c = s.failed(.capture(.cameraBusy("/dev/video0 is busy")))
    #expect(logs(c).count == 1 && logs(c)[0].contains("CAMERA_BUSY"))
  }

  @Test func runningThenBackAfterALoss() {
    var s = CameraSupervisor(name: "v4l2:/dev/video0")
    let f = SourceFormat(width: 640, height: 480, fps: 30)
    let a = s.streaming(f, details: "/dev/video0 YUYV 640x480")
    #expect(published(a) == [.running(f)])
    #expect(logs(a) == ["camera running: /dev/video0 YUYV 640x480"])

    let lost = s.ended(.cameraLost("/dev/video0 stopped working"), counters: "90 frames, 0 dropped")
    #expect(logs(lost).first == "source v4l2:/dev/video0 ended after 90 frames, 0 dropped")
    #expect(published(lost) == [.retrying(.capture(.cameraLost("/dev/video0 stopped working")))])

    // while it is gone, "not found" is shown as the loss it is
    for _ in 0..<3 {
      let gone = s.failed(.capture(.cameraNotFound("no camera at /dev/video0")))
      #expect(published(gone) == [.retrying(.capture(.cameraLost("/dev/video0 stopped working; not back yet")))])
    }
    let back = s.streaming(f, details: "/dev/video0 YUYV 640x480")
    #expect(logs(back) == ["camera back: /dev/video0 YUYV 640x480"])
    // after it came back, a missing camera is just missing again, and logged again
    let missing = s.failed(.capture(.notACamera("/dev/video0 is not a camera")))
    #expect(published(missing) == [.retrying(.capture(.notACamera("/dev/video0 is not a camera")))])
    #expect(logs(missing).count == 1)
  }

  @Test func encoderFailuresAreTyped() {
    var s = CameraSupervisor(name: "v4l2:/dev/video1")
    let a = s.failed(.encoder(.initFailed(-3)))
    #expect(published(a) == [.retrying(.encoder(.initFailed(-3)))])
    #expect(a.contains { if case .log(.error, let m) = $0 { return m.contains("ENCODER_INIT_FAILED") } else { return false } })
  }
}

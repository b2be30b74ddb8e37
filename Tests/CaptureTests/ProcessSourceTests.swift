import AllocCounter
import CRTCam
import Foundation
import Testing
@testable import Capture

/// A Python one-liner's worth of program that writes `frames` I420 frames of w x h with rows of
/// `stride` bytes (padding bytes 0xEE): every pixel byte of frame i is i*10 + plane (0 Y, 1 U, 2 V).
func framesScript(w: Int, h: Int, frames: Int, stride: Int? = nil, y4m: String? = nil, tail: String = "") -> [String] {
  let s = stride ?? w
  let py = """
    import sys
    o = sys.stdout.buffer
    w, h, s = \(w), \(h), \(s)
    \(y4m.map { "o.write(b'" + $0 + "\\n')" } ?? "")
    for i in range(\(frames)):
        \(y4m != nil ? "o.write(b'FRAME\\n')" : "")
        for p, (pw, ph, ps) in enumerate([(w, h, s), (w // 2, h // 2, s // 2), (w // 2, h // 2, s // 2)]):
            for r in range(ph):
                o.write(bytes([(i * 10 + p) % 256]) * pw + b'\\xee' * (ps - pw))
        o.flush()
    \(tail)
    """
  return ["/usr/bin/python3", "-c", py]
}

func options(_ w: Int, _ h: Int, stride: Int? = nil, firstMs: UInt64 = 5000, frameMs: UInt64? = 5000) -> PipeSourceOptions {
  var o = PipeSourceOptions(width: w, height: h, fps: 30)
  o.rawLumaStride = stride
  o.firstDataTimeoutNs = firstMs * 1_000_000
  o.frameTimeoutNs = frameMs.map { $0 * 1_000_000 }
  return o
}

func captureError(_ body: () throws -> Void) -> CaptureError? {
  do { try body(); return nil } catch { return error as? CaptureError }
}

/// True while a process with this pid exists (a zombie counts: it has not been reaped).
func processExists(_ pid: Int32) -> Bool { kill(pid, 0) == 0 }

@Suite(.serialized) struct ProcessSourceTests {
  @Test func rawFramesFromARealProcessThenItsExit() throws {
    var src = try ProcessSource(name: "exec:test", argv: framesScript(w: 16, h: 8, frames: 3), options: options(16, 8))
    #expect(!src.isY4M && src.width == 16 && src.height == 8 && src.fps == 30 && src.frameSize == 16 * 8 * 3 / 2)
    for i in 0..<3 {
      let f = try src.nextFrame()
      #expect(f.sequence == UInt64(i) && f.yStride == 16 && f.uvStride == 8)
      let p = planes(f)
      let n = UInt8(i * 10)
      #expect(p.y.allSatisfy { $0 == n } && p.u.allSatisfy { $0 == n + 1 } && p.v.allSatisfy { $0 == n + 2 })
    }
    let e = captureError { _ = try src.nextFrame() }
    #expect(e?.code == "SOURCE_EXITED")
    #expect(e?.message == "/usr/bin/python3 exited with status 0 after 3 frames")
  }

  @Test func paddedRowsAreReadWithTheirStride() throws {
    var src = try ProcessSource(
      name: "rpicam", argv: framesScript(w: 20, h: 4, frames: 2, stride: 64), options: options(20, 4, stride: 64))
    #expect(src.frameSize == 64 * 4 + 2 * 32 * 2 && src.description.contains("rows padded to 64 bytes"))
    for i in 0..<2 {
      let f = try src.nextFrame()
      #expect(f.yStride == 64 && f.uvStride == 32)
      let p = planes(f)  // the visible pixels only: no 0xEE padding
      #expect(p.y.allSatisfy { $0 == UInt8(i * 10) } && p.u.allSatisfy { $0 == UInt8(i * 10 + 1) })
      #expect(p.v.allSatisfy { $0 == UInt8(i * 10 + 2) })
    }
  }

  @Test func y4mStreamsBringTheirOwnFormat() throws {
    var src = try ProcessSource(
      name: "exec:y4m", argv: framesScript(w: 32, h: 16, frames: 2, y4m: "YUV4MPEG2 W32 H16 F25:1 Ip C420jpeg"),
      options: options(640, 480))
    #expect(src.isY4M && src.width == 32 && src.height == 16 && src.fps == 25)
    for i in 0..<2 {
      let p = planes(try src.nextFrame())
      #expect(p.y.count == 32 * 16 && p.y.allSatisfy { $0 == UInt8(i * 10) } && p.v.allSatisfy { $0 == UInt8(i * 10 + 2) })
    }
    #expect(captureError { _ = try src.nextFrame() }?.code == "SOURCE_EXITED")
    // a header rtcam cannot play
    let bad = captureError {
      _ = try ProcessSource(name: "exec:y", argv: ["/bin/sh", "-c", "printf 'YUV4MPEG2 W32 H16 C444\\n'"], options: options(16, 16))
    }
    #expect(bad?.code == "FORMAT_UNSUPPORTED" && bad?.message.contains("C444") == true)
  }

  @Test func exitStatusAndSignalsAreReported() throws {
    let none = captureError { _ = try ProcessSource(name: "exec:x", argv: ["/bin/sh", "-c", "exit 7"], options: options(16, 16)) }
    #expect(none == .sourceExited("/bin/sh exited with status 7 before sending a frame"))
    var src = try ProcessSource(
      name: "exec:x", argv: framesScript(w: 16, h: 16, frames: 1, tail: "import os, signal; os.kill(os.getpid(), signal.SIGKILL)"),
      options: options(16, 16))
    _ = try src.nextFrame()
    #expect(captureError { _ = try src.nextFrame() } == .sourceExited("/usr/bin/python3 was killed by SIGKILL after 1 frames"))
  }

  @Test func halfAFrameIsAShortFrame() throws {
    let e = captureError {
      var s = try ProcessSource(name: "exec:x", argv: ["/bin/sh", "-c", "head -c 100 /dev/zero"], options: options(16, 16))
      _ = try s.nextFrame()
    }
    #expect(e == .shortFrame("/bin/sh exited with status 0", got: 100, of: 384))
    #expect(e?.code == "SOURCE_SHORT_FRAME" && e?.message == "/bin/sh exited with status 0 inside a frame: 100 of 384 bytes")
  }

  @Test func commandsThatCannotRun() throws {
    let missing = captureError { _ = try ProcessSource(name: "exec:x", argv: ["no-such-program-rtcam"], options: options(16, 16)) }
    #expect(missing == .commandNotFound("no-such-program-rtcam", ENOENT))
    #expect(missing?.code == "SOURCE_NOT_FOUND" && missing?.message.contains("looked up on PATH") == true)
    let dir = makeTempDir()
    defer { try? FileManager.default.removeItem(at: dir) }
    let plain = writeFile(Data("#!/bin/sh\necho hi\n".utf8), name: "not-executable", in: dir)
    #expect(captureError { _ = try ProcessSource(name: "exec:x", argv: [plain], options: options(16, 16)) } == .commandNotFound(plain, EACCES))
    #expect(captureError { _ = try ProcessSource(name: "exec:x", argv: [dir.path], options: options(16, 16)) } == .commandNotFound(dir.path, EACCES))
  }

  @Test func silenceTimesOutAndTheProgramIsStopped() throws {
    let dir = makeTempDir()
    defer { try? FileManager.default.removeItem(at: dir) }
    let pidFile = dir.appendingPathComponent("pid").path
    let e = captureError {
      _ = try ProcessSource(name: "exec:x", argv: ["/bin/sh", "-c", "echo $$ > " + pidFile + "; exec sleep 30"],
                            options: options(16, 16, firstMs: 300))
    }
    #expect(e == .sourceTimeout("/bin/sh sent nothing within 0.30 s of starting"))
    let pid = Int32((try? String(contentsOfFile: pidFile, encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines) ?? "") ?? 0
    #expect(pid > 0 && !processExists(pid))  // SIGTERM, reaped
  }

  @Test func aStallInsideAFrameIsAShortFrame() throws {
    var src = try ProcessSource(
      name: "exec:x", argv: ["/bin/sh", "-c", "head -c 500 /dev/zero; exec sleep 30"], options: options(16, 16, frameMs: 300))
    _ = try src.nextFrame()
    let e = captureError { _ = try src.nextFrame() }
    #expect(e == .shortFrame("/bin/sh stalled for 0.30 s", got: 116, of: 384))
  }

  @Test func aProgramThatIgnoresSIGTERMIsKilledWithItsGroup() throws {
    var pid: Int32 = 0
    let t0 = Date()
    do {
      var o = options(16, 16)
      o.stopGraceNs = 300_000_000
      // sh and its sleep ignore SIGTERM; both are in the program's process group
      let s = try ProcessSource(
        name: "exec:x", argv: ["/bin/sh", "-c", "trap '' TERM; head -c 384 /dev/zero; while :; do sleep 1; done"], options: o)
      pid = s.pid ?? 0
    }
    #expect(pid > 0 && !processExists(pid))
    #expect(Date().timeIntervalSince(t0) < 2.5)
  }

  @Test func aStopRequestEndsTheWait() throws {
    let flag = Flag()
    var src = try ProcessSource(
      name: "exec:x", argv: ["/bin/sh", "-c", "head -c 384 /dev/zero; exec sleep 30"], options: options(16, 16), shouldStop: { flag.value })
    _ = try src.nextFrame()
    DispatchQueue.global().asyncAfter(deadline: .now() + 0.2) { flag.value = true }
    let t0 = Date()
    #expect(captureError { _ = try src.nextFrame() } == .stopped)
    // the stop (after 0.2 s) ended the wait, not the 5 s frame timeout (which would also be
    // another error); not a speed bound: the machines are shared and slow at times
    #expect(Date().timeIntervalSince(t0) < 4.5)
  }

  @Test func thePipeOfStandardInputEndsTheStream() throws {
    var fds: [Int32] = [0, 0]
    #expect(pipe(&fds) == 0)
    defer { close(fds[0]) }
    var two = [UInt8](repeating: 7, count: 384 * 2)
    #expect(write(fds[1], &two, two.count) == two.count)
    close(fds[1])
    var src = try ProcessSource(name: "stdin:", producer: "standard input", fd: fds[0], child: nil, options: options(16, 16, frameMs: nil),
                                shouldStop: { false })
    #expect(try src.nextFrame().sequence == 0 && src.nextFrame().sequence == 1)
    #expect(captureError { _ = try src.nextFrame() } == .endOfStream)
  }

  @Test func framesAreReadWithoutAllocating() throws {
    var src = try ProcessSource(name: "exec:x", argv: framesScript(w: 64, h: 32, frames: 40), options: options(64, 32))
    for _ in 0..<5 { _ = try src.nextFrame() }
    alloc_counter_begin()
    var ok = 0
    var failure: CaptureError? = nil
    for _ in 0..<30 {
      do { _ = try src.nextFrame(); ok += 1 } catch { failure = error; break }
    }
    let n = alloc_counter_end()
    #expect(ok == 30 && failure == nil, "\(String(describing: failure))")
    #expect(n == 0, "allocations for 30 frames: \(n)")
  }

  @Test func theProgramGetsSIGTERMWhenTheThreadThatStartedItEnds() throws {
    // PR_SET_PDEATHSIG: a thread starts a program, leaks it (no stop) and ends
    let box = PidBox()
    let t = Thread {
      if let (child, fd) = try? ChildProcess.start(["/bin/sleep", "30"], stopGraceNs: 1) {
        box.pid = child.pid
        _ = Unmanaged.passRetained(child)
        close(fd)
      }
      box.started.signal()
    }
    t.start()
    box.started.wait()
    #expect(box.pid > 0)
    var status: Int32 = 0
    var reaped: Int32 = 0
    for _ in 0..<300 where reaped == 0 {
      reaped = rtc_waitpid(box.pid, &status, 1)
      if reaped == 0 { usleep(10_000) }
    }
    #expect(reaped == box.pid && rtc_wait_signal(status) == SIGTERM)
  }
}

final class Flag: @unchecked Sendable {
  private let lock = NSLock()
  private var v = false
  var value: Bool {
    get { lock.lock(); defer { lock.unlock() }; return v }
    set { lock.lock(); v = newValue; lock.unlock() }
  }
}

final class PidBox: @unchecked Sendable {
  var pid: Int32 = 0
  let started = DispatchSemaphore(value: 0)
}

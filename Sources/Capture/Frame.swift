// Capture: where frames come from (test pattern, Y4M file, V4L2 camera) and the types they share.
import CRTCam
import Wire

/// Pixel layouts a source can hand to the encoder. Only planar I420: V4L2Source uses YU12/YV12
/// buffers in place and converts YUYV/UYVY/NV12/NV21 into an I420 buffer it owns.
public enum PixelLayout: Equatable, Sendable {
  /// Planar 4:2:0: a full-size Y plane, then U and V planes of (width/2)x(height/2).
  case i420
}

/// A view of one I420 frame living in memory owned by the source. It is valid until the next
/// call on the source (the next `nextFrame`) or until the source is dropped; do not keep it.
public struct FrameView {
  public var width: Int
  public var height: Int
  public var layout: PixelLayout
  public var y: UnsafePointer<UInt8>
  public var u: UnsafePointer<UInt8>
  public var v: UnsafePointer<UInt8>
  /// Bytes from one luma row to the next (>= width).
  public var yStride: Int
  /// Bytes from one chroma row to the next, for U and V (>= width/2).
  public var uvStride: Int
  /// When the frame was captured, in monotonic nanoseconds (`rtc_monotonic_ns` clock).
  public var captureTimeNs: UInt64
  /// 0 for the first frame a source delivers, then +1 per frame.
  public var sequence: UInt64

  public init(
    width: Int, height: Int, layout: PixelLayout = .i420,
    y: UnsafePointer<UInt8>, u: UnsafePointer<UInt8>, v: UnsafePointer<UInt8>,
    yStride: Int, uvStride: Int, captureTimeNs: UInt64, sequence: UInt64
  ) {
    self.width = width
    self.height = height
    self.layout = layout
    self.y = y
    self.u = u
    self.v = v
    self.yStride = yStride
    self.uvStride = uvStride
    self.captureTimeNs = captureTimeNs
    self.sequence = sequence
  }
}

/// Why a source cannot deliver frames.
public enum CaptureError: Error, Equatable, Sendable {
  /// The file or device does not exist.
  case fileNotFound(String)
  /// The input exists but is not something we can use (bad header, unsupported chroma,
  /// interlaced, size); the text says what exactly.
  case badFormat(String)
  /// A system call failed: what was being done, and errno.
  case io(String, Int32)
  /// The source has no (more) frames.
  case endOfStream
  /// The source kind exists in the syntax but is not available in this build.
  case unsupported(String)
  /// V4L2: no camera at the path (open failed with ENOENT/ENODEV/ENXIO). The text says which path.
  case cameraNotFound(String)
  /// V4L2: the path exists but is not a V4L2 video capture device with streaming I/O
  /// (/dev/null, a metadata node, an output device).
  case notACamera(String)
  /// V4L2: another program is using the camera (EBUSY).
  case cameraBusy(String)
  /// V4L2: the camera went away or failed while streaming (unplugged: ENODEV/EIO, POLLERR).
  case cameraLost(String)
  /// V4L2: the camera delivered no frame in time, though it still answers.
  case cameraTimeout(String)
  /// V4L2: any other failure: what was being done, and errno.
  case camera(String, Int32)
  /// A source process exited or was killed; the text says how (exit status or signal).
  case sourceExited(String)
  /// A source command could not be started: not found on PATH or not executable (errno of the
  /// child's failed execve).
  case commandNotFound(String, Int32)
  /// The stream ended or stalled inside a frame: what happened, bytes received, bytes of a frame.
  case shortFrame(String, got: Int, of: Int)
  /// A source process or pipe delivered no frame in time.
  case sourceTimeout(String)
  /// Reading stopped because rtcam is stopping.
  case stopped

  /// A stable machine-readable code for logs and the status API.
  public var code: String {
    switch self {
    case .fileNotFound: return "SOURCE_NOT_FOUND"
    case .badFormat: return "FORMAT_UNSUPPORTED"
    case .io: return "SOURCE_IO"
    case .endOfStream: return "END_OF_STREAM"
    case .unsupported: return "SOURCE_UNSUPPORTED"
    case .cameraNotFound, .notACamera: return "CAMERA_NOT_FOUND"
    case .cameraBusy: return "CAMERA_BUSY"
    case .cameraLost: return "CAMERA_LOST"
    case .cameraTimeout: return "CAMERA_TIMEOUT"
    case .camera: return "CAMERA_ERROR"
    case .sourceExited: return "SOURCE_EXITED"
    case .commandNotFound: return "SOURCE_NOT_FOUND"
    case .shortFrame: return "SOURCE_SHORT_FRAME"
    case .sourceTimeout: return "SOURCE_TIMEOUT"
    case .stopped: return "SOURCE_STOPPED"
    }
  }

  /// A one-line human-readable explanation.
  public var message: String {
    switch self {
    case .fileNotFound(let path): return "no such file or device: " + path
    case .badFormat(let why): return why
    case .io(let what, let errno): return what + " failed (errno " + String(Int(errno)) + ")"
    case .endOfStream: return "end of stream"
    case .unsupported(let what): return what
    case .cameraNotFound(let why), .notACamera(let why), .cameraBusy(let why), .cameraLost(let why),
      .cameraTimeout(let why):
      return why
    case .camera(let what, let errno): return what + ": " + errnoDescription(errno)
    case .sourceExited(let why), .sourceTimeout(let why): return why
    case .commandNotFound(let command, let errno):
      return "cannot run " + command + ": " + errnoDescription(errno)
        + (command.utf8.contains(UInt8(ascii: "/")) ? "" : " (looked up on PATH)")
    case .shortFrame(let what, let got, let of):
      return what + " inside a frame: " + String(got) + " of " + String(of) + " bytes"
    case .stopped: return "stopped"
    }
  }
}

/// Something that produces frames at its own pace. `nextFrame` BLOCKS until the frame's time:
/// it is called on the capture thread. The returned view points into memory the source owns and
/// reuses: it stays valid until the next call.
public protocol FrameSource {
  mutating func nextFrame() throws(CaptureError) -> FrameView
  var width: Int { get }
  var height: Int { get }
  /// Nominal frame rate, rounded to whole frames per second.
  var fps: Int { get }
  /// Short human-readable description for logs ("testsrc 640x480@30").
  var description: String { get }
  /// Nanoseconds the last `nextFrame` spent converting the picture to I420 (V4L2: NV12/YUYV
  /// conversion or MJPEG decoding; the test pattern: drawing it, time strip included), part of
  /// the time `nextFrame` took; the rest was waiting for and reading the frame. 0 for sources
  /// that deliver I420 as it is (pipes, Y4M files).
  var lastConvertNs: UInt64 { get }
}

extension FrameSource {
  public var lastConvertNs: UInt64 { 0 }
}

/// The clock and sleep a source uses. `system` is the real one; tests pass a fake whose
/// `sleepUntil` just advances its own time, so paced sources run instantly and deterministically.
public struct CaptureClock {
  /// Monotonic time in nanoseconds.
  public var monotonicNs: () -> UInt64
  /// Wall-clock time in nanoseconds since the Unix epoch.
  public var realtimeNs: () -> UInt64
  /// Blocks until the monotonic clock reaches the given nanosecond deadline.
  public var sleepUntil: (UInt64) -> Void

  public init(
    monotonicNs: @escaping () -> UInt64, realtimeNs: @escaping () -> UInt64,
    sleepUntil: @escaping (UInt64) -> Void
  ) {
    self.monotonicNs = monotonicNs
    self.realtimeNs = realtimeNs
    self.sleepUntil = sleepUntil
  }

  /// CLOCK_MONOTONIC / CLOCK_REALTIME, sleeping with clock_nanosleep(TIMER_ABSTIME).
  public static var system: CaptureClock {
    CaptureClock(
      monotonicNs: { rtc_monotonic_ns() },
      realtimeNs: { rtc_realtime_ns() },
      sleepUntil: { deadline in sleepUntilMonotonic(deadline) })
  }
}

/// Sleeps until CLOCK_MONOTONIC reaches `deadlineNs` (absolute, so it does not drift; retried
/// after signals).
public func sleepUntilMonotonic(_ deadlineNs: UInt64) {
  var ts = timespec()
  ts.tv_sec = time_t(clamping: deadlineNs / 1_000_000_000)  // time_t is 32-bit on armhf
  ts.tv_nsec = Int(deadlineNs % 1_000_000_000)
  while true {
    let r = clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, nil)
    if r != EINTR { return }
  }
}

/// Which source to capture from, as given on the command line.
public enum SourceSpec: Equatable, Sendable {
  /// "testsrc": the moving test pattern.
  case testPattern
  /// "y4m:PATH": a YUV4MPEG2 file played in a loop.
  case y4m(String)
  /// "v4l2:DEVICE", e.g. "v4l2:/dev/video0".
  case v4l2(String)
  /// "exec:COMMAND": frames from a program's standard output; the command as written (split into
  /// argv with `splitCommandLine`, never run by a shell).
  case exec(String)
  /// "rpicam": `rpicam-vid` with the size and rate (`rpicamCommand`).
  case rpicam
  /// "stdin:": frames from rtcam's standard input.
  case stdin

  /// Parses "testsrc", "y4m:PATH", "v4l2:DEVICE" (PATH/DEVICE non-empty), "exec:COMMAND" (a
  /// command `splitCommandLine` accepts, with at least one word), "rpicam" or "stdin:". nil otherwise.
  public static func parse(_ s: String) -> SourceSpec? {
    if s == "testsrc" { return .testPattern }
    if s == "rpicam" { return .rpicam }
    if s == "stdin:" || s == "stdin" { return .stdin }
    let parts = s.splitASCII(UInt8(ascii: ":"), maxSplits: 1)
    guard parts.count == 2, !parts[1].isEmpty else { return nil }
    switch parts[0] {
    case "y4m": return .y4m(parts[1])
    case "v4l2": return .v4l2(parts[1])
    case "exec":
      guard let argv = try? splitCommandLine(parts[1]), !argv.isEmpty else { return nil }
      return .exec(parts[1])
    default: return nil
    }
  }

  /// The spec in the syntax `parse` accepts.
  public var description: String {
    switch self {
    case .testPattern: return "testsrc"
    case .y4m(let path): return "y4m:" + path
    case .v4l2(let device): return "v4l2:" + device
    case .exec(let command): return "exec:" + command
    case .rpicam: return "rpicam"
    case .stdin: return "stdin:"
    }
  }
}

/// Memory for one I420 frame, allocated once and owned by a source (freed with it).
final class PlaneStorage {
  let base: UnsafeMutablePointer<UInt8>
  let count: Int

  init(count: Int) {
    self.count = count
    base = UnsafeMutablePointer<UInt8>.allocate(capacity: max(count, 1))
    base.initialize(repeating: 0, count: max(count, 1))
  }

  deinit { base.deallocate() }
}

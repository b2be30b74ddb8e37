// V4L2 capture, streaming part: V4L2Source, a FrameSource over a camera's mmap'd buffers (opened
// by the steps in V4L2Setup.swift; each frame made a view by V4L2Frames.swift).
import CRTCam
import Wire

/// What to ask a camera for. The closest offer wins (see `V4L2FormatChooser`).
public struct V4L2Options: Equatable, Sendable {
  public var width = 640
  public var height = 480
  public var fps = 30
  /// Capture exactly this pixel format (YU12, YV12, NV12, NV21, YUYV, UYVY); nil = choose.
  public var format: FourCC? = nil
  /// Driver buffers to request (the fixed ring; the driver may grant more, at most 32 are used).
  public var bufferCount = 4
  /// How long to wait for the first frame after STREAMON (cameras can be slow to start).
  public var firstFrameTimeoutMs = 5000
  /// How long to wait for any later frame before giving up (CAMERA_TIMEOUT or CAMERA_LOST).
  public var frameTimeoutMs = 2000
  /// Sizes above this many macroblocks are chosen only if nothing smaller exists (H.264 level 3.1).
  public var maxMacroblocks = 3600

  public init(width: Int = 640, height: Int = 480, fps: Int = 30, format: FourCC? = nil) {
    self.width = width
    self.height = height
    self.fps = fps
    self.format = format
  }
}

/// Counters of a V4L2Source.
public struct V4L2Stats: Equatable, Sendable {
  /// Frames delivered by `nextFrame`.
  public var frames: UInt64 = 0
  /// Frames lost: gaps in the driver's sequence numbers plus buffers the driver flagged as bad.
  public var dropped: UInt64 = 0
  /// MJPEG frames skipped because they could not be decoded (truncated, corrupt); also in `dropped`.
  public var damaged: UInt64 = 0
  /// MJPEG: mean time to decode one frame, in microseconds (nil before the first, or not MJPEG).
  public var decodeMicros: Int? = nil
  /// Frames per second × 1000 from the capture timestamps of the delivered frames (nil before two).
  public var milliFps: Int? = nil

  public init() {}
}

/// Frames from a V4L2 camera, with mmap streaming I/O:
///
/// - open (O_RDWR | O_NONBLOCK), VIDIOC_QUERYCAP (a single-planar video capture node with
///   streaming I/O), enumerate formats, sizes and intervals, pick the closest to the request,
///   S_FMT and S_PARM, REQBUFS (a fixed ring, 4 buffers by default), QUERYBUF + mmap each, QBUF
///   all, STREAMON. Nothing is allocated per frame.
/// - YU12 (I420) and YV12 are **zero copy**: the view points into the driver's mmap'd buffer.
///   That buffer is given back to the driver (QBUF) at the start of the NEXT `nextFrame` call
///   (or when the source goes away), so a view is valid until the next call, as for every
///   FrameSource, and no longer. NV12, NV21, YUYV and UYVY are converted once into an I420
///   buffer allocated at open, and the driver buffer is queued again at once.
/// - Plain kernel calls (ioctl, mmap, munmap, close), no libv4l2: only the driver's own
///   formats are listed and used, and frames are never converted or processed by libv4lconvert
///   (that would break the zero-copy path). (rtcam used to call libv4l2's entry points on an fd
///   never registered with it, which passes them straight to the kernel: the same calls. A
///   registered fd would also make libv4l2 dlopen() its plugins, mapping a second, shared
///   glibc into this static binary. Not linking libv4l2 saves 316 KB; see docs/building.md, Footprint.)
/// - MJPEG (and "JPEG") frames are decoded by `JpegDecoder` (libjpeg-turbo) into I420 planes the
///   source owns; the driver buffer is queued again at once. A damaged frame (truncated, corrupt)
///   is skipped and counted (`stats.damaged`); `mjpegGiveUp` undecodable frames in a row, or one
///   of a kind rtcam cannot use (RGB, 4:1:1), end the stream with FORMAT_UNSUPPORTED.
/// - Capture times come from the driver's buffer timestamps when they are CLOCK_MONOTONIC (the
///   `rtc_monotonic_ns` clock), else from reading that clock at dequeue time. Dropped frames are
///   counted from gaps in the buffers' sequence numbers; `stats` also has the measured rate.
/// - `nextFrame` blocks in poll(2) until a frame is ready. No frame within
///   `frameTimeoutMs` (`firstFrameTimeoutMs` for the first): CAMERA_LOST if the device is gone,
///   else CAMERA_TIMEOUT. POLLERR, ENODEV or EIO: CAMERA_LOST. After an error the source is
///   done: drop it and open a new one (the server retries every 2 s).
public struct V4L2Source: FrameSource {
  /// The device path ("/dev/video0").
  public let path: String
  /// What the driver says about the device.
  public let capabilities: V4L2Capabilities
  /// The pixel format being captured.
  public let fourcc: FourCC
  /// Picture size delivered (the driver's size, rounded down to even numbers).
  public let width: Int
  public let height: Int
  /// The driver's time per frame after S_PARM (or the requested one if it has no say).
  public let interval: V4L2FrameInterval
  /// Bytes between luma rows in the driver's buffers.
  public let bytesPerLine: Int
  /// Number of driver buffers mapped.
  public let bufferCount: Int
  public let layout: V4L2PixelLayout
  /// Rows in the driver's buffer (`height` before rounding down to even).
  let bufferHeight: Int
  let options: V4L2Options
  let stream: V4L2Stream
  var sequence: UInt64 = 0
  var tracker = V4L2SequenceTracker()
  var meter = FpsMeter()
  var badBuffers: UInt64 = 0
  /// Time the last `nextFrame` spent in `makeView` (conversion or MJPEG decoding).
  public private(set) var lastConvertNs: UInt64 = 0

  /// Opens and starts the camera. Errors: CAMERA_NOT_FOUND (no such device, or not a V4L2
  /// video capture node), CAMERA_BUSY, FORMAT_UNSUPPORTED (naming the formats offered),
  /// CAMERA_ERROR (anything else, with the failing call and errno).
  public init(device path: String, options: V4L2Options = V4L2Options()) throws(CaptureError) {
    let node = try V4L2Node(path: path)
    let caps = try node.capabilities()
    if let why = caps.unusableReason(path: path) { throw .notACamera(why) }
    let f = try node.setFormat(path: path, options: options)
    let interval = node.setFrameInterval(f, fps: options.fps)
    let stream = V4L2Stream(node: node)
    try stream.mapBuffers(path: path, count: options.bufferCount, format: f)
    try stream.start(path: path, format: f)

    self.path = path
    self.capabilities = caps
    self.fourcc = f.fourcc
    self.layout = f.layout
    self.width = f.width
    self.height = f.height
    self.bufferHeight = f.fullHeight
    self.interval = interval
    self.bytesPerLine = f.bytesPerLine
    self.bufferCount = stream.buffers.count
    self.options = options
    self.stream = stream
  }

  /// Nominal frame rate (the driver's interval), rounded.
  public var fps: Int { interval.roundedFps }

  /// "v4l2:/dev/video0 (vivid) YUYV 640x480@25".
  public var description: String {
    "v4l2:" + path + " (" + capabilities.driver + ") " + fourcc.text + " " + String(width) + "x" + String(height) + "@"
      + interval.fpsText
  }

  /// Frames delivered, dropped, and the measured rate.
  public var stats: V4L2Stats {
    var s = V4L2Stats()
    s.frames = sequence
    s.dropped = tracker.dropped + badBuffers + stream.damaged
    s.damaged = stream.damaged
    s.decodeMicros = stream.decoder?.meanDecodeMicros
    s.milliFps = meter.milliFps
    return s
  }

  /// Waits for the next frame (see the type's notes on blocking, timeouts and errors). The view
  /// is valid until the next call.
  public mutating func nextFrame() throws(CaptureError) -> FrameView {
    if let held = stream.held {
      stream.held = nil
      let e = stream.queue(held)
      if e != 0 { throw CaptureError.cameraCallFailure(path: path, what: "VIDIOC_QBUF", errno: e) }
    }
    lastConvertNs = 0
    let timeoutMs = sequence == 0 ? options.firstFrameTimeoutMs : options.frameTimeoutMs
    let deadline = rtc_monotonic_ns() &+ UInt64(max(timeoutMs, 1)) * 1_000_000
    while true {
      let now = rtc_monotonic_ns()
      guard now < deadline else { throw timeoutError(ms: timeoutMs) }
      var p = pollfd(fd: stream.node.fd, events: Int16(POLLIN), revents: 0)
      let r = poll(&p, 1, Int32(min((deadline - now + 999_999) / 1_000_000, 60_000)))
      if r < 0 {
        let e = rtc_errno()
        if e == EINTR { continue }
        throw CaptureError.cameraCallFailure(path: path, what: "poll", errno: e)
      }
      if r == 0 { continue }
      if p.revents & Int16(POLLIN) == 0 {
        if p.revents & Int16(POLLERR | POLLHUP | POLLNVAL) != 0 {
          throw .cameraLost(path + " reported an error while streaming (POLLERR); unplugged? rtcam reopens it when it is back")
        }
        continue
      }
      var b = v4l2_buffer()
      b.type = V4L2Const.bufTypeVideoCapture
      b.memory = V4L2Const.memoryMmap
      let e = stream.node.ioctl(rtc_VIDIOC_DQBUF(), &b)
      if e == EAGAIN { continue }
      if e != 0 { throw CaptureError.cameraCallFailure(path: path, what: "VIDIOC_DQBUF", errno: e) }
      guard Int(clamping: b.index) < stream.buffers.count else {
        throw .camera("VIDIOC_DQBUF on " + path + " returned buffer " + String(Int(clamping: b.index)) + " of " + String(stream.buffers.count), EINVAL)
      }
      tracker.observe(b.sequence)
      if b.flags & V4L2Const.bufFlagError != 0 {
        // the driver says the picture is damaged: skip it
        badBuffers += 1
        let qe = stream.queue(b.index)
        if qe != 0 { throw CaptureError.cameraCallFailure(path: path, what: "VIDIOC_QBUF", errno: qe) }
        continue
      }
      let dequeued = rtc_monotonic_ns()
      let t = captureTime(b, now: dequeued)
      let made = try makeView(index: b.index, bytesUsed: Int(clamping: b.bytesused), captureTimeNs: t)
      lastConvertNs &+= rtc_monotonic_ns() &- dequeued
      guard let view = made else { continue }
      meter.record(t)
      sequence += 1
      return view
    }
  }
}

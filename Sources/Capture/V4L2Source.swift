// V4L2 capture, streaming part: V4L2Source, a FrameSource over a camera's mmap'd buffers.
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

/// The open stream: device, mapped buffers, conversion buffer. Torn down with the object
/// (STREAMOFF, munmap, close), also when the camera has vanished.
final class V4L2Stream {
  let node: V4L2Node
  var buffers: [(base: UnsafeMutableRawPointer, length: Int)] = []
  var streaming = false
  /// The buffer the last zero-copy view points into; queued again on the next `nextFrame`.
  var held: UInt32? = nil
  /// The I420 frame converted buffers are written to (nil for zero-copy layouts and MJPEG).
  var slot: PlaneStorage? = nil
  /// MJPEG only: the decoder and its planes.
  var decoder: JpegDecoder? = nil
  /// MJPEG frames skipped as damaged, and how many of those came in a row.
  var damaged: UInt64 = 0
  var damagedInARow = 0

  init(node: V4L2Node) { self.node = node }

  deinit {
    if streaming {
      var type = Int32(V4L2Const.bufTypeVideoCapture)
      _ = node.ioctl(rtc_VIDIOC_STREAMOFF(), &type)
    }
    for b in buffers { _ = munmap(b.base, b.length) }
    if !buffers.isEmpty {
      var req = v4l2_requestbuffers()
      req.count = 0
      req.type = V4L2Const.bufTypeVideoCapture
      req.memory = V4L2Const.memoryMmap
      _ = node.ioctl(rtc_VIDIOC_REQBUFS(), &req)
    }
  }

  func queue(_ index: UInt32) -> Int32 {
    var b = v4l2_buffer()
    b.index = index
    b.type = V4L2Const.bufTypeVideoCapture
    b.memory = V4L2Const.memoryMmap
    return node.ioctl(rtc_VIDIOC_QBUF(), &b)
  }
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
///   glibc into this static binary. Not linking libv4l2 saves 316 KB; see README, Footprint.)
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

    // ---- choose and set the format ----
    let offered = node.formats()
    let choice = try V4L2FormatChooser.choose(
      offered, width: options.width, height: options.height, fps: options.fps, only: options.format,
      maxMacroblocks: options.maxMacroblocks)
    var f = v4l2_format()
    f.type = V4L2Const.bufTypeVideoCapture
    f.fmt.pix.width = UInt32(choice.width)
    f.fmt.pix.height = UInt32(choice.height)
    f.fmt.pix.pixelformat = choice.fourcc.rawValue
    f.fmt.pix.field = V4L2Const.fieldNone
    var e = node.ioctl(rtc_VIDIOC_S_FMT(), &f)
    if e == EINVAL {
      // some drivers refuse FIELD_NONE; let them pick
      f.fmt.pix.field = V4L2Const.fieldAny
      e = node.ioctl(rtc_VIDIOC_S_FMT(), &f)
    }
    if e != 0 {
      if e == EINVAL {
        throw .badFormat(
          path + " refused " + choice.fourcc.text + " " + String(choice.width) + "x" + String(choice.height)
            + " (VIDIOC_S_FMT); it offers " + V4L2FormatChooser.describe(offered))
      }
      throw CaptureError.cameraCallFailure(path: path, what: "VIDIOC_S_FMT", errno: e)
    }
    let got = FourCC(rawValue: f.fmt.pix.pixelformat)
    guard let layout = V4L2PixelLayout(got) else {
      throw .badFormat(
        path + " switched to pixel format " + got.text + " when asked for " + choice.fourcc.text
          + ", which rtcam cannot capture; it offers " + V4L2FormatChooser.describe(offered))
    }
    // fields delivered separately (top/bottom/alternate/sequential) are half pictures
    let field = f.fmt.pix.field
    guard field == 0 || field == 1 || field == 4 || field == 8 || field == 9 else {
      throw .badFormat(path + " delivers separate video fields (field order " + String(Int(field)) + "); rtcam needs whole frames")
    }
    let fullW = Int(clamping: f.fmt.pix.width)
    let fullH = Int(clamping: f.fmt.pix.height)
    let w = fullW & ~1
    let h = fullH & ~1
    guard w >= 16, h >= 16, w <= 8192, h <= 8192 else {
      throw .badFormat(path + " gave a frame size of " + String(fullW) + "x" + String(fullH) + ", which rtcam cannot use")
    }
    var bpl = Int(clamping: f.fmt.pix.bytesperline)
    if bpl == 0 { bpl = layout.minBytesPerLine(width: fullW) }
    guard bpl >= layout.minBytesPerLine(width: fullW), bpl <= 4 * 8192 else {
      throw .badFormat(path + " reports " + String(bpl) + " bytes per line for " + String(fullW) + " pixels of " + got.text)
    }
    let needed = layout.frameBytes(bytesPerLine: bpl, height: fullH)

    // ---- frame rate ----
    var wanted = V4L2FormatChooser.chooseInterval(choice.intervals, fps: options.fps)
    if choice.intervals == .unknown {
      wanted = V4L2FormatChooser.chooseInterval(node.intervals(got, width: fullW, height: fullH), fps: options.fps)
    }
    var interval = wanted
    var parm = v4l2_streamparm()
    parm.type = V4L2Const.bufTypeVideoCapture
    if node.ioctl(rtc_VIDIOC_G_PARM(), &parm) == 0 {
      let current = parm.parm.capture.timeperframe
      if current.numerator > 0 && current.denominator > 0 {
        interval = V4L2FrameInterval(numerator: Int(clamping: current.numerator), denominator: Int(clamping: current.denominator))
      }
      if parm.parm.capture.capability & V4L2Const.capTimePerFrame != 0 {
        parm.parm.capture.timeperframe.numerator = UInt32(wanted.numerator)
        parm.parm.capture.timeperframe.denominator = UInt32(wanted.denominator)
        if node.ioctl(rtc_VIDIOC_S_PARM(), &parm) == 0 {
          let set = parm.parm.capture.timeperframe
          if set.numerator > 0 && set.denominator > 0 {
            interval = V4L2FrameInterval(numerator: Int(clamping: set.numerator), denominator: Int(clamping: set.denominator))
          }
        }
      }
    }

    // ---- buffers ----
    let stream = V4L2Stream(node: node)
    var req = v4l2_requestbuffers()
    req.count = UInt32(min(max(options.bufferCount, 2), 32))
    req.type = V4L2Const.bufTypeVideoCapture
    req.memory = V4L2Const.memoryMmap
    e = node.ioctl(rtc_VIDIOC_REQBUFS(), &req)
    if e == EINVAL { throw .notACamera(path + " does not support mmap streaming buffers (VIDIOC_REQBUFS)") }
    if e != 0 { throw CaptureError.cameraCallFailure(path: path, what: "VIDIOC_REQBUFS", errno: e) }
    guard req.count >= 2 else {
      throw .camera("VIDIOC_REQBUFS on " + path + " granted " + String(Int(clamping: req.count)) + " buffer(s), need 2 or more", ENOMEM)
    }
    let count = min(Int(clamping: req.count), 32)
    for i in 0..<count {
      var b = v4l2_buffer()
      b.index = UInt32(i)
      b.type = V4L2Const.bufTypeVideoCapture
      b.memory = V4L2Const.memoryMmap
      e = node.ioctl(rtc_VIDIOC_QUERYBUF(), &b)
      if e != 0 { throw CaptureError.cameraCallFailure(path: path, what: "VIDIOC_QUERYBUF", errno: e) }
      let length = Int(clamping: b.length)
      guard length >= needed else {
        throw .camera(
          "buffer " + String(i) + " of " + path + " holds " + String(length) + " bytes, a " + got.text + " frame needs "
            + String(needed), EINVAL)
      }
      let p = rtc_mmap(nil, length, PROT_READ | PROT_WRITE, MAP_SHARED, node.fd, Int64(b.m.offset))
      guard let base = p, base != UnsafeMutableRawPointer(bitPattern: -1) else {
        throw CaptureError.cameraCallFailure(path: path, what: "mmap", errno: rtc_errno())
      }
      stream.buffers.append((base: base, length: length))
    }
    for i in 0..<count {
      e = stream.queue(UInt32(i))
      if e != 0 { throw CaptureError.cameraCallFailure(path: path, what: "VIDIOC_QBUF", errno: e) }
    }
    if layout == .mjpeg {
      do { stream.decoder = try JpegDecoder() } catch { throw .camera("cannot set up the JPEG decoder for " + path, ENOMEM) }
    } else if !layout.isZeroCopy {
      stream.slot = PlaneStorage(count: w * h + 2 * (w / 2) * (h / 2))
    }
    var type = Int32(V4L2Const.bufTypeVideoCapture)
    e = node.ioctl(rtc_VIDIOC_STREAMON(), &type)
    if e != 0 { throw CaptureError.cameraCallFailure(path: path, what: "VIDIOC_STREAMON", errno: e) }
    stream.streaming = true

    self.path = path
    self.capabilities = caps
    self.fourcc = got
    self.layout = layout
    self.width = w
    self.height = h
    self.bufferHeight = fullH
    self.interval = interval
    self.bytesPerLine = bpl
    self.bufferCount = count
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

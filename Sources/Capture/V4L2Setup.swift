// V4L2 capture, opening part: the steps that make a V4L2Source ready to stream: set the format
// closest to the request (S_FMT), the frame interval (S_PARM), map the driver's buffers
// (REQBUFS, QUERYBUF, mmap, QBUF) and start (STREAMON). The stream object tears all of it down.
import CRTCam
import Wire

/// What the driver agreed to after S_FMT.
struct V4L2NegotiatedFormat {
  /// What the chooser picked from the offers (with its frame intervals).
  var choice: V4L2FormatChoice
  /// The pixel format the driver set (it may differ from the choice).
  var fourcc: FourCC
  var layout: V4L2PixelLayout
  /// The driver's size, and the size delivered (rounded down to even).
  var fullWidth: Int, fullHeight: Int
  var width: Int, height: Int
  var bytesPerLine: Int
  /// Bytes of one frame in a driver buffer.
  var frameBytes: Int
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

extension V4L2Node {
  /// Sets the format closest to `options` (S_FMT), checking what the driver made of it: a pixel
  /// format rtcam captures, whole frames, a usable size and row length.
  func setFormat(path: String, options: V4L2Options) throws(CaptureError) -> V4L2NegotiatedFormat {
    let offered = formats()
    let choice = try V4L2FormatChooser.choose(
      offered, width: options.width, height: options.height, fps: options.fps, only: options.format,
      maxMacroblocks: options.maxMacroblocks)
    var f = v4l2_format()
    f.type = V4L2Const.bufTypeVideoCapture
    f.fmt.pix.width = UInt32(choice.width)
    f.fmt.pix.height = UInt32(choice.height)
    f.fmt.pix.pixelformat = choice.fourcc.rawValue
    f.fmt.pix.field = V4L2Const.fieldNone
    var e = ioctl(rtc_VIDIOC_S_FMT(), &f)
    if e == EINVAL {
      // some drivers refuse FIELD_NONE; let them pick
      f.fmt.pix.field = V4L2Const.fieldAny
      e = ioctl(rtc_VIDIOC_S_FMT(), &f)
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
    guard fullW & ~1 >= 16, fullH & ~1 >= 16, fullW & ~1 <= 8192, fullH & ~1 <= 8192 else {
      throw .badFormat(path + " gave a frame size of " + String(fullW) + "x" + String(fullH) + ", which rtcam cannot use")
    }
    var bpl = Int(clamping: f.fmt.pix.bytesperline)
    if bpl == 0 { bpl = layout.minBytesPerLine(width: fullW) }
    guard bpl >= layout.minBytesPerLine(width: fullW), bpl <= 4 * 8192 else {
      throw .badFormat(path + " reports " + String(bpl) + " bytes per line for " + String(fullW) + " pixels of " + got.text)
    }
    return V4L2NegotiatedFormat(choice: choice, fourcc: got, layout: layout, fullWidth: fullW, fullHeight: fullH,
      width: fullW & ~1, height: fullH & ~1, bytesPerLine: bpl, frameBytes: layout.frameBytes(bytesPerLine: bpl, height: fullH))
  }

  /// Asks for the interval closest to `fps` (S_PARM, when the driver lets us) and returns the one
  /// in effect (the driver's, else the one asked for).
  func setFrameInterval(_ f: V4L2NegotiatedFormat, fps: Int) -> V4L2FrameInterval {
    var wanted = V4L2FormatChooser.chooseInterval(f.choice.intervals, fps: fps)
    if f.choice.intervals == .unknown {
      wanted = V4L2FormatChooser.chooseInterval(intervals(f.fourcc, width: f.fullWidth, height: f.fullHeight), fps: fps)
    }
    var interval = wanted
    var parm = v4l2_streamparm()
    parm.type = V4L2Const.bufTypeVideoCapture
    guard ioctl(rtc_VIDIOC_G_PARM(), &parm) == 0 else { return interval }
    let current = parm.parm.capture.timeperframe
    if current.numerator > 0 && current.denominator > 0 {
      interval = V4L2FrameInterval(numerator: Int(clamping: current.numerator), denominator: Int(clamping: current.denominator))
    }
    guard parm.parm.capture.capability & V4L2Const.capTimePerFrame != 0 else { return interval }
    parm.parm.capture.timeperframe.numerator = UInt32(wanted.numerator)
    parm.parm.capture.timeperframe.denominator = UInt32(wanted.denominator)
    if ioctl(rtc_VIDIOC_S_PARM(), &parm) == 0 {
      let set = parm.parm.capture.timeperframe
      if set.numerator > 0 && set.denominator > 0 {
        interval = V4L2FrameInterval(numerator: Int(clamping: set.numerator), denominator: Int(clamping: set.denominator))
      }
    }
    return interval
  }
}

extension V4L2Stream {
  /// Requests `count` driver buffers (2...32; the driver may grant another number), maps each and
  /// queues them all.
  func mapBuffers(path: String, count wanted: Int, format f: V4L2NegotiatedFormat) throws(CaptureError) {
    var req = v4l2_requestbuffers()
    req.count = UInt32(min(max(wanted, 2), 32))
    req.type = V4L2Const.bufTypeVideoCapture
    req.memory = V4L2Const.memoryMmap
    var e = node.ioctl(rtc_VIDIOC_REQBUFS(), &req)
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
      guard length >= f.frameBytes else {
        throw .camera(
          "buffer " + String(i) + " of " + path + " holds " + String(length) + " bytes, a " + f.fourcc.text + " frame needs "
            + String(f.frameBytes), EINVAL)
      }
      let p = rtc_mmap(nil, length, PROT_READ | PROT_WRITE, MAP_SHARED, node.fd, Int64(b.m.offset))
      guard let base = p, base != UnsafeMutableRawPointer(bitPattern: -1) else {
        throw CaptureError.cameraCallFailure(path: path, what: "mmap", errno: rtc_errno())
      }
      buffers.append((base: base, length: length))
    }
    for i in 0..<count {
      e = queue(UInt32(i))
      if e != 0 { throw CaptureError.cameraCallFailure(path: path, what: "VIDIOC_QBUF", errno: e) }
    }
  }

  /// Sets up what the layout needs per frame (the MJPEG decoder, or the I420 buffer conversions
  /// write to) and starts streaming (STREAMON).
  func start(path: String, format f: V4L2NegotiatedFormat) throws(CaptureError) {
    if f.layout == .mjpeg {
      do { decoder = try JpegDecoder() } catch { throw .camera("cannot set up the JPEG decoder for " + path, ENOMEM) }
    } else if !f.layout.isZeroCopy {
      let w = f.width, h = f.height
      slot = PlaneStorage(count: w * h + 2 * (w / 2) * (h / 2))
    }
    var type = Int32(V4L2Const.bufTypeVideoCapture)
    let e = node.ioctl(rtc_VIDIOC_STREAMON(), &type)
    if e != 0 { throw CaptureError.cameraCallFailure(path: path, what: "VIDIOC_STREAMON", errno: e) }
    streaming = true
  }
}

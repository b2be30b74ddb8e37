// V4L2 capture, device part: opening a video node, its capabilities, and enumerating formats,
// sizes and frame intervals. Plain kernel calls on the device fd (ioctl, mmap, munmap, close);
// libv4l2 is not used. See V4L2Source for why.
import CRTCam
import Wire

/// "No such device (errno 19)".
func errnoDescription(_ e: Int32) -> String {
  guard let p = strerror(e) else { return "errno " + String(Int(e)) }
  return String(cString: p) + " (errno " + String(Int(e)) + ")"
}

/// V4L2 ABI constants used here (linux/videodev2.h; fixed by the kernel ABI).
enum V4L2Const: Sendable {
  static let capVideoCapture: UInt32 = 0x0000_0001
  static let capVideoOutput: UInt32 = 0x0000_0002
  static let capVideoCaptureMplane: UInt32 = 0x0000_1000
  static let capVideoM2M: UInt32 = 0x0000_8000
  static let capVideoM2MMplane: UInt32 = 0x0000_4000
  static let capMetaCapture: UInt32 = 0x0080_0000
  static let capReadWrite: UInt32 = 0x0100_0000
  static let capStreaming: UInt32 = 0x0400_0000
  static let capDeviceCaps: UInt32 = 0x8000_0000
  /// v4l2_captureparm.capability: the driver honours timeperframe.
  static let capTimePerFrame: UInt32 = 0x1000
  static let fmtFlagCompressed: UInt32 = 0x0001
  static let fmtFlagEmulated: UInt32 = 0x0002
  static let bufFlagError: UInt32 = 0x0000_0040
  static let bufFlagTimestampMask: UInt32 = 0x0000_e000
  static let bufFlagTimestampMonotonic: UInt32 = 0x0000_2000
  static let bufTypeVideoCapture: UInt32 = 1
  static let memoryMmap: UInt32 = 1
  static let fieldAny: UInt32 = 0
  static let fieldNone: UInt32 = 1
  static let frmsizeDiscrete: UInt32 = 1
  static let frmsizeContinuous: UInt32 = 2
  static let frmsizeStepwise: UInt32 = 3
  static let frmivalDiscrete: UInt32 = 1
}

extension CaptureError {
  /// The error for a camera node that could not be opened (open(2) failed with `errno`).
  public static func cameraOpenFailure(path: String, errno e: Int32) -> CaptureError {
    switch e {
    case ENOENT, ENODEV, ENXIO, ENOTDIR:
      return .cameraNotFound(
        "no camera at " + path + " (" + errnoDescription(e) + "); is it plugged in? `rtcam devices` lists the cameras")
    case EBUSY:
      return .cameraBusy(path + " is busy: another program is using the camera; stop it and rtcam will retry")
    case EACCES, EPERM:
      return .camera("cannot open " + path + " (run as root or add the user to the 'video' group)", e)
    case EISDIR:
      return .notACamera(path + " is a directory, not a V4L2 camera device such as /dev/video0")
    default:
      return .camera("cannot open " + path, e)
    }
  }

  /// The error for a failed V4L2 call (`what`, e.g. "VIDIOC_DQBUF") on a camera that was open.
  /// ENODEV/ENXIO/EIO mean the camera went away (CAMERA_LOST), EBUSY that another program holds
  /// it (CAMERA_BUSY); anything else is CAMERA_ERROR.
  public static func cameraCallFailure(path: String, what: String, errno e: Int32) -> CaptureError {
    switch e {
    case ENODEV, ENXIO, EIO, ENOENT:
      return .cameraLost(
        path + " stopped working (" + what + ": " + errnoDescription(e) + "); unplugged? rtcam reopens it when it is back")
    case EBUSY:
      return .cameraBusy(
        path + " is busy (" + what + "): another program is capturing from it; stop it and rtcam will retry")
    default:
      return .camera(what + " on " + path, e)
    }
  }
}

/// What VIDIOC_QUERYCAP says about a video node.
public struct V4L2Capabilities: Equatable, Sendable {
  /// Driver name ("uvcvideo", "vivid").
  public var driver: String
  /// Device name ("HD Webcam C270").
  public var card: String
  /// Bus location ("usb-0000:00:14.0-1").
  public var bus: String
  /// Kernel version the driver reports, as "6.1.0".
  public var version: String
  /// The capabilities of this node (device_caps when the driver gives them, else capabilities).
  public var deviceCaps: UInt32

  public init(driver: String, card: String, bus: String, version: String, deviceCaps: UInt32) {
    self.driver = driver
    self.card = card
    self.bus = bus
    self.version = version
    self.deviceCaps = deviceCaps
  }

  /// Single-planar video capture.
  public var isVideoCapture: Bool { deviceCaps & V4L2Const.capVideoCapture != 0 }
  /// Streaming (mmap) I/O.
  public var hasStreaming: Bool { deviceCaps & V4L2Const.capStreaming != 0 }

  /// A usable camera node: single-planar capture with streaming I/O.
  public var isCamera: Bool { isVideoCapture && hasStreaming }

  /// What kind of node this is, for listings and errors ("video capture", "metadata capture").
  public var kind: String {
    let c = deviceCaps
    if c & V4L2Const.capVideoCapture != 0 { return "video capture" }
    if c & V4L2Const.capVideoCaptureMplane != 0 { return "multi-planar video capture (not supported)" }
    if c & (V4L2Const.capVideoM2M | V4L2Const.capVideoM2MMplane) != 0 { return "memory-to-memory codec" }
    if c & V4L2Const.capMetaCapture != 0 { return "metadata capture" }
    if c & V4L2Const.capVideoOutput != 0 { return "video output" }
    return "other (capabilities 0x" + Hex.encode(bigEndianBytes(c)) + ")"
  }

  /// Why this node cannot be used as a camera, or nil when it can.
  public func unusableReason(path: String) -> String? {
    if !isVideoCapture {
      return path + " is a V4L2 " + kind + " node, not a video capture node (card '" + card
        + "'); cameras often have several /dev/video* nodes: `rtcam devices` lists the usable ones"
    }
    if !hasStreaming {
      return path + " (" + card + ") does not support streaming I/O, which rtcam needs"
    }
    return nil
  }
}

func bigEndianBytes(_ v: UInt32) -> [UInt8] {
  [UInt8(truncatingIfNeeded: v >> 24), UInt8(truncatingIfNeeded: v >> 16), UInt8(truncatingIfNeeded: v >> 8),
   UInt8(truncatingIfNeeded: v)]
}

/// A NUL-terminated C string inside a fixed-size struct field (a tuple of bytes).
func fixedCString<T>(_ field: T) -> String {
  withUnsafeBytes(of: field) { raw in
    var bytes: [UInt8] = []
    for b in raw {
      if b == 0 { break }
      bytes.append(b)
    }
    return String(decoding: bytes, as: UTF8.self)
  }
}

/// An open V4L2 node; closed when the object goes away.
final class V4L2Node {
  let fd: Int32
  let path: String

  /// Opens `path` read-write and non-blocking. Errors: see `CaptureError.cameraOpenFailure`;
  /// something that is not a character device is `notACamera`.
  init(path: String) throws(CaptureError) {
    let fd = path.withCString { rtc_open($0, O_RDWR | O_NONBLOCK, 0) }
    if fd < 0 { throw CaptureError.cameraOpenFailure(path: path, errno: rtc_errno()) }
    var st = stat()
    if fstat(fd, &st) == 0 && (st.st_mode & UInt32(S_IFMT)) != UInt32(S_IFCHR) {
      close(fd)
      throw .notACamera(path + " is not a device node; give a V4L2 camera such as /dev/video0")
    }
    self.fd = fd
    self.path = path
  }

  deinit { _ = close(fd) }

  /// One ioctl on the device (retried on EINTR). Returns 0 or errno.
  func ioctl<T>(_ request: UInt, _ arg: inout T) -> Int32 {
    let r = withUnsafeMutablePointer(to: &arg) { rtc_ioctl_ptr(fd, request, UnsafeMutableRawPointer($0)) }
    return r < 0 ? rtc_errno() : 0
  }

  /// VIDIOC_QUERYCAP. A node that does not answer it is `notACamera`.
  func capabilities() throws(CaptureError) -> V4L2Capabilities {
    var cap = v4l2_capability()
    let e = ioctl(rtc_VIDIOC_QUERYCAP(), &cap)
    if e == ENOTTY || e == EINVAL {
      throw .notACamera(path + " is not a V4L2 device (it does not answer VIDIOC_QUERYCAP); give a camera such as /dev/video0")
    }
    if e != 0 { throw CaptureError.cameraCallFailure(path: path, what: "VIDIOC_QUERYCAP", errno: e) }
    let caps = cap.capabilities & V4L2Const.capDeviceCaps != 0 ? cap.device_caps : cap.capabilities
    let v = cap.version
    let version = String(Int(v >> 16)) + "." + String(Int((v >> 8) & 0xFF)) + "." + String(Int(v & 0xFF))
    return V4L2Capabilities(
      driver: fixedCString(cap.driver), card: fixedCString(cap.card), bus: fixedCString(cap.bus_info),
      version: version, deviceCaps: caps)
  }

  /// VIDIOC_ENUM_FMT for video capture, with sizes (and, for discrete sizes, intervals).
  func formats(withSizes: Bool = true) -> [V4L2FormatOption] {
    var out: [V4L2FormatOption] = []
    for i in 0..<64 {
      var d = v4l2_fmtdesc()
      d.index = UInt32(i)
      d.type = V4L2Const.bufTypeVideoCapture
      guard ioctl(rtc_VIDIOC_ENUM_FMT(), &d) == 0 else { break }
      let fourcc = FourCC(rawValue: d.pixelformat)
      out.append(V4L2FormatOption(
        fourcc: fourcc, description: fixedCString(d.description),
        compressed: d.flags & V4L2Const.fmtFlagCompressed != 0, emulated: d.flags & V4L2Const.fmtFlagEmulated != 0,
        sizes: withSizes ? sizes(fourcc) : .unknown))
    }
    return out
  }

  /// VIDIOC_ENUM_FRAMESIZES for one format.
  func sizes(_ fourcc: FourCC) -> V4L2Sizes {
    var list: [V4L2SizeOption] = []
    for i in 0..<64 {
      var s = v4l2_frmsizeenum()
      s.index = UInt32(i)
      s.pixel_format = fourcc.rawValue
      guard ioctl(rtc_VIDIOC_ENUM_FRAMESIZES(), &s) == 0 else { break }
      if s.type == V4L2Const.frmsizeDiscrete {
        let w = Int(clamping: s.discrete.width)
        let h = Int(clamping: s.discrete.height)
        list.append(V4L2SizeOption(width: w, height: h, intervals: intervals(fourcc, width: w, height: h)))
      } else {
        let sw = s.stepwise
        if i != 0 { break }
        let continuous = s.type == V4L2Const.frmsizeContinuous
        return .stepwise(V4L2SizeRange(
          minWidth: Int(clamping: sw.min_width), maxWidth: Int(clamping: sw.max_width), stepWidth: continuous ? 1 : max(Int(clamping: sw.step_width), 1),
          minHeight: Int(clamping: sw.min_height), maxHeight: Int(clamping: sw.max_height),
          stepHeight: continuous ? 1 : max(Int(clamping: sw.step_height), 1)))
      }
    }
    return list.isEmpty ? .unknown : .discrete(list)
  }

  /// VIDIOC_ENUM_FRAMEINTERVALS for one format and size.
  func intervals(_ fourcc: FourCC, width: Int, height: Int) -> V4L2Intervals {
    var list: [V4L2FrameInterval] = []
    for i in 0..<32 {
      var f = v4l2_frmivalenum()
      f.index = UInt32(i)
      f.pixel_format = fourcc.rawValue
      f.width = UInt32(truncatingIfNeeded: width)
      f.height = UInt32(truncatingIfNeeded: height)
      guard ioctl(rtc_VIDIOC_ENUM_FRAMEINTERVALS(), &f) == 0 else { break }
      if f.type == V4L2Const.frmivalDiscrete {
        list.append(V4L2FrameInterval(numerator: Int(clamping: f.discrete.numerator), denominator: Int(clamping: f.discrete.denominator)))
      } else {
        if i != 0 { break }
        let s = f.stepwise
        return .stepwise(
          min: V4L2FrameInterval(numerator: Int(clamping: s.min.numerator), denominator: Int(clamping: s.min.denominator)),
          max: V4L2FrameInterval(numerator: Int(clamping: s.max.numerator), denominator: Int(clamping: s.max.denominator)),
          step: V4L2FrameInterval(numerator: Int(clamping: s.step.numerator), denominator: Int(clamping: s.step.denominator)))
      }
    }
    return list.isEmpty ? .unknown : .discrete(list)
  }
}

/// A video node as `rtcam devices` shows it.
public struct V4L2DeviceInfo: Equatable, Sendable {
  public var path: String
  public var capabilities: V4L2Capabilities
  /// The driver's own formats (no libv4l2 emulation: rtcam calls the kernel directly), with sizes and intervals.
  public var formats: [V4L2FormatOption]

  public init(path: String, capabilities: V4L2Capabilities, formats: [V4L2FormatOption]) {
    self.path = path
    self.capabilities = capabilities
    self.formats = formats
  }

  /// A camera rtcam can stream from: a capture node with streaming I/O and a format rtcam decodes.
  public var isUsable: Bool { capabilities.isCamera && formats.contains { $0.isSupported } }

  /// Which camera to use when no --source is given, from what the nodes answered (in numeric
  /// order): the first usable one; else the first that is busy (it is retried until it is free);
  /// else none. `note` says why, for the log.
  public static func defaultCamera(_ nodes: [(path: String, result: Result<V4L2DeviceInfo, CaptureError>)])
    -> (path: String?, note: String)
  {
    for n in nodes {
      if case .success(let info) = n.result, info.isUsable {
        return (n.path, "camera found at " + n.path + " (" + info.capabilities.card + "): using it (--source testsrc for the test pattern)")
      }
    }
    for n in nodes {
      if case .failure(.cameraBusy) = n.result {
        return (n.path, n.path + " is busy (another program uses it): using it, retried until it is free")
      }
    }
    if nodes.isEmpty { return (nil, "no camera (/dev/video*): using the test pattern") }
    return (nil, "no usable camera among " + nodes.map { $0.path }.joined(separator: ", ")
      + " (`rtcam devices` says why): using the test pattern")
  }

  /// Opens `path`, asks for its capabilities and, for capture nodes, its formats, sizes and
  /// intervals; closes it again. Does not change the device's settings or stream.
  public static func query(_ path: String) throws(CaptureError) -> V4L2DeviceInfo {
    let node = try V4L2Node(path: path)
    let caps = try node.capabilities()
    return V4L2DeviceInfo(path: path, capabilities: caps, formats: caps.isVideoCapture ? node.formats() : [])
  }

  /// The /dev/videoN paths that exist, in numeric order.
  public static func videoNodePaths(limit: Int = 64) -> [String] {
    var out: [String] = []
    for i in 0..<limit {
      let p = "/dev/video" + String(i)
      if access(p, F_OK) == 0 { out.append(p) }
    }
    return out
  }
}

// V4L2 capture: an open video node and the queries made on it (capabilities, formats, sizes,
// frame intervals). Plain kernel calls on the device fd (ioctl, mmap, munmap, close); libv4l2 is
// not used. See V4L2Source for why.
import CRTCam
import Wire

/// An open V4L2 node; closed when the object goes away.
public final class V4L2Node {
  public let fd: Int32
  public let path: String

  /// Opens `path` read-write and non-blocking. Errors: see `CaptureError.cameraOpenFailure`;
  /// something that is not a character device is `notACamera`.
  public init(path: String) throws(CaptureError) {
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
  public func ioctl<T>(_ request: UInt, _ arg: inout T) -> Int32 {
    let r = withUnsafeMutablePointer(to: &arg) { rtc_ioctl_ptr(fd, request, UnsafeMutableRawPointer($0)) }
    return r < 0 ? rtc_errno() : 0
  }

  /// VIDIOC_QUERYCAP. A node that does not answer it is `notACamera`.
  public func capabilities() throws(CaptureError) -> V4L2Capabilities {
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

  /// VIDIOC_ENUM_FMT for video capture (or another single-planar buffer type: a memory-to-memory
  /// node's OUTPUT queue), with sizes (and, for discrete sizes, intervals).
  func formats(withSizes: Bool = true, type: UInt32 = V4L2Const.bufTypeVideoCapture) -> [V4L2FormatOption] {
    var out: [V4L2FormatOption] = []
    for i in 0..<64 {
      var d = v4l2_fmtdesc()
      d.index = UInt32(i)
      d.type = type
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

// V4L2 capture: the kernel ABI constants rtcam uses, how failing calls become CaptureErrors, and
// reading the fixed-size C fields of V4L2 structures.
import CRTCam
import Wire

/// "No such device (errno 19)".
func errnoDescription(_ e: Int32) -> String {
  guard let p = strerror(e) else { return "errno " + String(Int(e)) }
  return String(cString: p) + " (errno " + String(Int(e)) + ")"
}

/// V4L2 ABI constants used here (linux/videodev2.h; fixed by the kernel ABI).
public enum V4L2Const: Sendable {
  public static let capVideoCapture: UInt32 = 0x0000_0001
  public static let capVideoOutput: UInt32 = 0x0000_0002
  public static let capVideoCaptureMplane: UInt32 = 0x0000_1000
  public static let capVideoM2M: UInt32 = 0x0000_8000
  public static let capVideoM2MMplane: UInt32 = 0x0000_4000
  public static let capMetaCapture: UInt32 = 0x0080_0000
  public static let capReadWrite: UInt32 = 0x0100_0000
  public static let capStreaming: UInt32 = 0x0400_0000
  public static let capDeviceCaps: UInt32 = 0x8000_0000
  /// v4l2_captureparm.capability: the driver honours timeperframe.
  public static let capTimePerFrame: UInt32 = 0x1000
  public static let fmtFlagCompressed: UInt32 = 0x0001
  public static let fmtFlagEmulated: UInt32 = 0x0002
  public static let bufFlagError: UInt32 = 0x0000_0040
  public static let bufFlagTimestampMask: UInt32 = 0x0000_e000
  public static let bufFlagTimestampMonotonic: UInt32 = 0x0000_2000
  public static let bufTypeVideoCapture: UInt32 = 1
  public static let bufTypeVideoOutput: UInt32 = 2
  public static let bufTypeVideoCaptureMplane: UInt32 = 9
  public static let bufTypeVideoOutputMplane: UInt32 = 10
  public static let memoryMmap: UInt32 = 1
  public static let fieldAny: UInt32 = 0
  public static let fieldNone: UInt32 = 1
  public static let frmsizeDiscrete: UInt32 = 1
  public static let frmsizeContinuous: UInt32 = 2
  public static let frmsizeStepwise: UInt32 = 3
  public static let frmivalDiscrete: UInt32 = 1
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

func bigEndianBytes(_ v: UInt32) -> [UInt8] {
  [UInt8(truncatingIfNeeded: v >> 24), UInt8(truncatingIfNeeded: v >> 16), UInt8(truncatingIfNeeded: v >> 8),
   UInt8(truncatingIfNeeded: v)]
}

/// A NUL-terminated C string inside a fixed-size struct field (a tuple of bytes).
public func fixedCString<T>(_ field: T) -> String {
  withUnsafeBytes(of: field) { raw in
    var bytes: [UInt8] = []
    for b in raw {
      if b == 0 { break }
      bytes.append(b)
    }
    return String(decoding: bytes, as: UTF8.self)
  }
}

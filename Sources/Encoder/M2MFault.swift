// Encoder: why a memory-to-memory encoder could not start or stopped, each with a code for
// /status and the log. Every one of them sends the server back to OpenH264 (EncoderChoice).
import CRTCam
import Capture

public enum M2MFault: Error, Equatable, Sendable {
  /// No node there, or the node is no memory-to-memory encoder of the coded format.
  case notFound(String)
  /// Another process holds the encoder (EBUSY at open, REQBUFS or STREAMON).
  case busy
  /// A format, control or buffer request was refused during setup.
  case setup(M2MSetupError)
  /// A frame went in and no coded frame came out within this many milliseconds (bcm2835-codec
  /// has been seen to stop answering: camera-streamer's users report timeouts).
  case timeout(ms: Int)
  /// The node went away (ENODEV, ENXIO: the driver was unbound or the device removed).
  case lost(Int32)
  /// Any other call failed: which, and its errno.
  case failed(String, Int32)

  public var code: String {
    switch self {
    case .notFound: return "ENCODER_NOT_FOUND"
    case .busy: return "ENCODER_BUSY"
    case .setup(let e): return e.code
    case .timeout: return "ENCODER_TIMEOUT"
    case .lost: return "ENCODER_LOST"
    case .failed: return "ENCODER_ERROR"
    }
  }

  public var message: String {
    switch self {
    case .notFound(let why): return why
    case .busy: return "busy: another program uses the encoder"
    case .setup(let e): return e.message
    case .timeout(let ms): return "no coded frame within " + String(ms) + " ms of the raw one"
    case .lost(let e): return "the device went away (errno " + String(Int(e)) + ")"
    case .failed(let what, let e): return what + " failed (errno " + String(Int(e)) + ")"
    }
  }

  /// The fault a failed call with `errno` means: the node gone, busy, or anything else.
  static func call(_ what: String, errno e: Int32) -> M2MFault {
    switch e {
    case ENODEV, ENXIO, ENOENT: return .lost(e)
    case EBUSY: return .busy
    default: return .failed(what, e)
    }
  }
}

extension M2MSetupError {
  public var message: String {
    switch self {
    case .codedFormatRefused(let c, let got):
      return "the driver does not encode to " + c.fourcc.text + " (it answered "
        + (got.rawValue == 0 ? "with an error" : got.text) + ")"
    case .rawFormatRefused(let f, let w, let h):
      return "the driver does not take " + f.text + " frames at " + String(w) + "x" + String(h)
    case .controlRefused(let c, let e): return "the driver refused the " + c.name + " control (errno " + String(Int(e)) + ")"
    case .stepFailed(let step, let e): return step.call + " failed (errno " + String(Int(e)) + ")"
    case .noBuffers(let q): return "the driver made no " + (q == .output ? "raw-frame" : "bitstream") + " buffers"
    }
  }
}

extension M2MStep {
  /// The ioctl of the step, for messages.
  public var call: String {
    switch self {
    case .setCodedFormat: return "VIDIOC_S_FMT (coded format)"
    case .setRawFormat: return "VIDIOC_S_FMT (raw format)"
    case .setFrameRate: return "VIDIOC_S_PARM"
    case .setControl(let c): return "VIDIOC_S_CTRL (" + c.name + ")"
    case .requestBuffers(let q, _): return "VIDIOC_REQBUFS (" + (q == .output ? "raw frames" : "bitstream") + ")"
    case .streamOn(let q): return "VIDIOC_STREAMON (" + (q == .output ? "raw frames" : "bitstream") + ")"
    }
  }
}

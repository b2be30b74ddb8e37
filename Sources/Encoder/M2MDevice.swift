// Encoder: what the M2M encoder needs of a memory-to-memory device, as a protocol so that the
// encoder runs unchanged on the kernel's node (V4L2M2MDevice: the ioctls) and on a scripted
// device in tests (a mid-stream failure, a timeout, a vanished node, the control sequence).
import Capture

/// A buffer taken back from a queue (VIDIOC_DQBUF).
public struct M2MDequeued: Equatable, Sendable {
  public var index: Int
  /// Bytes the driver wrote (CAPTURE) or 0 (OUTPUT).
  public var bytesUsed: Int
  /// v4l2_buffer.flags (`M2MBufferFlags`).
  public var flags: UInt32

  public init(index: Int, bytesUsed: Int, flags: UInt32) {
    self.index = index
    self.bytesUsed = bytesUsed
    self.flags = flags
  }
}

/// v4l2_buffer flags the encoder reads (linux/videodev2.h; fixed by the kernel ABI).
public enum M2MBufferFlags {
  /// V4L2_BUF_FLAG_KEYFRAME: the buffer holds a keyframe (an IDR for H.264).
  public static let keyframe: UInt32 = 0x0000_0008
  /// V4L2_BUF_FLAG_ERROR: the driver failed to fill it.
  public static let error: UInt32 = 0x0000_0040
  /// V4L2_BUF_FLAG_LAST: the last buffer of a drain.
  public static let last: UInt32 = 0x0010_0000
}

/// What waiting on the device gave.
public enum M2MWait: Equatable, Sendable {
  /// A buffer can be dequeued.
  case ready
  /// Nothing within the time.
  case timedOut
  /// The device reported an error (poll's POLLERR, or the call failed with this errno): it is
  /// gone or broken.
  case failed(Int32)
}

/// V4L2_ENC_CMD_START / _STOP (VIDIOC_ENCODER_CMD).
public enum M2MCommand: Equatable, Sendable {
  case start, stop
}

/// A memory-to-memory encoder device. One thread uses it (the capture thread, or a probe).
/// Every call returns the errno of what failed (0: done), never throws: what a failure means is
/// the encoder's business.
public protocol M2MDevice: AnyObject {
  /// The node, for messages ("/dev/video11").
  var path: String { get }
  /// Carries out one setup step (S_FMT, S_PARM, S_CTRL, REQBUFS with the buffers mapped,
  /// STREAMON) and says what the driver answered.
  func perform(_ step: M2MStep) -> M2MAnswer
  /// A mapped buffer of a queue (after its `.requestBuffers` step), its whole length.
  func buffer(_ queue: M2MQueue, _ index: Int) -> UnsafeMutableRawBufferPointer
  /// VIDIOC_QBUF: buffer `index` to the driver, `bytesUsed` of it filled (OUTPUT) or 0 (CAPTURE).
  func enqueue(_ queue: M2MQueue, index: Int, bytesUsed: Int) -> Int32
  /// VIDIOC_DQBUF without blocking: a buffer, or nil with errno EAGAIN when none is done.
  func dequeue(_ queue: M2MQueue) -> (M2MDequeued?, Int32)
  /// Waits at most `timeoutMs` for a buffer to dequeue on `queue` (a coded frame on CAPTURE, a
  /// raw buffer the driver is done with on OUTPUT).
  func wait(_ queue: M2MQueue, timeoutMs: Int) -> M2MWait
  /// VIDIOC_S_CTRL at run time (a new bitrate, a forced keyframe).
  func setControl(_ control: M2MControl) -> Int32
  /// VIDIOC_ENCODER_CMD.
  func command(_ command: M2MCommand) -> Int32
  /// VIDIOC_STREAMOFF (all buffers come back to the application).
  func streamOff(_ queue: M2MQueue) -> Int32
}

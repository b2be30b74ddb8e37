// Encoder: the encoder the capture thread holds: the hardware (memory-to-memory) one when the
// choice says so, OpenH264 otherwise, and OpenH264 at once when the hardware one fails: the
// same frame is encoded again by OpenH264 as a keyframe, so viewers never wait for the retry.
// Generic over the device: the runtime uses V4L2M2MDevice, tests a scripted one.
import Capture

public final class EncoderSwitch<D: M2MDevice> {
  public private(set) var choice: EncoderChoice
  /// Opens the memory-to-memory node at a path (V4L2M2MDevice.init in the runtime).
  let openDevice: (String) throws(EncoderError) -> D
  var software: H264Encoder? = nil
  var hardware: M2MEncoder<D>? = nil
  /// The settings of the running encoder (size, rate, bitrate, preset, layers).
  public private(set) var settings: EncoderSettings? = nil
  /// Moves when the running encoder or its fault changes, with `event` saying what happened.
  public private(set) var generation = 0
  public private(set) var event: (warning: Bool, message: String) = (false, "")
  /// Frames the hardware encoder coded since it started (after `settleFrames`, the backoff
  /// starts afresh).
  var hardwareFrames = 0
  static var settleFrames: Int { 300 }

  public init(choice: EncoderChoice, open: @escaping (String) throws(EncoderError) -> D) {
    self.choice = choice
    self.openDevice = open
  }

  /// The target the running encoder works to (0 before `prepare`).
  public var bitrate: Int { hardware?.bitrate ?? software?.bitrate ?? 0 }
  /// Whether the hardware encoder is the one running.
  public var isHardware: Bool { hardware != nil }

  /// Makes the encoder for `s` unless the running one already has its size and rate: the
  /// hardware one when the choice says so (OpenH264 if it cannot start), else OpenH264.
  /// Throws only when OpenH264 cannot start.
  public func prepare(_ s: EncoderSettings, now: UInt64) throws(EncoderError) {
    if let cur = settings, cur.width == s.width, cur.height == s.height, cur.fps == s.fps, hardware != nil || software != nil {
      return
    }
    hardware = nil
    software = nil
    settings = s
    if tryHardware(s, now: now) { return }
    software = try H264Encoder(s)
  }

  /// Opens and sets up the hardware encoder if the choice says so now. True when it runs.
  func tryHardware(_ s: EncoderSettings, now: UInt64) -> Bool {
    guard let path = choice.hardwarePath(now: now) else { return false }
    do throws(EncoderError) {
      let device = try openDevice(path)
      var hs = s
      hs.temporalLayers = 1  // no temporal layers in hardware: adaptation is by bitrate only
      hardware = try M2MEncoder(device: device, settings: hs, codec: .h264, rawFormat: .yu12)
    } catch {
      fail(path: path, error, now: now)
      return false
    }
    software = nil
    hardwareFrames = 0
    choice.started(path: path)
    note(false, "encoder: hardware H.264 " + path + " (" + choice.request.text + ")")
    return true
  }

  func fail(path: String, _ error: EncoderError, now: UInt64) {
    hardware = nil
    choice.failed(path: path, code: error.code, message: error.message, now: now)
    note(true, error.code + ": " + error.message + "; OpenH264 takes over")
  }

  func note(_ warning: Bool, _ message: String) {
    event = (warning, message)
    generation &+= 1
  }

  /// A new target for the running encoder; a hardware encoder that refuses it hands over to
  /// OpenH264 (at `now`, which the retry is timed from).
  public func setBitrate(_ bitsPerSecond: Int, now: UInt64) throws(EncoderError) {
    if let h = hardware {
      do { try h.setBitrate(bitsPerSecond) } catch {
        fail(path: h.device.path, error, now: now)
        try startSoftware()
        try software?.setBitrate(bitsPerSecond)
      }
      return
    }
    try software?.setBitrate(bitsPerSecond)
  }

  func startSoftware() throws(EncoderError) {
    guard software == nil, let s = settings else { return }
    software = try H264Encoder(s)
  }

  /// Encodes one frame with the running encoder into `out`. When the hardware encoder fails,
  /// OpenH264 starts and encodes the same frame as a keyframe (its first frame always is), so
  /// the stream goes on from this frame. While OpenH264 stands in, the hardware encoder is tried
  /// again when the choice's retry time has come.
  public func encode(_ frame: FrameView, forceKeyframe: Bool, into out: UnsafeMutableRawBufferPointer, now: UInt64)
    throws(EncoderError) -> EncodeOutcome
  {
    if hardware == nil, let s = settings, tryHardware(s, now: now) {
      return try encodeHardware(frame, forceKeyframe: true, into: out, now: now)
    }
    if hardware != nil { return try encodeHardware(frame, forceKeyframe: forceKeyframe, into: out, now: now) }
    return try encodeSoftware(frame, forceKeyframe: forceKeyframe, into: out)
  }

  /// OpenH264, started if it is not running.
  func encodeSoftware(_ frame: FrameView, forceKeyframe: Bool, into out: UnsafeMutableRawBufferPointer)
    throws(EncoderError) -> EncodeOutcome
  {
    try startSoftware()
    guard let sw = software else { throw .initFailed(-1) }
    return try sw.encode(frame, forceKeyframe: forceKeyframe, into: out)
  }

  func encodeHardware(_ frame: FrameView, forceKeyframe: Bool, into out: UnsafeMutableRawBufferPointer, now: UInt64)
    throws(EncoderError) -> EncodeOutcome
  {
    guard let h = hardware else { throw .initFailed(-1) }
    do {
      let outcome = try h.encode(frame, forceKeyframe: forceKeyframe, into: out)
      hardwareFrames += 1
      if hardwareFrames == EncoderSwitch.settleFrames { choice.settled() }
      return outcome
    } catch {
      fail(path: h.device.path, error, now: now)
    }
    return try encodeSoftware(frame, forceKeyframe: true, into: out)
  }
}

// Encoder: what one encode produces (an Annex-B access unit in the caller's memory) and the one
// rewrite applied to it on the way out (the SPS's profile and level bytes).
import Wire

/// One encoded access unit, written into the caller's memory by `H264Encoder.encode`.
public struct EncodedFrame: Equatable, Sendable {
  /// An IDR picture (preceded by SPS and PPS in the same access unit).
  public var isKeyframe: Bool
  /// Bytes written.
  public var length: Int
  /// The source frame's capture time (monotonic nanoseconds).
  public var captureTimeNs: UInt64
  /// The source frame's sequence number.
  public var sequence: UInt64
  /// The temporal layer of the picture (OpenH264's `uiTemporalId` of its coding layer): 0 for
  /// IDRs and the base layer, up to `EncoderSettings.temporalLayers - 1`. A receiver given only
  /// the frames of layers 0...n decodes them without the others (see `EncoderSettings`).
  public var temporalLayer: UInt8

  public init(isKeyframe: Bool, length: Int, captureTimeNs: UInt64, sequence: UInt64, temporalLayer: UInt8 = 0) {
    self.isKeyframe = isKeyframe
    self.length = length
    self.captureTimeNs = captureTimeNs
    self.sequence = sequence
    self.temporalLayer = temporalLayer
  }
}

/// What encoding one frame into a fixed buffer gave.
public enum EncodeOutcome: Equatable, Sendable {
  /// The access unit is in the buffer.
  case encoded(EncodedFrame)
  /// The rate control skipped the frame: nothing was written (a forced keyframe did not happen).
  case skipped
  /// The access unit needs this many bytes, more than the buffer holds: nothing usable was
  /// written (the frame is lost; what follows needs a keyframe).
  case tooLarge(Int)
}

/// The NAL unit type of a sequence parameter set.
let nalTypeSps: UInt8 = 7

/// If the Annex-B NAL unit in `nal` (start code included) is a sequence parameter set, writes
/// `H264ProfileLevel.sent` into its profile_idc, constraint flags and level_idc, so the stream says
/// what the SDP answer signals. OpenH264 2.3 writes 42c01f (constraint_set2 clear); the three bytes
/// are fixed-length fields right after the NAL header, so rewriting them changes no other bit, and
/// 0x42 0xE0 0x1F contain no emulation-prevention pattern. In place, no allocation; other NAL units
/// (and anything too short to be an SPS) are left alone.
public func conformSps(_ nal: UnsafeMutableRawBufferPointer) {
  let end = nal.count
  var header = 0
  // skip the start code: 00 00 01 or 00 00 00 01
  while header < end, nal[header] == 0 { header += 1 }
  guard header < end, nal[header] == 1, header >= 2 else { return }
  header += 1
  guard header + 3 < end, nal[header] & 0x1F == nalTypeSps else { return }
  let sent = H264ProfileLevel.sent
  nal[header + 1] = sent.profileIdc
  nal[header + 2] = sent.constraintFlags
  nal[header + 3] = sent.levelIdc
}

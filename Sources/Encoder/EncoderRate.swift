// Encoder: a new target bitrate for a running encoder, from the next frame on, without a keyframe
// and without a new encoder.
import CRTCam

extension H264Encoder {
  /// Makes `bitsPerSecond` (within `EncoderSettings.bitrateRange`) the rate control's target from
  /// the next frame on, and its ceiling `settings.maxBitrate(forTarget:)` (the settings' ratio of
  /// ceiling to target). No IDR follows from it, and nothing is allocated.
  ///
  /// What OpenH264 2.3.1 does with it (welsEncoderExt.cpp SetOption, ratectl.cpp): the target goes
  /// in with ENCODER_OPTION_BITRATE for SPATIAL_LAYER_ALL, which sets the overall and the one
  /// spatial layer's target; before the next frame the rate control sees the layer's target
  /// changed (RcJudgeBitrateFpsUpdate) and rescales its per-frame budget, buffer sizes and the
  /// bits left in its window (RcUpdateBitrateFps), no reset, no IDR. The ceiling the rate control
  /// reads is the layer's (iMaxSpatialBitrate): ENCODER_OPTION_MAX_BITRATE for SPATIAL_LAYER_ALL
  /// only records an overall value nothing reads, so the ceiling goes to SPATIAL_LAYER_0. Either
  /// call fails when the layer's target would exceed its ceiling (WelsBitRateVerification), so a
  /// raise sets the ceiling first and a cut the target first.
  public func setBitrate(_ bitsPerSecond: Int) throws(EncoderError) {
    guard EncoderSettings.bitrateRange.contains(bitsPerSecond) else {
      throw .badSettings("bitrate " + String(bitsPerSecond) + " out of range (10000...14000000 bit/s)")
    }
    guard bitsPerSecond != bitrate else { return }
    guard let setOption = handle.pointee?.pointee.SetOption else { throw .rateChangeFailed(-1) }
    var target = SBitrateInfo(iLayer: SPATIAL_LAYER_ALL, iBitrate: Int32(bitsPerSecond))
    var ceiling = SBitrateInfo(iLayer: SPATIAL_LAYER_0, iBitrate: Int32(settings.maxBitrate(forTarget: bitsPerSecond)))
    let raising = bitsPerSecond > bitrate
    let first = raising ? setOption(handle, ENCODER_OPTION_MAX_BITRATE, &ceiling) : setOption(handle, ENCODER_OPTION_BITRATE, &target)
    guard first == 0 else { throw .rateChangeFailed(first) }
    let second = raising ? setOption(handle, ENCODER_OPTION_BITRATE, &target) : setOption(handle, ENCODER_OPTION_MAX_BITRATE, &ceiling)
    guard second == 0 else { throw .rateChangeFailed(second) }
    bitrate = bitsPerSecond
  }
}

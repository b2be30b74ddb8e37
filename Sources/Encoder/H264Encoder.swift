// Encoder: the owner of one OpenH264 encoder (constrained baseline, Annex-B output).
import CRTCam
import Capture
import Wire

/// Owns one OpenH264 encoder. Used from one thread (the capture thread): not `Sendable`. It keeps
/// no keyframe request and no counters of its own: the caller says when a frame must be an IDR
/// (`forceKeyframe`) and counts what comes out.
public final class H264Encoder {
  public let settings: EncoderSettings
  /// The target the rate control works to now: `settings.bitrate` until `setBitrate` changes it.
  public internal(set) var bitrate: Int
  /// OpenH264's handle (`ISVCEncoder*`: a pointer to the vtable pointer).
  let handle: UnsafeMutablePointer<ISVCEncoder?>
  /// Reused for every frame (it is ~5 KB). After an encode it describes the access unit, which
  /// stays in OpenH264's buffers until the next encode.
  let info: UnsafeMutablePointer<SFrameBSInfo>
  /// Whether the first frame was encoded once to be thrown away. OpenH264 sizes an encoder's
  /// first IDR by a QP from a table of bits per pixel (ratectl.cpp RcCalculateIdrQp: 36 for
  /// 640x480 below 0.03 bit/pixel, 30 at 800 kbit/s), blind to the picture, and every later IDR
  /// by the last IDR's measured cost against `keyframeTargetPercent` of a frame's budget. So
  /// `run` codes the first frame twice, as IDRs: the first teaches the rate control the
  /// picture's cost, the second is the one that goes out (once per encoder: one extra encode
  /// when the first viewer arrives). Measured at 640x480 (first IDR without -> with it): the
  /// EncoderTests' fine texture 12.9 KB -> 2.8 KB at 200 kbit/s and 58 KB -> 13 KB at 800
  /// kbit/s, their noise 40 KB -> 4.4 KB at 800 kbit/s; a camera-like clip
  /// (tools/perf/benchtool.c gen camera) 4.1 -> 3.1 KB at 200 kbit/s, 7.0 -> 6.5 KB at 800.
  var primed = false

  /// Creates and initialises the encoder: GetDefaultParams, then `configure`. Every SPS it emits
  /// carries `H264ProfileLevel.sent` (42e01f, see `conformSps`), what the SDP answer signals.
  public init(_ settings: EncoderSettings) throws(EncoderError) {
    try settings.validate()
    var created: UnsafeMutablePointer<ISVCEncoder?>? = nil
    let rc = WelsCreateSVCEncoder(&created)
    guard rc == 0, let h = created, h.pointee != nil else { throw .initFailed(rc == 0 ? -1 : rc) }
    self.settings = settings
    self.bitrate = settings.bitrate
    self.handle = h
    self.info = UnsafeMutablePointer<SFrameBSInfo>.allocate(capacity: 1)
    info.initialize(to: SFrameBSInfo())

    guard let vt = h.pointee?.pointee, let getDefaults = vt.GetDefaultParams, let initExt = vt.InitializeExt,
      let setOption = vt.SetOption
    else { throw .initFailed(-1) }

    var level = Int32(WELS_LOG_ERROR)
    _ = setOption(h, ENCODER_OPTION_TRACE_LEVEL, &level)

    var p = SEncParamExt()
    let drc = getDefaults(h, &p)
    guard drc == 0 else { throw .initFailed(drc) }
    H264Encoder.configure(&p, settings)
    let irc = initExt(h, &p)
    guard irc == 0 else { throw .initFailed(irc) }
    var format = Int32(videoFormatI420.rawValue)
    let frc = setOption(h, ENCODER_OPTION_DATAFORMAT, &format)
    guard frc == 0 else { throw .initFailed(frc) }
  }

  /// Camera real-time usage, bitrate rate control, one spatial layer with `temporalLayers`
  /// temporal layers, one slice, CAVLC, baseline level 3.1, constant SPS/PPS ids, no internal
  /// threads, no scene-change IDRs, the preset's tuning.
  static func configure(_ p: inout SEncParamExt, _ s: EncoderSettings) {
    p.iUsageType = CAMERA_VIDEO_REAL_TIME
    p.iPicWidth = Int32(s.width)
    p.iPicHeight = Int32(s.height)
    p.iTargetBitrate = Int32(s.bitrate)
    p.iMaxBitrate = Int32(s.effectiveMaxBitrate)
    p.iRCMode = RC_BITRATE_MODE
    p.fMaxFrameRate = Float(s.fps)
    p.iTemporalLayerNum = Int32(s.temporalLayers)
    p.iSpatialLayerNum = 1
    let tuning = s.preset.tuning
    switch tuning.complexity {
    case .low: p.iComplexityMode = LOW_COMPLEXITY
    case .medium: p.iComplexityMode = MEDIUM_COMPLEXITY
    case .high: p.iComplexityMode = HIGH_COMPLEXITY
    }
    p.uiIntraPeriod = UInt32(s.intraPeriodFrames)
    // OpenH264 needs max(1, group/2) short-term references for its temporal prediction pattern
    // (au_set.cpp WelsCheckNumRefSetting) and raises a smaller value to that, with a warning
    p.iNumRefFrame = Int32(max(tuning.referenceFrames, s.temporalGroupFrames / 2))
    p.eSpsPpsIdStrategy = CONSTANT_ID
    p.bPrefixNalAddingCtrl = false
    p.bEnableSSEI = false
    p.bSimulcastAVC = false
    p.iPaddingFlag = 0
    p.iEntropyCodingModeFlag = 0  // CAVLC (baseline)
    p.bEnableFrameSkip = s.allowFrameSkip
    p.iMultipleThreadIdc = 1  // no encoder threads: we own the capture thread
    p.bUseLoadBalancing = false
    p.iLoopFilterDisableIdc = tuning.deblocking ? 0 : 1
    p.bEnableDenoise = false
    p.bEnableFrameCroppingFlag = true  // heights that are not a multiple of 16
    p.bEnableLongTermReference = false
    p.bEnableSceneChangeDetect = false  // it inserts unrequested IDRs on busy content; keyframes stay on demand
    p.bEnableBackgroundDetection = tuning.backgroundDetection
    p.bEnableAdaptiveQuant = tuning.adaptiveQuantization
    p.sSpatialLayers.0.iVideoWidth = Int32(s.width)
    p.sSpatialLayers.0.iVideoHeight = Int32(s.height)
    p.sSpatialLayers.0.fFrameRate = Float(s.fps)
    p.sSpatialLayers.0.iSpatialBitrate = Int32(s.bitrate)
    p.sSpatialLayers.0.iMaxSpatialBitrate = Int32(s.effectiveMaxBitrate)
    p.sSpatialLayers.0.uiProfileIdc = PRO_BASELINE
    p.sSpatialLayers.0.uiLevelIdc = LEVEL_3_1
    p.sSpatialLayers.0.sSliceArgument.uiSliceMode = SM_SINGLE_SLICE
    p.sSpatialLayers.0.sSliceArgument.uiSliceNum = 1
    p.iIdrBitrateRatio = Int32(s.keyframeTargetPercent)
    p.iMinQp = Int32(EncoderSettings.qpRange.lowerBound)
    p.iMaxQp = Int32(s.maxQp)
  }

  deinit {
    if let uninit = handle.pointee?.pointee.Uninitialize { _ = uninit(handle) }
    WelsDestroySVCEncoder(handle)
    info.deinitialize(count: 1)
    info.deallocate()
  }

  /// Encodes one frame and writes the Annex-B access unit (every NAL of every layer, each with its
  /// start code, SPS and PPS first on an IDR) into `buffer`: the only copy of the bitstream out of
  /// OpenH264's own buffers (the capture thread passes a reserved `FrameRing` slot). `forceKeyframe`
  /// asks for an IDR; whether one came is in the result (the rate control may skip the frame).
  /// Allocates nothing.
  public func encode(_ frame: FrameView, forceKeyframe: Bool = false, into buffer: UnsafeMutableRawBufferPointer)
    throws(EncoderError) -> EncodeOutcome
  {
    guard let au = try run(frame, forceKeyframe: forceKeyframe) else { return .skipped }
    guard au.size <= buffer.count, let base = buffer.baseAddress else { return .tooLarge(au.size) }
    copyAccessUnit(to: base)
    return .encoded(EncodedFrame(isKeyframe: au.isKeyframe, length: au.size, captureTimeNs: frame.captureTimeNs,
      sequence: frame.sequence, temporalLayer: au.temporalLayer))
  }

  /// `encode` into `output`, whose contents it replaces (it grows only when an access unit is
  /// larger than its capacity: reserve once). nil when the rate control skipped the frame.
  public func encode(_ frame: FrameView, forceKeyframe: Bool = false, into output: inout [UInt8])
    throws(EncoderError) -> EncodedFrame?
  {
    output.removeAll(keepingCapacity: true)
    guard let au = try run(frame, forceKeyframe: forceKeyframe) else { return nil }
    forEachNal { nal in
      let start = output.count
      output.append(contentsOf: nal)
      output.withUnsafeMutableBytes { conformSps(UnsafeMutableRawBufferPointer(rebasing: $0[start..<(start + nal.count)])) }
    }
    return EncodedFrame(isKeyframe: au.isKeyframe, length: au.size, captureTimeNs: frame.captureTimeNs,
      sequence: frame.sequence, temporalLayer: au.temporalLayer)
  }

  /// Runs OpenH264 on one frame: the access unit's size, whether it is an IDR and its temporal
  /// layer, or nil when the rate control skipped the frame. The bitstream stays in OpenH264's
  /// buffers (`info`).
  func run(_ frame: FrameView, forceKeyframe: Bool) throws(EncoderError) -> (size: Int, isKeyframe: Bool, temporalLayer: UInt8)? {
    guard frame.width == settings.width, frame.height == settings.height, frame.layout == .i420 else {
      throw .badSettings(
        "frame " + String(frame.width) + "x" + String(frame.height) + " does not match the encoder's "
          + String(settings.width) + "x" + String(settings.height))
    }
    guard frame.yStride >= frame.width, frame.uvStride >= frame.width / 2 else {
      throw .badSettings("frame strides are smaller than its width")
    }
    guard let vt = handle.pointee?.pointee, let encodeFrame = vt.EncodeFrame, let forceIntra = vt.ForceIntraFrame
    else { throw .encodeFailed(-1) }

    var pic = SSourcePicture()
    pic.iColorFormat = Int32(videoFormatI420.rawValue)
    pic.iStride = (Int32(frame.yStride), Int32(frame.uvStride), Int32(frame.uvStride), 0)
    pic.pData = (
      UnsafeMutablePointer(mutating: frame.y), UnsafeMutablePointer(mutating: frame.u),
      UnsafeMutablePointer(mutating: frame.v), nil
    )
    pic.iPicWidth = Int32(frame.width)
    pic.iPicHeight = Int32(frame.height)
    pic.uiTimeStamp = Int64(frame.captureTimeNs / 1_000_000)  // milliseconds; drives the rate control

    let first = !primed
    if first {
      primed = true
      _ = forceIntra(handle, true)
      memset(info, 0, MemoryLayout<SFrameBSInfo>.size)
      let prc = encodeFrame(handle, &pic, info)  // thrown away: see `primed`
      guard prc == 0 else { throw .encodeFailed(prc) }
    }
    if forceKeyframe || first { _ = forceIntra(handle, true) }
    memset(info, 0, MemoryLayout<SFrameBSInfo>.size)
    let rc = encodeFrame(handle, &pic, info)
    guard rc == 0 else { throw .encodeFailed(rc) }
    let type = info.pointee.eFrameType
    if type == videoFrameTypeSkip || type == videoFrameTypeInvalid { return nil }
    var size = 0
    forEachNal { nal in size += nal.count }
    return (size, type == videoFrameTypeIDR, codingLayerTemporalId())
  }

  /// The temporal id of the last `run`'s picture: `uiTemporalId` of its video coding layer (an
  /// IDR's SPS and PPS come in a layer of their own, marked as not a coding layer).
  func codingLayerTemporalId() -> UInt8 {
    let layerCount = min(max(Int(info.pointee.iLayerNum), 0), Int(MAX_LAYER_NUM_OF_FRAME))
    let coding = UInt8(VIDEO_CODING_LAYER.rawValue)
    return withUnsafeMutablePointer(to: &info.pointee.sLayerInfo) { tuple in
      tuple.withMemoryRebound(to: SLayerBSInfo.self, capacity: Int(MAX_LAYER_NUM_OF_FRAME)) { layers in
        var id: UInt8 = 0
        for i in 0..<layerCount where layers[i].uiLayerType == coding { id = max(id, layers[i].uiTemporalId) }
        return id
      }
    }
  }

  /// Copies the access unit of the last `run` to `out` (room for its size), conforming each SPS.
  func copyAccessUnit(to out: UnsafeMutableRawPointer) {
    var offset = 0
    forEachNal { nal in
      guard let src = nal.baseAddress else { return }
      let dst = out + offset
      dst.copyMemory(from: src, byteCount: nal.count)
      conformSps(UnsafeMutableRawBufferPointer(start: dst, count: nal.count))
      offset += nal.count
    }
  }

  /// Every NAL unit (start code included) of the last `run`, in order, in OpenH264's buffers.
  func forEachNal(_ body: (UnsafeRawBufferPointer) -> Void) {
    let layerCount = min(max(Int(info.pointee.iLayerNum), 0), Int(MAX_LAYER_NUM_OF_FRAME))
    withUnsafeMutablePointer(to: &info.pointee.sLayerInfo) { tuple in
      tuple.withMemoryRebound(to: SLayerBSInfo.self, capacity: Int(MAX_LAYER_NUM_OF_FRAME)) { layers in
        for i in 0..<layerCount {
          let layer = layers[i]
          guard let lengths = layer.pNalLengthInByte, var p = layer.pBsBuf else { continue }
          for n in 0..<max(Int(layer.iNalCount), 0) {
            let length = max(Int(lengths[n]), 0)
            body(UnsafeRawBufferPointer(start: p, count: length))
            p += length
          }
        }
      }
    }
  }
}

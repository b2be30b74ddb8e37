// Encoder: the owner of one OpenH264 encoder (constrained baseline, Annex-B output).
import CRTCam
import Capture
import Synchronization
import Wire

/// OpenH264's speed/quality trade-off (ECOMPLEXITY_MODE).
public enum EncoderComplexity: Equatable, Sendable {
  case low, medium, high
}

/// What to encode and how. The stream is H.264 constrained baseline level 3.1
/// (profile-level-id 42e01f, `H264ProfileLevel.sent`), so the size and rate must fit level 3.1: at most 3600 macroblocks
/// per frame (1280x720), 108000 macroblocks per second (640x480 at 90 fps, 1280x720 at 30 fps),
/// 14 Mbit/s.
public struct EncoderSettings: Equatable, Sendable {
  public var width = 640
  public var height = 480
  public var fps = 30
  /// Target bitrate in bits per second.
  public var bitrate = 800_000
  /// Ceiling for the rate control in bits per second; 0 means 1.5 x `bitrate`.
  public var maxBitrate = 0
  /// An IDR every this many frames; 0 = only on demand (`requestKeyframe`) and the first frame.
  public var intraPeriodFrames: Int = 0
  /// Let the rate control drop frames (encode returns nil) to pay back large frames. Off by
  /// default: OpenH264 then drops about every other frame for a second after each IDR (a visible
  /// stutter on every viewer join or PLI), while without skipping it still holds the average
  /// bitrate by raising QP. Useful only when a sender pacer makes big frames cost queueing latency.
  public var allowFrameSkip = false
  /// The speed/quality trade-off (`--preset`).
  public var preset = EncoderPreset.default

  public init(
    width: Int = 640, height: Int = 480, fps: Int = 30, bitrate: Int = 800_000, intraPeriodFrames: Int = 0,
    preset: EncoderPreset = .default
  ) {
    self.preset = preset
    self.width = width
    self.height = height
    self.fps = fps
    self.bitrate = bitrate
    self.intraPeriodFrames = intraPeriodFrames
  }

  /// The rate-control ceiling actually used.
  public var effectiveMaxBitrate: Int {
    min(maxBitrate > 0 ? max(maxBitrate, bitrate) : bitrate + bitrate / 2, EncoderSettings.level31MaxBitrate)
  }

  static let level31MaxFrameMBs = 3600
  static let level31MaxMBsPerSecond = 108_000
  static let level31MaxBitrate = 14_000_000

  /// Checks the settings; the error says which value is wrong and why.
  public func validate() throws(EncoderError) {
    guard width >= 16, height >= 16, width <= 4096, height <= 4096 else {
      throw .badSettings("frame size " + String(width) + "x" + String(height) + " out of range (16...4096)")
    }
    guard width % 2 == 0, height % 2 == 0 else {
      throw .badSettings("frame size " + String(width) + "x" + String(height) + " must be even")
    }
    guard fps >= 1, fps <= 120 else { throw .badSettings("fps " + String(fps) + " out of range (1...120)") }
    guard bitrate >= 10_000, bitrate <= EncoderSettings.level31MaxBitrate else {
      throw .badSettings("bitrate " + String(bitrate) + " out of range (10000...14000000 bit/s)")
    }
    guard maxBitrate >= 0 else { throw .badSettings("maxBitrate must not be negative") }
    guard intraPeriodFrames >= 0, intraPeriodFrames <= 100_000 else {
      throw .badSettings("intraPeriodFrames " + String(intraPeriodFrames) + " out of range (0...100000)")
    }
    let mbW = (width + 15) / 16
    let mbH = (height + 15) / 16
    // level 3.1: frame size and width/height limits (each side <= sqrt(8 * MaxFS) macroblocks)
    guard mbW * mbH <= EncoderSettings.level31MaxFrameMBs, mbW <= 169, mbH <= 169 else {
      throw .badSettings(
        "frame size " + String(width) + "x" + String(height) + " exceeds H.264 level 3.1 (at most 3600 macroblocks, e.g. 1280x720)")
    }
    guard mbW * mbH * fps <= EncoderSettings.level31MaxMBsPerSecond else {
      throw .badSettings(
        String(width) + "x" + String(height) + " at " + String(fps) + " fps exceeds H.264 level 3.1 (108000 macroblocks/s)")
    }
  }
}

/// Why the encoder failed.
public enum EncoderError: Error, Equatable, Sendable {
  /// OpenH264 refused to create or initialise the encoder (its return code).
  case initFailed(Int32)
  /// EncodeFrame failed (its return code).
  case encodeFailed(Int32)
  /// The settings (or a frame that does not match them) are unusable; the text says why.
  case badSettings(String)

  public var code: String {
    switch self {
    case .initFailed: return "ENCODER_INIT_FAILED"
    case .encodeFailed: return "ENCODE_FAILED"
    case .badSettings: return "ENCODER_BAD_SETTINGS"
    }
  }

  public var message: String {
    switch self {
    case .initFailed(let rc): return "OpenH264 encoder initialisation failed (" + String(Int(rc)) + ")"
    case .encodeFailed(let rc): return "OpenH264 EncodeFrame failed (" + String(Int(rc)) + ")"
    case .badSettings(let why): return why
    }
  }
}

/// One encoded access unit, written into the caller's buffer by `H264Encoder.encode`.
public struct EncodedFrame: Equatable, Sendable {
  /// An IDR picture (preceded by SPS and PPS in the same access unit).
  public var isKeyframe: Bool
  /// Bytes written to the output buffer.
  public var length: Int
  /// The source frame's capture time (monotonic nanoseconds).
  public var captureTimeNs: UInt64
  /// The source frame's sequence number.
  public var sequence: UInt64

  public init(isKeyframe: Bool, length: Int, captureTimeNs: UInt64, sequence: UInt64) {
    self.isKeyframe = isKeyframe
    self.length = length
    self.captureTimeNs = captureTimeNs
    self.sequence = sequence
  }
}

/// Counters since the encoder was created; 64-bit everywhere (on 32-bit ARM an `Int` of
/// nanoseconds would wrap after 2 s of encoding, bytes after 2 GiB).
public struct EncoderStats: Equatable, Sendable {
  /// Frames encoded (not counting skipped ones).
  public var frames: UInt64
  /// IDR frames among them.
  public var keyframes: UInt64
  /// Frames the rate control dropped.
  public var skipped: UInt64
  /// Annex-B bytes produced.
  public var bytes: UInt64
  /// Time spent inside OpenH264's EncodeFrame, in nanoseconds.
  public var encodeNs: UInt64
  /// Keyframes asked for through `requestKeyframe`.
  public var keyframeRequests: UInt64
}

/// Owns one OpenH264 encoder. `encode` is called from one thread (capture); `requestKeyframe`
/// and `stats` may be used from any thread.
///
/// `@unchecked Sendable`: what other threads may call (`requestKeyframe`, `stats`) touches only
/// the `Atomic` counters and flag; the OpenH264 handle and `info` are used by `encode` and
/// `deinit` alone, which the owner calls from one thread (the capture thread).
public final class H264Encoder: @unchecked Sendable {
  public let settings: EncoderSettings
  /// OpenH264's handle (`ISVCEncoder*`: a pointer to the vtable pointer).
  let handle: UnsafeMutablePointer<ISVCEncoder?>
  /// Reused for every frame (it is ~5 KB).
  let info: UnsafeMutablePointer<SFrameBSInfo>
  let keyframeRequested = Atomic<Bool>(false)
  let framesCount = Atomic<UInt64>(0)
  let keyframesCount = Atomic<UInt64>(0)
  let skippedCount = Atomic<UInt64>(0)
  let bytesCount = Atomic<UInt64>(0)
  let encodeNsCount = Atomic<UInt64>(0)
  let requestsCount = Atomic<UInt64>(0)

  /// Creates and initialises the encoder: GetDefaultParams, then camera real-time usage, bitrate
  /// rate control, one spatial/temporal layer, one slice, CAVLC, baseline level 3.1, constant
  /// SPS/PPS ids, no internal threads, no scene-change IDRs, the preset's tuning. Every SPS it emits carries
  /// `H264ProfileLevel.sent` (42e01f, see `conformSps`), what the SDP answer signals.
  public init(_ settings: EncoderSettings) throws(EncoderError) {
    try settings.validate()
    var created: UnsafeMutablePointer<ISVCEncoder?>? = nil
    let rc = WelsCreateSVCEncoder(&created)
    guard rc == 0, let h = created, h.pointee != nil else { throw .initFailed(rc == 0 ? -1 : rc) }
    self.settings = settings
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
    p.iUsageType = CAMERA_VIDEO_REAL_TIME
    p.iPicWidth = Int32(settings.width)
    p.iPicHeight = Int32(settings.height)
    p.iTargetBitrate = Int32(settings.bitrate)
    p.iMaxBitrate = Int32(settings.effectiveMaxBitrate)
    p.iRCMode = RC_BITRATE_MODE
    p.fMaxFrameRate = Float(settings.fps)
    p.iTemporalLayerNum = 1
    p.iSpatialLayerNum = 1
    let tuning = settings.preset.tuning
    switch tuning.complexity {
    case .low: p.iComplexityMode = LOW_COMPLEXITY
    case .medium: p.iComplexityMode = MEDIUM_COMPLEXITY
    case .high: p.iComplexityMode = HIGH_COMPLEXITY
    }
    p.uiIntraPeriod = UInt32(settings.intraPeriodFrames)
    p.iNumRefFrame = Int32(tuning.referenceFrames)
    p.eSpsPpsIdStrategy = CONSTANT_ID
    p.bPrefixNalAddingCtrl = false
    p.bEnableSSEI = false
    p.bSimulcastAVC = false
    p.iPaddingFlag = 0
    p.iEntropyCodingModeFlag = 0  // CAVLC (baseline)
    p.bEnableFrameSkip = settings.allowFrameSkip
    p.iMultipleThreadIdc = 1  // no encoder threads: we own the capture thread
    p.bUseLoadBalancing = false
    p.iLoopFilterDisableIdc = tuning.deblocking ? 0 : 1
    p.bEnableDenoise = false
    p.bEnableFrameCroppingFlag = true  // heights that are not a multiple of 16
    p.bEnableLongTermReference = false
    p.bEnableSceneChangeDetect = false  // it inserts unrequested IDRs on busy content; keyframes stay on demand
    p.bEnableBackgroundDetection = tuning.backgroundDetection
    p.bEnableAdaptiveQuant = tuning.adaptiveQuantization
    p.sSpatialLayers.0.iVideoWidth = Int32(settings.width)
    p.sSpatialLayers.0.iVideoHeight = Int32(settings.height)
    p.sSpatialLayers.0.fFrameRate = Float(settings.fps)
    p.sSpatialLayers.0.iSpatialBitrate = Int32(settings.bitrate)
    p.sSpatialLayers.0.iMaxSpatialBitrate = Int32(settings.effectiveMaxBitrate)
    p.sSpatialLayers.0.uiProfileIdc = PRO_BASELINE
    p.sSpatialLayers.0.uiLevelIdc = LEVEL_3_1
    p.sSpatialLayers.0.sSliceArgument.uiSliceMode = SM_SINGLE_SLICE
    p.sSpatialLayers.0.sSliceArgument.uiSliceNum = 1

    let irc = initExt(h, &p)
    guard irc == 0 else { throw .initFailed(irc) }
    var format = Int32(videoFormatI420.rawValue)
    let frc = setOption(h, ENCODER_OPTION_DATAFORMAT, &format)
    guard frc == 0 else { throw .initFailed(frc) }
  }

  /// If the Annex-B NAL unit at `output[nalStart..<nalStart+length]` (start code included) is a
  /// sequence parameter set, writes `H264ProfileLevel.sent` into its profile_idc, constraint flags
  /// and level_idc, so the stream says what the SDP answer signals. OpenH264 2.3 writes 42c01f
  /// (constraint_set2 clear); the three bytes are fixed-length fields right after the NAL header,
  /// so rewriting them changes no other bit, and 0x42 0xE0 0x1F contain no emulation-prevention
  /// pattern. In place, no allocation; other NAL units are left alone.
  static func conformSps(_ output: inout [UInt8], nalStart: Int, length: Int) {
    let end = nalStart + length
    guard nalStart >= 0, end <= output.count else { return }
    var header = nalStart
    // skip the start code: 00 00 01 or 00 00 00 01
    while header < end, output[header] == 0 { header += 1 }
    guard header < end, output[header] == 1, header - nalStart >= 2 else { return }
    header += 1
    let nalTypeSps: UInt8 = 7
    guard header + 3 < end, output[header] & 0x1F == nalTypeSps else { return }
    let sent = H264ProfileLevel.sent
    output[header + 1] = sent.profileIdc
    output[header + 2] = sent.constraintFlags
    output[header + 3] = sent.levelIdc
  }

  deinit {
    if let uninit = handle.pointee?.pointee.Uninitialize { _ = uninit(handle) }
    WelsDestroySVCEncoder(handle)
    info.deinitialize(count: 1)
    info.deallocate()
  }

  /// Asks for an IDR on the next `encode` (new viewer, PLI). Safe from any thread; requests made
  /// before the next encode collapse into one IDR.
  public func requestKeyframe() {
    requestsCount.wrappingAdd(1, ordering: .relaxed)
    keyframeRequested.store(true, ordering: .releasing)
  }

  /// A snapshot of the counters (each counter is read atomically).
  public var stats: EncoderStats {
    EncoderStats(
      frames: framesCount.load(ordering: .relaxed), keyframes: keyframesCount.load(ordering: .relaxed),
      skipped: skippedCount.load(ordering: .relaxed), bytes: bytesCount.load(ordering: .relaxed),
      encodeNs: encodeNsCount.load(ordering: .relaxed), keyframeRequests: requestsCount.load(ordering: .relaxed))
  }

  /// Encodes one frame and writes the Annex-B access unit (every NAL of every layer, each with
  /// its start code, SPS and PPS first on an IDR) into `output`, replacing its contents. `output`
  /// is the caller's reused buffer: reserve capacity once; it only grows when a frame is larger.
  /// Returns nil when the rate control skipped the frame (`output` is then empty). A pending
  /// keyframe request stays pending until an IDR is actually produced.
  public func encode(_ frame: FrameView, into output: inout [UInt8]) throws(EncoderError) -> EncodedFrame? {
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

    output.removeAll(keepingCapacity: true)
    let forced = keyframeRequested.exchange(false, ordering: .acquiringAndReleasing)
    if forced { _ = forceIntra(handle, true) }

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

    memset(info, 0, MemoryLayout<SFrameBSInfo>.size)
    let t0 = rtc_monotonic_ns()
    let rc = encodeFrame(handle, &pic, info)
    let t1 = rtc_monotonic_ns()
    encodeNsCount.wrappingAdd(t1 &- t0, ordering: .relaxed)
    guard rc == 0 else {
      if forced { keyframeRequested.store(true, ordering: .releasing) }
      throw .encodeFailed(rc)
    }
    let type = info.pointee.eFrameType
    if type == videoFrameTypeSkip || type == videoFrameTypeInvalid {
      if forced { keyframeRequested.store(true, ordering: .releasing) }
      skippedCount.wrappingAdd(1, ordering: .relaxed)
      return nil
    }

    let layerCount = min(max(Int(info.pointee.iLayerNum), 0), Int(MAX_LAYER_NUM_OF_FRAME))
    withUnsafeMutablePointer(to: &info.pointee.sLayerInfo) { tuple in
      tuple.withMemoryRebound(to: SLayerBSInfo.self, capacity: Int(MAX_LAYER_NUM_OF_FRAME)) { layers in
        for i in 0..<layerCount {
          let layer = layers[i]
          guard let lengths = layer.pNalLengthInByte, let bs = layer.pBsBuf else { continue }
          var size = 0
          for n in 0..<max(Int(layer.iNalCount), 0) { size += max(Int(lengths[n]), 0) }
          var nalStart = output.count
          output.append(contentsOf: UnsafeBufferPointer(start: bs, count: size))
          for n in 0..<max(Int(layer.iNalCount), 0) {
            let length = max(Int(lengths[n]), 0)
            H264Encoder.conformSps(&output, nalStart: nalStart, length: length)
            nalStart += length
          }
        }
      }
    }

    let isKeyframe = type == videoFrameTypeIDR
    if forced && !isKeyframe { keyframeRequested.store(true, ordering: .releasing) }
    framesCount.wrappingAdd(1, ordering: .relaxed)
    if isKeyframe { keyframesCount.wrappingAdd(1, ordering: .relaxed) }
    bytesCount.wrappingAdd(UInt64(output.count), ordering: .relaxed)
    return EncodedFrame(
      isKeyframe: isKeyframe, length: output.count, captureTimeNs: frame.captureTimeNs, sequence: frame.sequence)
  }
}

// Fmp4Writer: H.264 access units in, fragmented MP4 segments out (ISO/IEC 14496-12 8.8 movie
// fragments, ISO/IEC 14496-15 for AVC). Sans-IO: the runtime writes and fsyncs what it says.
import RTP

/// Turns H.264 frames into fragmented MP4 segment files.
///
/// Per frame, `push` returns `RecordActions`: begin a segment, write bytes (the init segment
/// or one whole fragment), end a segment. A segment file is `ftyp`+`moov` followed by
/// fragments (`moof`+`mdat`), each written with one write() and fsync, so a file cut anywhere
/// keeps every complete fragment before the cut. A cut inside an mdat still opens in FFmpeg
/// (which reads every moof when it opens a file); a cut inside a moof does not, so the runtime
/// repairs a segment a crash left open by truncating it to `Fmp4Summary.completeBytes`
/// (`Fmp4Scanner`), the end of its last complete fragment.
///
/// Choices:
/// - Samples are AVC (ISO/IEC 14496-15): each NAL unit with a 4-byte length instead of a start
///   code. Access unit delimiters (type 9) and the SPS and PPS (7, 8) are dropped from the
///   samples: the parameter sets are in the avcC of the init segment (sample entry `avc1`),
///   and a changed SPS or PPS starts a new segment with a new init segment. SEI and slices
///   are kept.
/// - The last frame's duration: a fragment is held until the frame after its last one arrives,
///   so every duration is the difference of two capture times (at 90 kHz, computed from the
///   segment's start so that rounding does not drift). Only `finish` lacks a next frame: it uses
///   the previous interval.
/// - No B frames: samples are stored in the order they come with decode time = capture time
///   and no composition offsets (Constrained Baseline, which both of rtcam's encoders are set
///   to, has no B slices).
/// - Segments start at keyframes; frames before the first keyframe, and after a refused frame
///   until the next keyframe, are skipped (a P frame without its reference cannot be decoded).
/// - Zero heap allocations per frame in steady state: two fragment buffers (one filling, one
///   handed out) and the sample table are allocated in `init` and reused.
public struct Fmp4Writer: Sendable {
  /// The settings in use, after clamping.
  public let settings: Fmp4Settings
  /// Counters since `init`.
  public internal(set) var stats = RecordStats()

  /// The fragment being collected: its samples' bytes start at `headerRoom`.
  var filling: BoxBuffer
  /// The fragment last handed out (its bytes stay valid until the next call).
  var ready: BoxBuffer
  /// The current segment's init segment.
  var initSegment: BoxBuffer
  var sps: BoxBuffer
  var pps: BoxBuffer
  var spsInfo: H264Sps?
  /// Bytes in front of the payload, enough for the moof of a full fragment and the mdat header.
  let headerRoom: Int

  var inSegment = false
  var waitingForKeyframe = true
  var segmentStartNs: UInt64 = 0
  var sequenceNumber: UInt32 = 0
  var lastTimeNs: UInt64? = nil
  var fragmentStartNs: UInt64 = 0

  // The sample table of the fragment being collected (fixed capacity).
  var sampleTicks: [UInt64]
  var sampleSizes: [UInt32]
  var sampleSync: [Bool]
  var sampleCount = 0

  /// The capture time of the current segment's first frame, if a segment is open.
  public var openSegmentStartNs: UInt64? { inSegment ? segmentStartNs : nil }
  /// The picture of the current configuration (from the last SPS).
  public var currentSps: H264Sps? { spsInfo }

  /// The moof of `n` samples: moof 8, mfhd 16, traf 8, tfhd 16, tfdt 20, trun 20 + 12 per sample.
  static func moofBytes(samples n: Int) -> Int { 88 + 12 * n }
  static let mdatHeaderBytes = 8
  /// tfhd: default-base-is-moof (data offsets count from the moof's first byte).
  static let tfhdFlags: UInt32 = 0x02_0000
  /// trun: data-offset, sample-duration, sample-size and sample-flags present.
  static let trunFlags: UInt32 = 0x000001 | 0x000100 | 0x000200 | 0x000400
  /// Sample flags (ISO/IEC 14496-12 8.8.3.1): sample_depends_on = 2 (an I picture).
  static let syncSampleFlags: UInt32 = 0x0200_0000
  /// sample_depends_on = 1 and sample_is_non_sync_sample = 1 (a P picture).
  static let nonSyncSampleFlags: UInt32 = 0x0101_0000

  /// A writer with its buffers allocated (two fragment buffers, the init segment, the
  /// sample table): nothing is allocated per frame after this.
  public init(settings: Fmp4Settings = Fmp4Settings()) {
    var s = settings
    s.fragmentBufferBytes = min(max(s.fragmentBufferBytes, 64 * 1024), 64 * 1024 * 1024)
    s.maxSamplesPerFragment = min(max(s.maxSamplesPerFragment, 1), 4096)
    s.maxParameterSetBytes = min(max(s.maxParameterSetBytes, 16), 4096)
    s.fragmentDurationNs = max(s.fragmentDurationNs, 1)
    if s.defaultFrameDurationTicks == 0 { s.defaultFrameDurationTicks = 3000 }
    self.settings = s
    headerRoom = Self.moofBytes(samples: s.maxSamplesPerFragment) + Self.mdatHeaderBytes
    filling = BoxBuffer(capacity: s.fragmentBufferBytes)
    ready = BoxBuffer(capacity: s.fragmentBufferBytes)
    initSegment = BoxBuffer(capacity: InitSegment.fixedBytes + 2 * s.maxParameterSetBytes)
    sps = BoxBuffer(capacity: s.maxParameterSetBytes)
    pps = BoxBuffer(capacity: s.maxParameterSetBytes)
    sampleTicks = [UInt64](repeating: 0, count: s.maxSamplesPerFragment)
    sampleSizes = [UInt32](repeating: 0, count: s.maxSamplesPerFragment)
    sampleSync = [Bool](repeating: false, count: s.maxSamplesPerFragment)
  }

  /// Nanoseconds to 90 kHz ticks (exact for any UInt64: split so nothing overflows).
  static func ticks(_ ns: UInt64) -> UInt64 {
    (ns / 100_000) * 9 + (ns % 100_000) * 9 / 100_000
  }

  /// NAL types kept in samples: everything but SPS, PPS and access unit delimiters.
  @inline(__always) static func keeps(_ nalType: UInt8) -> Bool {
    nalType != NalType.sps && nalType != NalType.pps && nalType != NalType.accessUnitDelimiter
  }

  /// Takes one access unit in Annex B form. On a throw the frame is dropped and nothing else
  /// changed, except that the writer skips frames until the next keyframe.
  public mutating func push(
    _ frame: UnsafeRawBufferPointer, captureTimeNs t: UInt64, isKeyframe: Bool
  ) throws(RecordError) -> RecordActions {
    var actions = RecordActions()
    if let last = lastTimeNs, t < last {
      refuse()
      throw .timeWentBackwards
    }
    if !isKeyframe && (waitingForKeyframe || !inSegment) {
      stats.framesSkipped += 1
      return actions
    }
    let scan = FrameScan(frame)
    if scan.payload == 0 {
      stats.framesSkipped += 1
      return actions
    }
    var newInfo: H264Sps? = nil
    if isKeyframe {
      do throws(RecordError) {
        newInfo = try newParameterSets(frame, scan)
      } catch {
        refuse()
        throw error
      }
    }
    guard scan.payload <= filling.capacity - headerRoom else {
      refuse()
      throw .frameTooLarge
    }
    // Nothing is refused from here on.
    let startSegment =
      isKeyframe && (!inSegment || newInfo != nil || t - segmentStartNs >= settings.segmentDurationNs)
    if inSegment && sampleCount > 0 {
      let full = sampleCount >= settings.maxSamplesPerFragment || scan.payload > filling.free
      let due = t - fragmentStartNs >= settings.fragmentDurationNs
      if startSegment || full || due {
        if full && !startSegment && !due { stats.fragmentsCutShort += 1 }
        closeFragment(endTicks: Self.ticks(t - segmentStartNs), into: &actions)
      }
    }
    if startSegment {
      if inSegment { actions.append(.endSegment) }
      if let info = newInfo { keepParameterSets(frame, scan, info) }
      beginSegment(at: t, into: &actions)
    }
    appendSample(frame, at: t, isKeyframe: isKeyframe, payload: scan.payload)
    return actions
  }

  /// Takes one access unit held in an array (see the raw-buffer `push`).
  public mutating func push(
    _ frame: [UInt8], captureTimeNs: UInt64, isKeyframe: Bool
  ) throws(RecordError) -> RecordActions {
    var result: Result<RecordActions, RecordError> = .success(RecordActions())
    frame.withUnsafeBytes { b in
      do throws(RecordError) {
        result = .success(try push(b, captureTimeNs: captureTimeNs, isKeyframe: isKeyframe))
      } catch {
        result = .failure(error)
      }
    }
    return try result.get()
  }

  /// Ends recording: writes the fragment being collected (its last frame gets the previous
  /// frame interval) and closes the segment. The next frame taken must be a keyframe; its time
  /// may be anything (a new source may have a new clock).
  public mutating func finish() -> RecordActions {
    var actions = RecordActions()
    if sampleCount > 0 { closeFragment(endTicks: nil, into: &actions) }
    if inSegment {
      actions.append(.endSegment)
      inSegment = false
    }
    waitingForKeyframe = true
    lastTimeNs = nil
    return actions
  }

  /// Writes the fragment being collected now (its last frame gets the previous frame interval)
  /// and keeps the segment open: for the runtime when frames stop coming (a stalled camera), so
  /// that what was recorded is on the card. The next fragment's tfdt is its first frame's own
  /// time, so the stall is a gap in the timeline, not a drift.
  public mutating func flush() -> RecordActions {
    var actions = RecordActions()
    if sampleCount > 0 { closeFragment(endTicks: nil, into: &actions) }
    return actions
  }

  /// A frame was refused: count it and skip until the next keyframe.
  mutating func refuse() {
    stats.framesRefused += 1
    waitingForKeyframe = true
  }
}

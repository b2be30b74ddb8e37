// Fmp4Writer: H.264 access units in, fragmented MP4 segments out (ISO/IEC 14496-12 8.8 movie
// fragments, ISO/IEC 14496-15 for AVC). Sans-IO: the runtime writes and fsyncs what it says.
import RTP

/// Settings of the fragment writer. Each one bounds memory or time; `Fmp4Writer.init` clamps
/// them to sane ranges.
public struct Fmp4Settings: Equatable, Sendable {
  /// A fragment ends at the first frame at least this long after the fragment's first frame
  /// (so fragments last about this long). Default 1 s: at most that much is lost in a crash.
  public var fragmentDurationNs: UInt64 = 1_000_000_000
  /// A new segment (file) starts at the first keyframe at least this long after the segment's
  /// first frame. Default 60 s.
  public var segmentDurationNs: UInt64 = 60_000_000_000
  /// Capacity of each of the two fragment buffers (moof + mdat), allocated once. A frame that
  /// does not fit in what is left ends the fragment early; one that does not fit an empty
  /// buffer is refused (`RECORD_FRAME_TOO_LARGE`). Default 1 MiB: 1 s at 8 Mbit/s.
  /// Clamped to 64 KiB...64 MiB.
  public var fragmentBufferBytes = 1 << 20
  /// Most samples in one fragment (the trun table is this big, fixed); a full table ends the
  /// fragment early. Default 128: 1 s at up to 120 fps. Clamped to 1...4096.
  public var maxSamplesPerFragment = 128
  /// Longest SPS or PPS accepted (the init segment buffer holds one of each). Real ones are
  /// 10-40 bytes. Default 256, clamped to 16...4096.
  public var maxParameterSetBytes = 256
  /// Duration given to the last frame when recording stops and its fragment holds only that
  /// frame (with two or more, the previous frame interval is used). Default 3000 (1/30 s).
  public var defaultFrameDurationTicks: UInt32 = 3000

  public init() {}
}

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
/// - Segments start at keyframes; frames before the first keyframe, and after a refused frame
///   until the next keyframe, are skipped (a P frame without its reference cannot be decoded).
/// - Zero heap allocations per frame in steady state: two fragment buffers (one filling, one
///   handed out) and the sample table are allocated in `init` and reused.
public struct Fmp4Writer: Sendable {
  public let settings: Fmp4Settings
  public private(set) var stats = RecordStats()

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
    // One pass over the NAL units: the sample's size and where the parameter sets are.
    var payload = 0
    var spsAt = -1
    var spsLength = 0
    var ppsAt = -1
    var ppsLength = 0
    var it = AnnexBIterator(frame)
    while let nal = it.next() {
      let type = frame[nal.offset] & 0x1F
      if type == NalType.sps && spsAt < 0 {
        spsAt = nal.offset
        spsLength = nal.length
      } else if type == NalType.pps && ppsAt < 0 {
        ppsAt = nal.offset
        ppsLength = nal.length
      }
      if Self.keeps(type) { payload += 4 + nal.length }
    }
    if payload == 0 {
      stats.framesSkipped += 1
      return actions
    }
    var changed = false
    var newInfo: H264Sps? = nil
    if isKeyframe {
      if spsAt >= 0 && ppsAt >= 0 {
        guard spsLength <= settings.maxParameterSetBytes, ppsLength <= settings.maxParameterSetBytes else {
          refuse()
          throw .parameterSetTooLarge
        }
        changed = !Self.same(sps, frame, spsAt, spsLength) || !Self.same(pps, frame, ppsAt, ppsLength)
        if changed || spsInfo == nil {
          do throws(RecordError) {
            newInfo = try H264Sps.parse(UnsafeRawBufferPointer(rebasing: frame[spsAt..<spsAt + spsLength]))
          } catch {
            refuse()
            throw error
          }
          changed = true
        }
      } else if spsInfo == nil {
        refuse()
        throw .missingParameterSets
      }
    }
    guard payload <= filling.capacity - headerRoom else {
      refuse()
      throw .frameTooLarge
    }

    let startSegment =
      isKeyframe && (!inSegment || changed || t - segmentStartNs >= settings.segmentDurationNs)
    if inSegment && sampleCount > 0 {
      let full = sampleCount >= settings.maxSamplesPerFragment || payload > filling.free
      if startSegment || full || t - fragmentStartNs >= settings.fragmentDurationNs {
        if full && !startSegment && t - fragmentStartNs < settings.fragmentDurationNs {
          stats.fragmentsCutShort += 1
        }
        closeFragment(endTicks: Self.ticks(t - segmentStartNs), into: &actions)
      }
    }
    if startSegment {
      if inSegment { actions.append(.endSegment) }
      if let info = newInfo {
        sps.reset()
        sps.copy(frame, offset: spsAt, length: spsLength)
        pps.reset()
        pps.copy(frame, offset: ppsAt, length: ppsLength)
        spsInfo = info
      }
      beginSegment(at: t, into: &actions)
    }

    // Append the sample.
    if sampleCount == 0 {
      filling.reset(at: headerRoom)
      fragmentStartNs = t
    }
    it = AnnexBIterator(frame)
    while let nal = it.next() {
      if Self.keeps(frame[nal.offset] & 0x1F) {
        filling.u32(UInt32(truncatingIfNeeded: nal.length))
        filling.copy(frame, offset: nal.offset, length: nal.length)
      }
    }
    sampleTicks[sampleCount] = Self.ticks(t - segmentStartNs)
    sampleSizes[sampleCount] = UInt32(truncatingIfNeeded: payload)
    sampleSync[sampleCount] = isKeyframe
    sampleCount += 1
    stats.framesRecorded += 1
    if isKeyframe { waitingForKeyframe = false }
    lastTimeNs = t
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

  /// Whether `stored` holds the same bytes as `frame[at..<at+length]`.
  static func same(_ stored: BoxBuffer, _ frame: UnsafeRawBufferPointer, _ at: Int, _ length: Int) -> Bool {
    guard stored.count == length else { return false }
    var i = 0
    while i < length {
      if stored.storage[i] != frame[at + i] { return false }
      i += 1
    }
    return true
  }

  mutating func beginSegment(at t: UInt64, into actions: inout RecordActions) {
    inSegment = true
    segmentStartNs = t
    sequenceNumber = 0
    stats.segments += 1
    initSegment.reset()
    let spsCount = sps.count
    let ppsCount = pps.count
    if let info = spsInfo {
      sps.storage.withUnsafeBytes { s in
        pps.storage.withUnsafeBytes { p in
          InitSegment.write(
            into: &initSegment, sps: UnsafeRawBufferPointer(rebasing: s[0..<spsCount]),
            pps: UnsafeRawBufferPointer(rebasing: p[0..<ppsCount]), info: info)
        }
      }
    }
    actions.append(.beginSegment(startNs: t))
    actions.append(.write(initSegment.storage[0..<initSegment.count]))
  }

  /// Writes moof and the mdat header in front of the collected samples and hands the fragment
  /// out. `endTicks` is the next frame's decode time (nil: use the previous interval).
  mutating func closeFragment(endTicks: UInt64?, into actions: inout RecordActions) {
    let n = sampleCount
    let payloadEnd = filling.count
    let payloadBytes = payloadEnd - headerRoom
    let moof = Self.moofBytes(samples: n)
    let start = headerRoom - Self.mdatHeaderBytes - moof
    let payloadOverflowed = filling.overflowed
    sequenceNumber &+= 1
    filling.reset(at: start)
    let moofAt = filling.begin(fourCC("moof"))
    let mfhd = filling.beginFull(fourCC("mfhd"), version: 0, flags: 0)
    filling.u32(sequenceNumber)
    filling.end(mfhd)
    let traf = filling.begin(fourCC("traf"))
    let tfhd = filling.beginFull(fourCC("tfhd"), version: 0, flags: Self.tfhdFlags)
    filling.u32(RecordTrack.trackId)
    filling.end(tfhd)
    let tfdt = filling.beginFull(fourCC("tfdt"), version: 1, flags: 0)
    filling.u64(sampleTicks[0])  // baseMediaDecodeTime
    filling.end(tfdt)
    let trun = filling.beginFull(fourCC("trun"), version: 0, flags: Self.trunFlags)
    filling.u32(UInt32(n))
    filling.u32(UInt32(moof + Self.mdatHeaderBytes))  // data_offset: from the moof to the samples
    var i = 0
    while i < n {
      let duration: UInt64
      if i + 1 < n {
        duration = sampleTicks[i + 1] - sampleTicks[i]
      } else if let end = endTicks {
        duration = end - sampleTicks[i]
      } else if n >= 2 {
        duration = sampleTicks[i] - sampleTicks[i - 1]
      } else {
        duration = UInt64(settings.defaultFrameDurationTicks)
      }
      // 32 bits hold 13 hours at 90 kHz; a longer gap in one segment is clamped.
      filling.u32(UInt32(min(duration, UInt64(UInt32.max))))
      filling.u32(sampleSizes[i])
      filling.u32(sampleSync[i] ? Self.syncSampleFlags : Self.nonSyncSampleFlags)
      i += 1
    }
    filling.end(trun)
    filling.end(traf)
    filling.end(moofAt)
    filling.u32(UInt32(truncatingIfNeeded: Self.mdatHeaderBytes + payloadBytes))
    filling.type(fourCC("mdat"))
    let ok = !payloadOverflowed && !filling.overflowed && filling.count == headerRoom
    filling.count = payloadEnd
    sampleCount = 0
    swap(&filling, &ready)
    if ok {
      stats.fragments += 1
      actions.append(.write(ready.storage[start..<payloadEnd]))
    }
  }
}

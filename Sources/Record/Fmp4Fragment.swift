// Fmp4Writer's inner steps: reading a frame's NAL units, keeping parameter sets, appending a
// sample, and writing the init segment and the moof of a fragment.
import RTP

/// What one pass over an access unit's NAL units found.
struct FrameScan {
  /// Bytes of the sample: kept NAL units with their 4-byte lengths.
  var payload = 0
  /// The first SPS and PPS (offset of the NAL header byte, length), -1 if none.
  var spsAt = -1
  var spsLength = 0
  var ppsAt = -1
  var ppsLength = 0

  init(_ frame: UnsafeRawBufferPointer) {
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
      if Fmp4Writer.keeps(type) { payload += 4 + nal.length }
    }
  }
}

extension Fmp4Writer {
  /// The parsed SPS when a keyframe's SPS/PPS differ from those kept (or none are kept yet);
  /// nil when they are the same, or absent while some are kept.
  func newParameterSets(_ frame: UnsafeRawBufferPointer, _ scan: FrameScan) throws(RecordError) -> H264Sps? {
    guard scan.spsAt >= 0 && scan.ppsAt >= 0 else {
      if spsInfo == nil { throw .missingParameterSets }
      return nil
    }
    guard scan.spsLength <= settings.maxParameterSetBytes, scan.ppsLength <= settings.maxParameterSetBytes else {
      throw .parameterSetTooLarge
    }
    if spsInfo != nil && Self.same(sps, frame, scan.spsAt, scan.spsLength)
      && Self.same(pps, frame, scan.ppsAt, scan.ppsLength)
    {
      return nil
    }
    return try H264Sps.parse(UnsafeRawBufferPointer(rebasing: frame[scan.spsAt..<scan.spsAt + scan.spsLength]))
  }

  mutating func keepParameterSets(_ frame: UnsafeRawBufferPointer, _ scan: FrameScan, _ info: H264Sps) {
    sps.reset()
    sps.copy(frame, offset: scan.spsAt, length: scan.spsLength)
    pps.reset()
    pps.copy(frame, offset: scan.ppsAt, length: scan.ppsLength)
    spsInfo = info
  }

  /// Copies the frame's kept NAL units, length-prefixed, after the fragment's samples and
  /// records the sample (room was checked by `push`).
  mutating func appendSample(_ frame: UnsafeRawBufferPointer, at t: UInt64, isKeyframe: Bool, payload: Int) {
    if sampleCount == 0 {
      filling.reset(at: headerRoom)
      fragmentStartNs = t
    }
    var it = AnnexBIterator(frame)
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

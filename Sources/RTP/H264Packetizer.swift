// H.264 RTP payload format (RFC 6184), packetization-mode=1 send path: single NAL unit
// packets, STAP-A for parameter sets, FU-A for NAL units larger than one packet.

/// Cuts Annex-B access units into RTP payloads of at most `maxPayload` bytes, once for every
/// receiver (`PacketizedFrame`; each receiver's `RtpStream` writes the RTP headers).
///
/// Steady state allocates nothing: payloads go into the frame's storage, and the cached SPS/PPS
/// copies reuse theirs (they only grow if a parameter set outgrows 256 bytes).
public struct H264Packetizer: Sendable {
  var cachedSPS: [UInt8]
  var cachedPPS: [UInt8]

  public init() {
    cachedSPS = []
    cachedSPS.reserveCapacity(256)
    cachedPPS = []
    cachedPPS.reserveCapacity(256)
  }

  /// Cuts one access unit into `frame` (after `frame.reset`), at most `frame.maxPayload` bytes a
  /// payload.
  ///
  /// Single NAL unit packets where a NAL fits; consecutive SPS/PPS NALs bundled into one STAP-A;
  /// larger NALs as FU-A fragments. If the access unit holds an IDR slice that is not preceded
  /// by both an SPS and a PPS, the last seen SPS/PPS are sent first (as one STAP-A). The marker
  /// bit is set on the last payload of the access unit. A frame too small for the access unit
  /// ends up `truncated`.
  public mutating func packetize(accessUnit: UnsafeRawBufferPointer, into frame: PacketizedFrame) {
    guard accessUnit.baseAddress != nil else { return }
    let scan = scanAndCache(accessUnit)
    guard scan.nalCount > 0 else { return }
    if scan.idrNeedsParameterSets && (!cachedSPS.isEmpty || !cachedPPS.isEmpty) {
      sendCachedParameterSets(frame)
    }
    sendNALs(accessUnit, nalCount: scan.nalCount, frame)
  }

  /// Pass 1: counts the NAL units, notes whether an IDR lacks its SPS and PPS, caches the
  /// parameter sets.
  mutating func scanAndCache(_ accessUnit: UnsafeRawBufferPointer) -> (nalCount: Int, idrNeedsParameterSets: Bool) {
    var nalCount = 0
    var sawSPS = false
    var sawPPS = false
    var idrNeeds = false
    for nal in AnnexBIterator(accessUnit) {
      let bytes = UnsafeRawBufferPointer(rebasing: accessUnit[nal.offset..<nal.offset + nal.length])
      switch bytes[0] & 0x1F {
      case NalType.sps:
        sawSPS = true
        cachedSPS.removeAll(keepingCapacity: true)
        cachedSPS.append(contentsOf: bytes)
      case NalType.pps:
        sawPPS = true
        cachedPPS.removeAll(keepingCapacity: true)
        cachedPPS.append(contentsOf: bytes)
      case NalType.idrSlice:
        if !(sawSPS && sawPPS) { idrNeeds = true }
      default: break
      }
      nalCount += 1
    }
    return (nalCount, idrNeeds)
  }

  /// The cached SPS and PPS ahead of an IDR that lacks them: one STAP-A when both fit.
  func sendCachedParameterSets(_ frame: PacketizedFrame) {
    let maxPayload = frame.maxPayload
    cachedSPS.withUnsafeBytes { sps in
      cachedPPS.withUnsafeBytes { pps in
        if !sps.isEmpty && !pps.isEmpty && 1 + 2 + sps.count + 2 + pps.count <= maxPayload {
          guard var stap = StapA(frame) else { return }
          stap.append(sps)
          stap.append(pps)
          stap.finish(frame, marker: false)
        } else {
          if !sps.isEmpty { Self.sendNAL(sps, frame, marker: false) }
          if !pps.isEmpty { Self.sendNAL(pps, frame, marker: false) }
        }
      }
    }
  }

  /// Pass 2: every NAL unit, runs of parameter sets as STAP-A; the marker on the last payload.
  func sendNALs(_ accessUnit: UnsafeRawBufferPointer, nalCount: Int, _ frame: PacketizedFrame) {
    var it = AnnexBIterator(accessUnit)
    var index = 0
    func bytes(_ nal: AnnexBIterator.Element) -> UnsafeRawBufferPointer {
      UnsafeRawBufferPointer(rebasing: accessUnit[nal.offset..<nal.offset + nal.length])
    }
    while let nal = it.next() {
      let type = accessUnit[nal.offset] & 0x1F
      if type == NalType.sps || type == NalType.pps {
        let count = Self.parameterSetRun(after: it, first: nal, accessUnit, maxPayload: frame.maxPayload)
        if count >= 2, var stap = StapA(frame) {
          stap.append(bytes(nal))
          for _ in 1..<count {
            guard let next = it.next() else { break }
            stap.append(bytes(next))
            index += 1
          }
          stap.finish(frame, marker: index == nalCount - 1)
          index += 1
          continue
        }
      }
      Self.sendNAL(bytes(nal), frame, marker: index == nalCount - 1)
      index += 1
    }
  }

  /// How many consecutive parameter sets, starting with `first`, fit into one STAP-A.
  static func parameterSetRun(after it: AnnexBIterator, first: AnnexBIterator.Element,
                              _ accessUnit: UnsafeRawBufferPointer, maxPayload: Int) -> Int {
    var look = it
    var total = 1 + 2 + first.length
    var count = 1
    while let next = look.next() {
      let t = accessUnit[next.offset] & 0x1F
      guard t == NalType.sps || t == NalType.pps, total + 2 + next.length <= maxPayload else { break }
      total += 2 + next.length
      count += 1
    }
    return count
  }

  /// One NAL unit as a single NAL unit packet, or as FU-A fragments if it is larger than a
  /// payload. `marker` applies to the last one.
  static func sendNAL(_ nal: UnsafeRawBufferPointer, _ frame: PacketizedFrame, marker: Bool) {
    guard let src = nal.baseAddress, nal.count > 0 else { return }
    if nal.count <= frame.maxPayload {
      guard let out = frame.reserve() else { return }
      out.copyMemory(from: src, byteCount: nal.count)
      frame.commit(length: nal.count, marker: marker)
      return
    }
    let nalHeader = nal[0]
    let indicator = nalHeader & 0xE0 | NalType.fuA  // F and NRI from the NAL, type 28
    let type = nalHeader & 0x1F
    let chunk = frame.maxPayload - 2
    var offset = 1  // the NAL header byte travels in the FU indicator/header
    while offset < nal.count {
      guard let out = frame.reserve() else { return }
      let n = min(chunk, nal.count - offset)
      let isEnd = offset + n == nal.count
      out.storeBytes(of: indicator, as: UInt8.self)
      out.storeBytes(of: (offset == 1 ? 0x80 : 0) | (isEnd ? 0x40 : 0) | type, toByteOffset: 1, as: UInt8.self)
      (out + 2).copyMemory(from: src + offset, byteCount: n)
      frame.commit(length: 2 + n, marker: marker && isEnd)
      offset += n
    }
  }
}

/// A STAP-A payload under construction in the frame's next slot: write position and the
/// accumulated F/NRI bits.
struct StapA {
  let out: UnsafeMutableRawPointer
  var position = 1
  var fnri: UInt8 = 0

  /// Nil when the frame is full.
  init?(_ frame: PacketizedFrame) {
    guard let out = frame.reserve() else { return nil }
    self.out = out
  }

  /// Appends one aggregation unit (16-bit size + NAL); the caller checked that it fits.
  mutating func append(_ nal: UnsafeRawBufferPointer) {
    guard let src = nal.baseAddress, nal.count > 0 else { return }
    out.storeBytes(of: UInt16(truncatingIfNeeded: nal.count).bigEndian, toByteOffset: position, as: UInt16.self)
    (out + position + 2).copyMemory(from: src, byteCount: nal.count)
    position += 2 + nal.count
    let b = nal[0]
    fnri = (fnri & 0x80) | (b & 0x80) | max(fnri & 0x60, b & 0x60)
  }

  /// The STAP-A NAL header (F = OR, NRI = maximum of the units), then the payload is done.
  func finish(_ frame: PacketizedFrame, marker: Bool) {
    out.storeBytes(of: fnri | NalType.stapA, as: UInt8.self)
    frame.commit(length: position, marker: marker)
  }
}

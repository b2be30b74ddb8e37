// H.264 RTP payload format (RFC 6184), packetization-mode=1 send path: single NAL unit
// packets, STAP-A for parameter sets, FU-A for NAL units larger than one packet.

/// Splits Annex-B access units into RTP packets of at most `mtu` bytes (12-byte header and
/// header extension included), written one at a time into a caller-provided buffer.
///
/// Steady state allocates nothing: packets are written into the caller's buffer, and the cached
/// SPS/PPS copies reuse their storage (they only grow if a parameter set outgrows 256 bytes).
public struct H264Packetizer: Sendable {
  public let ssrc: UInt32
  public let payloadType: UInt8
  /// Largest packet written, header and extension included.
  public let mtu: Int
  /// One-byte header extension ID (1...14) carrying playout-delay min=max=0, or nil for none.
  public let playoutDelayExtensionID: UInt8?
  /// Bytes of RTP header per packet: 12, plus 8 with the playout-delay extension.
  public let headerLength: Int

  /// Sequence number of the next packet.
  public var sequence: UInt16 { writer.sequence }
  /// Packets sent so far (wraps), for RTCP sender reports.
  public var packetCount: UInt32 { writer.packetCount }
  /// Payload octets sent so far (RTP header and extension excluded; wraps), for sender reports.
  public var octetCount: UInt32 { writer.octetCount }
  /// RTP timestamp of the last access unit packetized (for sender reports); 0 before any.
  public private(set) var lastTimestamp: UInt32 = 0

  var writer: RtpPacketWriter
  var cachedSPS: [UInt8]
  var cachedPPS: [UInt8]

  /// - Parameters:
  ///   - mtu: maximum packet size; values below `headerLength + 16` are raised to that.
  ///   - playoutDelayExtensionID: the ID the SDP negotiated for
  ///     `http://www.webrtc.org/experiments/rtp-hdrext/playout-delay`; IDs outside 1...14 (not
  ///     valid one-byte-header IDs) disable the extension.
  public init(
    ssrc: UInt32, payloadType: UInt8, initialSequence: UInt16, mtu: Int = 1200,
    playoutDelayExtensionID: UInt8? = nil
  ) {
    var ext: UInt8? = nil
    if let id = playoutDelayExtensionID, id >= 1, id <= 14 { ext = id }
    self.ssrc = ssrc
    self.payloadType = payloadType & 0x7F
    self.playoutDelayExtensionID = ext
    headerLength = RtpHeader.fixedSize + (ext == nil ? 0 : 8)
    self.mtu = max(mtu, headerLength + 16)
    writer = RtpPacketWriter(
      ssrc: ssrc, payloadType: payloadType & 0x7F, sequence: initialSequence, extensionID: ext)
    cachedSPS = []
    cachedSPS.reserveCapacity(256)
    cachedPPS = []
    cachedPPS.reserveCapacity(256)
  }

  /// Packetizes one access unit. For every packet, writes it at the start of `buffer` and calls
  /// `emit(length, isLastOfFrame)`; `buffer.count` should be at least `mtu` (a shorter buffer
  /// lowers the packet size limit to its count). The closure must not access this packetizer.
  ///
  /// Single NAL unit packets where a NAL fits; consecutive SPS/PPS NALs bundled into one STAP-A;
  /// larger NALs as FU-A fragments. If the access unit holds an IDR slice that is not preceded
  /// by both an SPS and a PPS, the last seen SPS/PPS are sent first (as one STAP-A). The marker
  /// bit is set on the last packet of the access unit; all packets carry `timestamp`.
  public mutating func packetize(
    accessUnit: UnsafeRawBufferPointer, timestamp: UInt32,
    buffer: UnsafeMutableRawBufferPointer,
    emit: (_ length: Int, _ marker: Bool) -> Void
  ) {
    let limit = min(mtu, buffer.count)
    guard limit >= headerLength + 3, let out = buffer.baseAddress, accessUnit.baseAddress != nil
    else { return }
    let maxPayload = limit - headerLength

    // Pass 1: count NALs, find whether an IDR is preceded by SPS and PPS, cache parameter sets.
    var nalCount = 0
    var sawSPS = false
    var sawPPS = false
    var idrNeedsParameterSets = false
    for nal in AnnexBIterator(accessUnit) {
      let type = accessUnit[nal.offset] & 0x1F
      let bytes = UnsafeRawBufferPointer(rebasing: accessUnit[nal.offset..<nal.offset + nal.length])
      switch type {
      case NalType.sps:
        sawSPS = true
        cachedSPS.removeAll(keepingCapacity: true)
        cachedSPS.append(contentsOf: bytes)
      case NalType.pps:
        sawPPS = true
        cachedPPS.removeAll(keepingCapacity: true)
        cachedPPS.append(contentsOf: bytes)
      case NalType.idrSlice:
        if !(sawSPS && sawPPS) { idrNeedsParameterSets = true }
      default: break
      }
      nalCount += 1
    }
    guard nalCount > 0 else { return }
    lastTimestamp = timestamp

    // Re-send cached parameter sets ahead of an IDR that lacks them.
    if idrNeedsParameterSets && (!cachedSPS.isEmpty || !cachedPPS.isEmpty) {
      cachedSPS.withUnsafeBytes { sps in
        cachedPPS.withUnsafeBytes { pps in
          if !sps.isEmpty && !pps.isEmpty && 1 + 2 + sps.count + 2 + pps.count <= maxPayload {
            var stap = writer.stapBegin(out)
            writer.stapAppend(sps, out, &stap)
            writer.stapAppend(pps, out, &stap)
            writer.stapFinish(out, stap, marker: false, timestamp: timestamp, emit: emit)
          } else {
            if !sps.isEmpty {
              writer.sendNAL(sps, out, maxPayload: maxPayload, marker: false,
                             timestamp: timestamp, emit: emit)
            }
            if !pps.isEmpty {
              writer.sendNAL(pps, out, maxPayload: maxPayload, marker: false,
                             timestamp: timestamp, emit: emit)
            }
          }
        }
      }
    }

    // Pass 2: send.
    var it = AnnexBIterator(accessUnit)
    var index = 0
    while let nal = it.next() {
      let bytes = UnsafeRawBufferPointer(rebasing: accessUnit[nal.offset..<nal.offset + nal.length])
      let type = bytes[0] & 0x1F
      if type == NalType.sps || type == NalType.pps {
        // How many consecutive parameter sets fit into one STAP-A together with this one?
        var look = it
        var total = 1 + 2 + nal.length
        var count = 1
        while let next = look.next() {
          let t = accessUnit[next.offset] & 0x1F
          guard t == NalType.sps || t == NalType.pps, total + 2 + next.length <= maxPayload
          else { break }
          total += 2 + next.length
          count += 1
        }
        if count >= 2 {
          var stap = writer.stapBegin(out)
          writer.stapAppend(bytes, out, &stap)
          for _ in 1..<count {
            guard let next = it.next() else { break }
            writer.stapAppend(
              UnsafeRawBufferPointer(rebasing: accessUnit[next.offset..<next.offset + next.length]),
              out, &stap)
            index += 1
          }
          writer.stapFinish(
            out, stap, marker: index == nalCount - 1, timestamp: timestamp, emit: emit)
          index += 1
          continue
        }
      }
      writer.sendNAL(
        bytes, out, maxPayload: maxPayload, marker: index == nalCount - 1,
        timestamp: timestamp, emit: emit)
      index += 1
    }
  }
}

/// Writes RTP headers and H.264 payload structures; owns the per-stream counters.
struct RtpPacketWriter: Sendable {
  let ssrc: UInt32
  let payloadType: UInt8
  var sequence: UInt16
  var packetCount: UInt32 = 0
  var octetCount: UInt32 = 0
  let extensionID: UInt8?
  let headerLength: Int

  init(ssrc: UInt32, payloadType: UInt8, sequence: UInt16, extensionID: UInt8?) {
    self.ssrc = ssrc
    self.payloadType = payloadType
    self.sequence = sequence
    self.extensionID = extensionID
    headerLength = RtpHeader.fixedSize + (extensionID == nil ? 0 : 8)
  }

  /// Writes the RTP header (and playout-delay extension) for the next packet at `out`.
  func writeHeader(_ out: UnsafeMutableRawPointer, marker: Bool, timestamp: UInt32) {
    out.storeBytes(of: extensionID == nil ? 0x80 : 0x90, as: UInt8.self)
    out.storeBytes(of: (marker ? 0x80 : 0) | payloadType, toByteOffset: 1, as: UInt8.self)
    out.storeBytes(of: sequence.bigEndian, toByteOffset: 2, as: UInt16.self)
    out.storeBytes(of: timestamp.bigEndian, toByteOffset: 4, as: UInt32.self)
    out.storeBytes(of: ssrc.bigEndian, toByteOffset: 8, as: UInt32.self)
    if let id = extensionID {
      // RFC 8285 one-byte header: 0xBEDE, length 1 word; element ID|L=2 (3 bytes):
      // playout delay min (12 bits) = 0, max (12 bits) = 0. Exactly one word, no padding.
      out.storeBytes(of: UInt32(0xBEDE_0001).bigEndian, toByteOffset: 12, as: UInt32.self)
      out.storeBytes(of: (UInt32(id << 4 | 2) << 24).bigEndian, toByteOffset: 16, as: UInt32.self)
    }
  }

  /// Accounts for a written packet and hands it to the caller.
  mutating func finish(length: Int, marker: Bool, emit: (Int, Bool) -> Void) {
    emit(length, marker)
    sequence &+= 1
    packetCount &+= 1
    octetCount &+= UInt32(truncatingIfNeeded: length - headerLength)
  }

  /// Sends one NAL unit as a single NAL unit packet, or as FU-A fragments if it is larger than
  /// `maxPayload`. `marker` applies to the last packet.
  mutating func sendNAL(
    _ nal: UnsafeRawBufferPointer, _ out: UnsafeMutableRawPointer, maxPayload: Int, marker: Bool,
    timestamp: UInt32, emit: (Int, Bool) -> Void
  ) {
    guard let src = nal.baseAddress, nal.count > 0 else { return }
    let h = headerLength
    if nal.count <= maxPayload {
      writeHeader(out, marker: marker, timestamp: timestamp)
      (out + h).copyMemory(from: src, byteCount: nal.count)
      finish(length: h + nal.count, marker: marker, emit: emit)
      return
    }
    let nalHeader = nal[0]
    let indicator = nalHeader & 0xE0 | NalType.fuA  // F and NRI from the NAL, type 28
    let type = nalHeader & 0x1F
    let chunk = maxPayload - 2
    var offset = 1  // the NAL header byte travels in the FU indicator/header
    while offset < nal.count {
      let n = min(chunk, nal.count - offset)
      let isEnd = offset + n == nal.count
      let fuHeader = (offset == 1 ? 0x80 : 0) | (isEnd ? 0x40 : 0) | type
      let m = marker && isEnd
      writeHeader(out, marker: m, timestamp: timestamp)
      out.storeBytes(of: indicator, toByteOffset: h, as: UInt8.self)
      out.storeBytes(of: fuHeader, toByteOffset: h + 1, as: UInt8.self)
      (out + h + 2).copyMemory(from: src + offset, byteCount: n)
      finish(length: h + 2 + n, marker: m, emit: emit)
      offset += n
    }
  }

  /// STAP-A under construction: write position and accumulated F/NRI bits.
  struct Stap: Sendable {
    var position: Int
    var fnri: UInt8
  }

  func stapBegin(_ out: UnsafeMutableRawPointer) -> Stap {
    Stap(position: headerLength + 1, fnri: 0)
  }

  /// Appends one aggregation unit (16-bit size + NAL); the caller checked that it fits.
  func stapAppend(_ nal: UnsafeRawBufferPointer, _ out: UnsafeMutableRawPointer, _ s: inout Stap) {
    guard let src = nal.baseAddress, nal.count > 0 else { return }
    out.storeBytes(of: UInt16(truncatingIfNeeded: nal.count).bigEndian, toByteOffset: s.position,
                   as: UInt16.self)
    (out + s.position + 2).copyMemory(from: src, byteCount: nal.count)
    s.position += 2 + nal.count
    let b = nal[0]
    s.fnri = (s.fnri & 0x80) | (b & 0x80) | max(s.fnri & 0x60, b & 0x60)
  }

  /// Writes the RTP header and STAP-A NAL header (F = OR, NRI = maximum of the units) and emits.
  mutating func stapFinish(
    _ out: UnsafeMutableRawPointer, _ s: Stap, marker: Bool, timestamp: UInt32,
    emit: (Int, Bool) -> Void
  ) {
    writeHeader(out, marker: marker, timestamp: timestamp)
    out.storeBytes(of: s.fnri | NalType.stapA, toByteOffset: headerLength, as: UInt8.self)
    finish(length: s.position, marker: marker, emit: emit)
  }
}

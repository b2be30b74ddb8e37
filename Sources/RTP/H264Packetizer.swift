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
    headerLength = rtpFixedHeaderSize + (ext == nil ? 0 : 8)
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
    let scan = scanParameterSets(accessUnit)
    guard scan.nalCount > 0 else { return }
    lastTimestamp = timestamp
    if scan.idrNeedsParameterSets && (!cachedSPS.isEmpty || !cachedPPS.isEmpty) {
      resendParameterSets(out, maxPayload: maxPayload, timestamp: timestamp, emit: emit)
    }
    sendNALs(accessUnit, nalCount: scan.nalCount, out, maxPayload: maxPayload, timestamp: timestamp, emit: emit)
  }

  /// Pass 1: counts the NAL units, finds whether an IDR slice comes without an SPS and a PPS
  /// before it, and caches the parameter sets it holds.
  mutating func scanParameterSets(_ accessUnit: UnsafeRawBufferPointer)
    -> (nalCount: Int, idrNeedsParameterSets: Bool)
  {
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
    return (nalCount, idrNeedsParameterSets)
  }

  /// Re-sends the cached parameter sets ahead of an IDR that lacks them: one STAP-A when both
  /// fit, else each on its own.
  mutating func resendParameterSets(
    _ out: UnsafeMutableRawPointer, maxPayload: Int, timestamp: UInt32, emit: (Int, Bool) -> Void
  ) {
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

  /// Pass 2: sends the access unit's NAL units, consecutive parameter sets together in one
  /// STAP-A as far as they fit, the marker on the last packet.
  mutating func sendNALs(
    _ accessUnit: UnsafeRawBufferPointer, nalCount: Int, _ out: UnsafeMutableRawPointer,
    maxPayload: Int, timestamp: UInt32, emit: (Int, Bool) -> Void
  ) {
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

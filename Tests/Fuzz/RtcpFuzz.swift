// fuzz-target: rtcp
// fuzz-modules: RTP
// fuzz-summary: compound RTCP parser (parseRtcp, transport-wide feedback included) and the sender report writer
//
// Input: one (decrypted) RTCP datagram.
// Invariants:
// - the [UInt8] and the raw-buffer entry points agree;
// - acceptance follows an independent statement of the framing rule (version 2, lengths inside
//   the datagram, padding 1...length-4, <= maxRtcpPackets): nothing with bad framing parses, and
//   well-framed datagrams of types that need no fields (SDES, APP, unknown) always parse;
// - a parsed datagram has 1...maxRtcpPackets packets; parsing it packet by packet (cut at the
//   length fields) gives the same packets; cutting 1-3 bytes off the end or adding 1-3 makes it
//   fail; appending an empty SDES adds exactly `.sdes` (or hits the packet limit);
// - report blocks match the count field (<= 31) and the 24-bit loss is sign-extended; a NACK
//   expands to at most 17 sequence numbers per FCI entry;
// - a transport-wide feedback reports 1...65535 packets with consecutive sequence numbers from
//   its base, the first arrival within a delta of the 24-bit reference time, each next one
//   within a 2-byte delta of the one before, and no more received packets than the datagram
//   has bytes; forEachRtcpPacket's in-place packets are the same;
// - sender reports, receiver reports, PLI, FIR, REMB and transport-wide feedback written back out
//   (writeSenderReport for SRs without blocks, a minimal encoder here for the rest: transport-wide
//   feedback as 2-bit status vectors only, whatever chunks it came in) parse to the same packet.
@testable import RTP
import Wire

func parseBoth(_ d: [UInt8]) -> [RtcpPacket]? {
  let a = try? parseRtcp(d)
  let b = d.withUnsafeBytes { try? parseRtcp($0) }
  invariant(a == b, "parseRtcp([UInt8]) and parseRtcp(UnsafeRawBufferPointer) disagree")
  return a
}

func be32(_ v: UInt32) -> [UInt8] { [UInt8(v >> 24), UInt8(v >> 16 & 0xFF), UInt8(v >> 8 & 0xFF), UInt8(v & 0xFF)] }

func header(_ first: UInt8, _ type: UInt8, bodyBytes: Int) -> [UInt8] {
  let words = (4 + bodyBytes) / 4 - 1
  return [first, type, UInt8(words >> 8), UInt8(words & 0xFF)]
}

func blockBytes(_ b: ReportBlock) -> [UInt8] {
  let lost = UInt32(bitPattern: b.cumulativeLost) & 0xFF_FFFF
  return be32(b.ssrc) + [b.fractionLost, UInt8(lost >> 16), UInt8(lost >> 8 & 0xFF), UInt8(lost & 0xFF)]
    + be32(b.highestSequence) + be32(b.jitter) + be32(b.lastSenderReport) + be32(b.delaySinceLastSenderReport)
}

/// The packet written out again, if this file knows how.
func encode(_ p: RtcpPacket) -> [UInt8]? {
  switch p {
  case .senderReport(let ssrc, let ntp, let rtp, let pc, let oc, let blocks):
    let body = be32(ssrc) + be32(UInt32(ntp >> 32)) + be32(UInt32(ntp & 0xFFFF_FFFF)) + be32(rtp) + be32(pc) + be32(oc)
      + blocks.flatMap(blockBytes)
    return header(0x80 | UInt8(blocks.count), RtcpType.senderReport, bodyBytes: body.count) + body
  case .receiverReport(let ssrc, let blocks):
    let body = be32(ssrc) + blocks.flatMap(blockBytes)
    return header(0x80 | UInt8(blocks.count), RtcpType.receiverReport, bodyBytes: body.count) + body
  case .pli(let sender, let media):
    return [0x81, RtcpType.payloadFeedback, 0, 2] + be32(sender) + be32(media)
  case .fir(let sender, let requests):
    let body = be32(sender) + be32(0) + requests.flatMap { be32($0.ssrc) + [$0.sequence, 0, 0, 0] }
    return header(0x84, RtcpType.payloadFeedback, bodyBytes: body.count) + body
  case .remb(let bitrate, let ssrcs):
    guard bitrate != UInt64.max, ssrcs.count <= 255 else { return nil }
    var mantissa = bitrate
    var exponent: UInt64 = 0
    while mantissa >= 1 << 18 { mantissa >>= 1; exponent += 1 }
    let body = be32(1) + be32(0) + Array("REMB".utf8)
      + [UInt8(ssrcs.count), UInt8(exponent << 2 | mantissa >> 16), UInt8(mantissa >> 8 & 0xFF), UInt8(mantissa & 0xFF)]
      + ssrcs.flatMap(be32)
    return header(0x8F, RtcpType.payloadFeedback, bodyBytes: body.count) + body
  case .transportFeedback(let sender, let media, let base, let referenceTime, let feedbackCount, let packets):
    return encodeTransportFeedback(sender, media, base, referenceTime, feedbackCount, packets)
  default:
    return nil
  }
}

/// Transport-wide feedback written with 2-bit status vector chunks only (7 packets each), the
/// receive deltas recomputed from the arrival times: 1 byte when 0...255 units, else 2.
func encodeTransportFeedback(_ sender: UInt32, _ media: UInt32, _ base: UInt16, _ referenceTime: Int32,
                             _ feedbackCount: UInt8, _ packets: [TransportFeedbackPacket]) -> [UInt8]? {
  guard !packets.isEmpty, packets.count <= 0xFFFF else { return nil }
  let ref = UInt32(bitPattern: referenceTime) & 0xFF_FFFF
  var fci: [UInt8] = [UInt8(base >> 8), UInt8(base & 0xFF), UInt8(packets.count >> 8), UInt8(packets.count & 0xFF),
                      UInt8(ref >> 16), UInt8(ref >> 8 & 0xFF), UInt8(ref & 0xFF), feedbackCount]
  var deltas: [UInt8] = []
  var last = Int64(referenceTime) * 64_000
  var chunk: UInt16 = 0xC000
  for (i, p) in packets.enumerated() {
    var symbol: UInt16 = 0
    if let a = p.arrivalUs {
      let d = (a - last) / 250
      guard (a - last) % 250 == 0, d >= -32768, d <= 32767 else { return nil }
      if d >= 0 && d <= 255 {
        symbol = 1
        deltas.append(UInt8(d))
      } else {
        symbol = 2
        let u = UInt16(bitPattern: Int16(d))
        deltas += [UInt8(u >> 8), UInt8(u & 0xFF)]
      }
      last = a
    }
    chunk |= symbol << UInt16(2 * (6 - i % 7))
    if i % 7 == 6 || i == packets.count - 1 {
      fci += [UInt8(chunk >> 8), UInt8(chunk & 0xFF)]
      chunk = 0xC000
    }
  }
  fci += deltas
  fci += [UInt8](repeating: 0, count: (4 - fci.count % 4) % 4)
  let body = be32(sender) + be32(media) + fci
  guard body.count + 4 <= 4 * 65536 else { return nil }
  return header(0x8F, RtcpType.rtpFeedback, bodyBytes: body.count) + body
}

/// The transport-wide feedback invariants of one parsed packet (see the header).
func checkTransportFeedback(_ base: UInt16, _ referenceTime: Int32, _ packets: [TransportFeedbackPacket], datagram: Int) {
  invariant(!packets.isEmpty && packets.count <= 0xFFFF, "transport feedback packet count " + String(packets.count))
  invariant(referenceTime >= -(1 << 23) && referenceTime < 1 << 23, "24-bit reference time")
  var last = Int64(referenceTime) * 64_000
  var received = 0
  for (i, p) in packets.enumerated() {
    invariant(p.sequence == base &+ UInt16(truncatingIfNeeded: i), "transport feedback sequence")
    guard let a = p.arrivalUs else { continue }
    invariant(a - last >= -32768 * 250 && a - last <= 32767 * 250 && (a - last) % 250 == 0, "receive delta")
    last = a
    received += 1
  }
  invariant(received <= datagram, "more received packets than bytes")
}

/// The transport-wide feedback forEachRtcpPacket reads in place, in datagram order.
func inPlaceTransportFeedback(_ d: [UInt8]) -> [[TransportFeedbackPacket]] {
  var out: [[TransportFeedbackPacket]] = []
  d.withUnsafeBytes { b in
    _ = try? forEachRtcpPacket(b) { p in
      if case .transportFeedback(_, _, let f) = p { out.append(Array(f.packets)) }
    }
  }
  return out
}

/// The compound framing rule on its own: version 2, length words inside the datagram, padding
/// 1...(length - 4), at most maxRtcpPackets packets. Also returns whether every packet's type
/// is one that needs nothing more (SDES, APP, unknown types), so the parse must succeed.
func referenceFraming(_ d: [UInt8]) -> (valid: Bool, typesNeedNothing: Bool) {
  guard d.count >= 4 else { return (false, false) }
  var offset = 0
  var packets = 0
  var simple = true
  while offset < d.count {
    guard d.count - offset >= 4, packets < maxRtcpPackets, d[offset] >> 6 == 2 else { return (false, false) }
    let length = ((Int(d[offset + 2]) << 8 | Int(d[offset + 3])) + 1) * 4
    guard length <= d.count - offset else { return (false, false) }
    if d[offset] & 0x20 != 0 {
      let pad = Int(d[offset + length - 1])
      guard pad >= 1 && pad <= length - 4 else { return (false, false) }
    }
    if [200, 201, 203, 205, 206].contains(d[offset + 1]) { simple = false }
    packets += 1
    offset += length
  }
  return (true, simple)
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
  let d = fuzzInput(data, size)
  let framing = referenceFraming(d)
  guard let packets = parseBoth(d) else {
    invariant(!(framing.valid && framing.typesNeedNothing), "rejected a datagram with valid framing: " + fuzzHex(d))
    return 0
  }
  invariant(framing.valid, "accepted a datagram whose framing is invalid: " + fuzzHex(d))
  invariant(!packets.isEmpty && packets.count <= maxRtcpPackets, String(packets.count) + " packets")

  // Packet by packet.
  var offset = 0
  var one: [RtcpPacket] = []
  while offset < d.count {
    let length = (Int(loadU16(d, offset + 2)) + 1) * 4
    guard let p = parseBoth(Array(d[offset..<offset + length])) else {
      invariant(false, "packet at offset " + String(offset) + " does not parse alone")
      return 0
    }
    invariant(p.count == 1, "one packet parsed as " + String(p.count))
    one += p
    offset += length
  }
  invariant(offset == d.count && one == packets, "packet-by-packet parse differs")

  for k in 1...3 where d.count > k {
    invariant(parseBoth(Array(d.dropLast(k))) == nil, "parses with " + String(k) + " bytes cut off")
  }
  for k in 1...3 {
    invariant(parseBoth(d + [UInt8](repeating: 0x80, count: k)) == nil, "parses with " + String(k) + " bytes added")
  }
  let withSdes = parseBoth(d + [0x80, RtcpType.sdes, 0, 0])
  if packets.count < maxRtcpPackets {
    invariant(withSdes == packets + [.sdes], "appending an SDES packet changed the others")
  } else {
    invariant(withSdes == nil, "more than maxRtcpPackets packets accepted")
  }

  var arrays: [[TransportFeedbackPacket]] = []
  for p in packets {
    if case .transportFeedback(_, _, _, _, _, let fb) = p { arrays.append(fb) }
  }
  invariant(inPlaceTransportFeedback(d) == arrays, "forEachRtcpPacket's transport feedback differs")

  for p in packets {
    switch p {
    case .senderReport(let ssrc, let ntp, let rtp, let pc, let oc, let blocks):
      invariant(blocks.count <= 31, "report blocks")
      var w = ByteWriter()
      writeSenderReport(ssrc: ssrc, ntpTime: ntp, rtpTimestamp: rtp, packetCount: pc, octetCount: oc,
                        cname: "rtcam-fuzz", into: &w)
      invariant(parseBoth(w.bytes) == [.senderReport(ssrc: ssrc, ntpTime: ntp, rtpTimestamp: rtp, packetCount: pc,
                                                     octetCount: oc, blocks: []), .sdes],
                "writeSenderReport does not parse back")
      for b in blocks { invariant(b.cumulativeLost >= -(1 << 23) && b.cumulativeLost < 1 << 23, "24-bit loss") }
    case .receiverReport(_, let blocks):
      invariant(blocks.count <= 31, "report blocks")
      for b in blocks { invariant(b.cumulativeLost >= -(1 << 23) && b.cumulativeLost < 1 << 23, "24-bit loss") }
    case .nack(_, _, let lost):
      invariant(lost.count <= 17 * max(0, (d.count - 12) / 4), "NACK expands to too many sequence numbers")
    case .remb(_, let ssrcs):
      invariant(ssrcs.count <= 255, "REMB SSRC count")
    case .transportFeedback(_, _, let base, let referenceTime, _, let fb):
      checkTransportFeedback(base, referenceTime, fb, datagram: d.count)
    default:
      break
    }
    if let bytes = encode(p) {
      invariant(parseBoth(bytes) == [p], "re-encoded packet parses differently: " + fuzzHex(bytes))
    }
  }
  return 0
}

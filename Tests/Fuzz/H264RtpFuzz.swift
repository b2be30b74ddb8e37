// fuzz-target: h264
// fuzz-modules: RTP
// fuzz-sources: Tests/TestSupport/RtpHeader.swift Tests/TestSupport/H264Depacketizer.swift
// fuzz-summary: H.264 RTP send path (H264Packetizer, PacketizedFrame, RtpStream), AnnexBIterator, and the test receive side (RtpHeader, H264Depacketizer)
//
// Input: byte 0 chooses the mode.
//   bit 0 = 0: depacketizer. The rest is a sequence of RTP packets, each preceded by its 16-bit
//              big-endian length; bit 1 rewrites their sequence numbers to be consecutive (so
//              mutations get past the gap check).
//   bit 0 = 1: packetizer round trip. Byte 1 picks the MTU (28 + 8 * byte1), bit 1 of byte 0
//              adds the playout-delay extension (id 5), bit 2 the transport-wide sequence
//              number (id 3, stamped on every packet); the rest is an Annex-B access unit.
// Invariants:
// - RtpHeader.parse: header, payload, padding and extension ranges lie inside the packet;
// - AnnexBIterator: ranges ascending, inside the buffer, non-empty, each right after a start
//   code, none containing a start code or ending in a zero byte;
// - depacketizer: an access unit only on a marker packet, Annex-B with 4-byte start codes,
//   within maxAccessUnit; lostPackets never decreases; a completed access unit made only of
//   NAL types 1...23 survives packetizing and depacketizing again unchanged;
// - packetizer: packets within the MTU, valid RTP (version 2, payload type, SSRC, timestamp,
//   consecutive sequence numbers, marker on the last only, each extension iff configured, the
//   transport-wide numbers stamped consecutive), counters add up; depacketized they give exactly the access unit's NAL units (plus the cached
//   SPS/PPS it re-sends ahead of an IDR that lacks them), twice in a row.
@testable import RTP
import Wire

func checkAnnexB(_ b: [UInt8]) -> [[UInt8]] {
  var nals: [[UInt8]] = []
  var last = 0
  b.withUnsafeBytes { buf in
    for nal in AnnexBIterator(buf) {
      invariant(nal.offset >= last + 3 && nal.length > 0 && nal.offset + nal.length <= b.count, "NAL range")
      invariant(b[nal.offset - 3] == 0 && b[nal.offset - 2] == 0 && b[nal.offset - 1] == 1, "NAL not after a start code")
      let n = Array(b[nal.offset..<nal.offset + nal.length])
      invariant(n.last != 0, "NAL ends in a zero byte")
      var i = 0
      while i + 2 < n.count {
        invariant(!(n[i] == 0 && n[i + 1] == 0 && n[i + 2] == 1), "NAL contains a start code")
        i += 1
      }
      nals.append(n)
      last = nal.offset + nal.length
    }
  }
  return nals
}

func checkHeader(_ p: [UInt8]) -> RtpHeader? {
  guard let h = try? RtpHeader.parse(p) else { return nil }
  invariant(h.version == 2 && h.headerLength >= 12 && h.headerLength <= p.count, "header length")
  invariant(h.paddingLength >= 0 && h.headerLength + h.paddingLength <= p.count, "padding")
  let r = h.payloadRange(packetLength: p.count)
  invariant(r.lowerBound == h.headerLength && r.upperBound <= p.count, "payload range")
  if h.extension {
    invariant(h.extensionOffset >= 16 && h.extensionOffset + h.extensionLength == h.headerLength, "extension range")
    for id: UInt8 in 1...15 {
      if let e = h.oneByteExtension(id: id, in: p) {
        invariant(e.lowerBound >= h.extensionOffset && e.upperBound <= h.headerLength && !e.isEmpty, "extension element range")
      }
    }
  }
  return h
}

func annexB(_ nals: [[UInt8]]) -> [UInt8] { nals.flatMap { [0, 0, 0, 1] + $0 } }

/// Packetizes `au` (twice, as consecutive frames) and checks the packets and their depacketizing.
func roundTrip(_ au: [UInt8], mtu: Int, playout: Bool, transport: Bool = false) {
  let nals = checkAnnexB(au)
  let ext: UInt8? = playout ? 5 : nil
  // the send path: the access unit cut once, each packet written with one receiver's header
  var payloads = H264Packetizer()
  var stream = RtpStream(ssrc: 0xCAFE_F00D, payloadType: 102, initialSequence: 65530, timestampOffset: 0,
    playoutDelayExtensionID: ext, transportSequenceExtensionID: transport ? 3 : nil)
  // one-byte extension block: 4 bytes of header, 4 per element alone, 8 for both
  let headerLength = 12 + (playout || transport ? 8 : 0) + (playout && transport ? 4 : 0)
  var transportSequence: UInt16 = 0
  invariant(stream.headerLength == headerLength, "header length")
  let packetMTU = max(mtu, headerLength + 16)
  let cut = PacketizedFrame(maxPayload: packetMTU - headerLength, byteCapacity: au.count * 2 + 4096, packetCapacity: 8192)

  // What the depacketizer should give: the NALs, after the cached parameter sets if re-sent.
  var sps: [UInt8] = [], pps: [UInt8] = []
  var sawSPS = false, sawPPS = false, needs = false
  for n in nals {
    switch n[0] & 0x1F {
    case NalType.sps: sps = n; sawSPS = true
    case NalType.pps: pps = n; sawPPS = true
    case NalType.idrSlice: if !(sawSPS && sawPPS) { needs = true }
    default: break
    }
  }
  var expectedNals = nals
  if needs && (!sps.isEmpty || !pps.isEmpty) { expectedNals = (sps.isEmpty ? [] : [sps]) + (pps.isEmpty ? [] : [pps]) + nals }
  let comparable = nals.allSatisfy { (1...23).contains($0[0] & 0x1F) }

  var depack = H264Depacketizer()
  var buffer = [UInt8](repeating: 0, count: packetMTU)
  var sequence: UInt16 = 65530
  for frame in 0..<2 {
    let timestamp = UInt32(90_000 * frame + 12345)
    var packets: [[UInt8]] = []
    var markers: [Bool] = []
    let before = (stream.packetCount, stream.octetCount)
    cut.reset(captureTimeNs: 0, isKeyframe: false)
    au.withUnsafeBytes { a in payloads.packetize(accessUnit: a, into: cut) }
    invariant(!cut.truncated, "the frame's storage was too small")
    buffer.withUnsafeMutableBytes { b in
      for i in 0..<cut.count {
        let length = stream.write(cut, packet: i, timestamp: timestamp, into: b)
        invariant(length > headerLength && length <= b.count, "packet length " + String(length))
        let stamped = stream.stampTransportSequence(UnsafeMutableRawBufferPointer(rebasing: b[0..<length]))
        invariant(stamped == (transport ? transportSequence : nil), "transport-wide number stamped")
        if transport { transportSequence &+= 1 }
        packets.append(Array(b[0..<length]))
        markers.append(cut.marker(i))
      }
    }
    if nals.isEmpty {
      invariant(packets.isEmpty, "packets for an access unit without NAL units")
      return
    }
    invariant(!packets.isEmpty, "no packets for an access unit with NAL units")
    invariant(stream.packetCount &- before.0 == UInt32(packets.count), "packetCount")
    invariant(stream.octetCount &- before.1 == UInt32(truncatingIfNeeded: packets.reduce(0) { $0 + $1.count - headerLength }), "octetCount")
    invariant(stream.sequence == sequence &+ UInt16(packets.count), "sequence state")
    var result: [UInt8]? = nil
    for (i, p) in packets.enumerated() {
      guard let h = checkHeader(p) else { invariant(false, "packetizer wrote an unparsable header"); return }
      invariant(h.payloadType == 102 && h.ssrc == 0xCAFE_F00D && h.timestamp == timestamp, "header fields")
      invariant(h.sequence == sequence, "sequence numbers not consecutive")
      invariant(h.marker == (i == packets.count - 1) && markers[i] == h.marker, "marker placement")
      invariant(h.extension == (playout || transport) && !h.padding && h.csrcCount == 0, "extension/padding/CSRC bits")
      invariant(h.headerLength == headerLength, "parsed header length")
      if transport {
        let r = h.oneByteExtension(id: 3, in: p)
        let expected = transportSequence &- UInt16(packets.count - i)
        invariant(r != nil && r!.count == 2 && UInt16(p[r!.lowerBound]) << 8 | UInt16(p[r!.lowerBound + 1]) == expected,
                  "transport-wide sequence element")
      }
      if playout {
        let r = h.oneByteExtension(id: 5, in: p)
        invariant(r != nil && r!.count == 3 && p[r!].allSatisfy { $0 == 0 }, "playout-delay element")
      }
      sequence &+= 1
      do {
        let au2 = try depack.push(p)
        if i < packets.count - 1 { invariant(au2 == nil, "access unit before the marker") }
        result = au2
      } catch {
        invariant(!comparable, "depacketizing our own packets failed: " + String(describing: error))
        return
      }
    }
    if comparable {
      invariant(result == annexB(expectedNals),
                "round trip changed the access unit (" + String(result?.count ?? -1) + " bytes)")
    }
  }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
  guard size >= 2 else { return 0 }
  let input = fuzzInput(data, size)
  let control = input[0]
  if control & 1 == 1 {
    roundTrip(Array(input[2...]), mtu: 28 + 8 * Int(input[1]), playout: control & 2 != 0, transport: control & 4 != 0)
    return 0
  }
  var depack = H264Depacketizer()
  var i = 1
  var sequence: UInt16 = 0
  var lost: UInt64 = 0
  while i + 2 <= input.count {
    let n = Int(input[i]) << 8 | Int(input[i + 1])
    i += 2
    var p = Array(input[i..<min(input.count, i + n)])
    i += n
    if control & 2 != 0 && p.count >= 4 {
      p[2] = UInt8(sequence >> 8)
      p[3] = UInt8(sequence & 0xFF)
      sequence &+= 1
    }
    let h = checkHeader(p)
    do {
      if let au = try depack.push(p) {
        invariant(h?.marker == true, "access unit from a packet without the marker")
        invariant(au.count >= 5 && au.count <= H264Depacketizer.maxAccessUnit, "access unit size")
        invariant(Array(au[0..<4]) == [0, 0, 0, 1], "access unit does not start with a start code")
        let nals = checkAnnexB(au)
        if nals.allSatisfy({ (1...23).contains($0[0] & 0x1F) }) && !nals.isEmpty {
          roundTrip(au, mtu: 1200, playout: false)
        }
      }
    } catch {
      invariant(h != nil || error == .truncated || error == .badVersion || error == .badPadding,
                "unparsable header gave " + String(describing: error))
    }
    invariant(depack.lostPackets >= lost, "lostPackets decreased")
    lost = depack.lostPackets
  }
  return 0
}

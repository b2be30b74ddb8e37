import Testing
import TestSupport
@testable import RTP

func nalRanges(_ bytes: [UInt8]) -> [[UInt8]] {
  bytes.withUnsafeBytes { buf in
    AnnexBIterator(buf).map { Array(bytes[$0.offset..<$0.offset + $0.length]) }
  }
}

@Suite struct AnnexBTests {
  @Test func mixedStartCodesAndTrailingZeros() {
    let bytes: [UInt8] = [
      0xAA, 0xBB,  // junk before the first start code: ignored
      0, 0, 0, 1, 0x67, 1, 2,
      0, 0, 1, 0x68, 3,
      0, 0, 0, 0, 1, 0x65, 4, 5, 6,  // extra trailing zero before a 4-byte start code
      0, 0, 1,  // empty NAL
      0, 0, 1, 0x41, 0, 7, 0, 0,  // inner single zeros kept, trailing zeros dropped
    ]
    #expect(nalRanges(bytes) == [[0x67, 1, 2], [0x68, 3], [0x65, 4, 5, 6], [0x41, 0, 7]])
  }

  @Test func degenerateInputs() {
    #expect(nalRanges([]).isEmpty)
    #expect(nalRanges([0, 0]).isEmpty)
    #expect(nalRanges([0, 0, 1]).isEmpty)
    #expect(nalRanges([0x65, 1, 2]).isEmpty)
    #expect(nalRanges([0, 0, 1, 0x09]) == [[0x09]])
    #expect(nalRanges([0, 0, 0, 0, 0, 0]).isEmpty)
  }

  @Test func startCodeSkippingFindsEveryAlignment() {
    // Put a start code at every offset after a run of filler bytes of varying values.
    for lead in 0..<8 {
      for filler: UInt8 in [0x02, 0xFF, 0x01] {
        var bytes: [UInt8] = [0, 0, 1, 0x41] + Array(repeating: filler, count: lead)
        bytes += [0, 0, 1, 0x42, 9]
        let got = nalRanges(bytes)
        #expect(got == [[0x41] + Array(repeating: filler, count: lead), [0x42, 9]],
                "lead \(lead) filler \(filler)")
      }
    }
  }
}

@Suite struct RtpHeaderTests {
  @Test func parsesCSRCsExtensionAndPadding() throws {
    var p: [UInt8] = [0xB2, 0xE0, 0x12, 0x34, 0, 0, 0, 9, 0xCA, 0xFE, 0xBA, 0xBE]
    p += [0, 0, 0, 1, 0, 0, 0, 2]  // 2 CSRCs
    p += [0xBE, 0xDE, 0, 2, 0x10, 0xAA, 0x31, 1, 2, 0, 0, 0]  // one-byte extension, 2 words
    p += [9, 9, 9]  // payload
    p += [0, 0, 3]  // padding of 3
    let h = try RtpHeader.parse(p)
    #expect(h.version == 2 && h.padding && h.extension && h.csrcCount == 2)
    #expect(h.marker && h.payloadType == 96 && h.sequence == 0x1234 && h.timestamp == 9)
    #expect(h.ssrc == 0xCAFE_BABE)
    #expect(h.headerLength == 12 + 8 + 12)
    #expect(h.paddingLength == 3)
    #expect(Array(p[h.payloadRange(packetLength: p.count)]) == [9, 9, 9])
    #expect(h.oneByteExtension(id: 1, in: p).map { Array(p[$0]) } == [0xAA])
    #expect(h.oneByteExtension(id: 3, in: p).map { Array(p[$0]) } == [1, 2])
    #expect(h.oneByteExtension(id: 4, in: p) == nil)
  }

  @Test func rejectsMalformedHeaders() {
    let base: [UInt8] = [0x80, 96, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1]
    #expect(throws: RtpError.truncated) { try RtpHeader.parse(Array(base[0..<11])) }
    #expect(throws: RtpError.badVersion) { try RtpHeader.parse([0x40] + base[1...]) }
    #expect(throws: RtpError.truncated) { try RtpHeader.parse([0x81] + base[1...]) }  // CSRC
    #expect(throws: RtpError.truncated) { try RtpHeader.parse([0x90] + base[1...]) }  // ext
    #expect(throws: RtpError.truncated) {
      try RtpHeader.parse([0x90] + base[1...] + [0xBE, 0xDE, 0, 1])
    }
    #expect(throws: RtpError.badPadding) { try RtpHeader.parse([0xA0] + base[1...] + [0]) }
    #expect(throws: RtpError.badPadding) { try RtpHeader.parse([0xA0] + base[1...] + [1, 3]) }
  }

  @Test func demultiplexesRTCP() {
    #expect(isRtcp([0x80, 200, 0, 6]))  // SR
    #expect(isRtcp([0x81, 201, 0, 7]))  // RR
    #expect(isRtcp([0x81, 206, 0, 2]))  // PLI
    #expect(isRtcp([0x80, 192]))  // lowest RTCP type
    #expect(isRtcp([0x80, 223]))  // highest
    #expect(!isRtcp([0x80, 96, 0, 1]))  // RTP PT 96
    #expect(!isRtcp([0x80, 0x80 | 96]))  // RTP PT 96 with marker
    #expect(!isRtcp([0x80, 0x80 | 111]))
    #expect(!isRtcp([0x80, 224]))
    #expect(!isRtcp([0x16, 200]))  // DTLS range
    #expect(!isRtcp([0x00, 200]))  // STUN range
    #expect(!isRtcp([0x80]))
    #expect(!isRtcp([]))
  }

  @Test func clocks() {
    #expect(rtpTimestamp90k(captureNs: 5_000, baseNs: 5_000, offset: 77) == 77)
    #expect(rtpTimestamp90k(captureNs: 1_000_000_000, baseNs: 0, offset: 0) == 90_000)
    #expect(rtpTimestamp90k(captureNs: 33_333_333, baseNs: 0, offset: 10) == 10 + 2999)
    #expect(rtpTimestamp90k(captureNs: 0, baseNs: 1_000_000_000, offset: 100_000) == 10_000)
    #expect(rtpTimestamp90k(captureNs: 0, baseNs: 1_000_000_000, offset: 0) == UInt32.max - 89_999)
    // Wraps after 2^32 / 90000 s (about 13.25 hours), like RTP timestamps.
    #expect(rtpTimestamp90k(captureNs: 1_000_000_000, baseNs: 0, offset: UInt32.max) == 89_999)
    // Large values do not overflow the intermediate product.
    let big: UInt64 = 1 << 62
    #expect(rtpTimestamp90k(captureNs: big, baseNs: 0, offset: 0)
      == UInt32(truncatingIfNeeded: big / 100_000 * 9 + big % 100_000 * 9 / 100_000))

    #expect(ntpTimestamp(unixNs: 0) == UInt64(2_208_988_800) << 32)
    #expect(ntpTimestamp(unixNs: 500_000_000) == UInt64(2_208_988_800) << 32 | 0x8000_0000)
    // 2023-11-14T22:13:20Z = Unix 1700000000 = NTP 3908988800.
    #expect(ntpTimestamp(unixNs: 1_700_000_000_250_000_000) == UInt64(3_908_988_800) << 32 | 0x4000_0000)
    #expect(compactNtp(0x1122_3344_5566_7788) == 0x3344_5566)
  }
}

@Suite struct DepacketizerTests {
  func rtp(seq: UInt16, ts: UInt32 = 1, marker: Bool, _ payload: [UInt8]) -> [UInt8] {
    [0x80, (marker ? 0x80 : 0) | 96, UInt8(seq >> 8), UInt8(seq & 0xFF),
     UInt8(ts >> 24), UInt8(ts >> 16 & 0xFF), UInt8(ts >> 8 & 0xFF), UInt8(ts & 0xFF),
     0, 0, 0, 1] + payload
  }

  @Test func reassemblesHandMadePackets() throws {
    var d = H264Depacketizer()
    #expect(try d.push(rtp(seq: 10, marker: false, [24, 0, 2, 0x67, 1, 0, 1, 0x68])) == nil)
    #expect(try d.push(rtp(seq: 11, marker: false, [0x7C, 0x85, 1, 2])) == nil)
    #expect(try d.push(rtp(seq: 12, marker: false, [0x7C, 0x05, 3])) == nil)
    let au = try d.push(rtp(seq: 13, marker: true, [0x7C, 0x45, 4]))
    #expect(au == [0, 0, 0, 1, 0x67, 1, 0, 0, 0, 1, 0x68, 0, 0, 0, 1, 0x65, 1, 2, 3, 4])
  }

  @Test func sequenceGapIsReportedAndReassemblyResumes() throws {
    var d = H264Depacketizer()
    _ = try d.push(rtp(seq: 1, ts: 1, marker: false, [0x7C, 0x85, 1]))
    #expect(throws: RtpError.sequenceGap(expected: 2, got: 4)) {
      try d.push(rtp(seq: 4, ts: 1, marker: false, [0x7C, 0x05, 3]))
    }
    #expect(d.lostPackets == 2)
    // The rest of the broken access unit is ignored, then the next one comes through.
    #expect(try d.push(rtp(seq: 5, ts: 1, marker: true, [0x7C, 0x45, 4])) == nil)
    #expect(try d.push(rtp(seq: 6, ts: 2, marker: true, [0x41, 9])) == [0, 0, 0, 1, 0x41, 9])
    // Wrap-around is not a gap.
    var w = H264Depacketizer()
    _ = try w.push(rtp(seq: 65535, marker: true, [0x41]))
    #expect(try w.push(rtp(seq: 0, ts: 2, marker: true, [0x41, 1])) == [0, 0, 0, 1, 0x41, 1])
  }

  @Test func rejectsMalformedPayloads() throws {
    var d = H264Depacketizer()
    #expect(throws: RtpError.malformedPayload) { try d.push(rtp(seq: 1, marker: true, [])) }
    #expect(throws: RtpError.malformedPayload) {  // FU-A continuation without a start
      try d.push(rtp(seq: 2, ts: 2, marker: true, [0x7C, 0x45, 4]))
    }
    #expect(throws: RtpError.malformedPayload) {  // S and E together
      try d.push(rtp(seq: 3, ts: 3, marker: true, [0x7C, 0xC5, 4]))
    }
    #expect(throws: RtpError.malformedPayload) {  // STAP-A size past the end
      try d.push(rtp(seq: 4, ts: 4, marker: true, [24, 0, 9, 0x67]))
    }
    #expect(throws: RtpError.malformedPayload) {  // STAP-A zero size
      try d.push(rtp(seq: 5, ts: 5, marker: true, [24, 0, 0]))
    }
    #expect(throws: RtpError.unsupportedNalType(25)) {
      try d.push(rtp(seq: 6, ts: 6, marker: true, [25, 1, 2]))
    }
    #expect(throws: RtpError.malformedPayload) {  // marker while a FU-A is unfinished
      try d.push(rtp(seq: 7, ts: 7, marker: true, [0x7C, 0x85, 4]))
    }
    // Still usable afterwards.
    #expect(try d.push(rtp(seq: 8, ts: 8, marker: true, [0x41, 1])) == [0, 0, 0, 1, 0x41, 1])
  }

  @Test func mutatedPacketsNeverTrap() throws {
    var p = StreamPacketizer(ssrc: 1, payloadType: 96, initialSequence: 0, mtu: 300,
                           playoutDelayExtensionID: 2)
    let au = annexB([makeNAL(type: 7, size: 20), makeNAL(type: 8, size: 5),
                     makeNAL(type: 5, size: 1000)])
    let packets = packetize(&p, au).map(\.bytes)
    var rng = TestRNG(seed: 7)
    var errors = 0
    var completed = 0
    var d = H264Depacketizer()
    for _ in 0..<20_000 {
      var pkt = packets[rng.int(0...packets.count - 1)]
      for _ in 0..<rng.int(1...4) {
        switch rng.int(0...2) {
        case 0: pkt[rng.int(0...pkt.count - 1)] = rng.byte()
        case 1: pkt = Array(pkt.prefix(rng.int(0...pkt.count)))
        default: pkt[rng.int(0...min(pkt.count - 1, 24))] ^= 1 << UInt8(rng.int(0...7))
        }
        if pkt.isEmpty { break }
      }
      do {
        if try d.push(pkt) != nil { completed += 1 }
      } catch {
        errors += 1
      }
    }
    #expect(errors > 1000)
    #expect(completed > 0)
  }
}

@Suite struct HistoryTests {
  func packet(seq: UInt16, size: Int) -> [UInt8] {
    var p: [UInt8] = [0x80, 96, UInt8(seq >> 8), UInt8(seq & 0xFF), 0, 0, 0, 0, 0, 0, 0, 1]
    for i in 0..<(size - 12) { p.append(UInt8(truncatingIfNeeded: Int(seq) &+ i)) }
    return p
  }

  func lookup(_ h: RtpHistory, _ seq: UInt16) -> [UInt8]? {
    h.withPacket(sequence: seq) { Array($0) }
  }

  @Test func storeLookupOverwrite() {
    var h = RtpHistory(slots: 4, slotSize: 100)
    for seq: UInt16 in 0..<6 {
      packet(seq: seq, size: 20 + Int(seq)).withUnsafeBytes { h.store($0) }
    }
    #expect(lookup(h, 0) == nil)  // overwritten by 4
    #expect(lookup(h, 1) == nil)  // overwritten by 5
    for seq: UInt16 in 2..<6 { #expect(lookup(h, seq) == packet(seq: seq, size: 20 + Int(seq))) }
    #expect(lookup(h, 6) == nil)
    #expect(lookup(h, 9) == nil)

    // Oversized packets are not kept and clear their slot; runts are ignored.
    packet(seq: 6, size: 101).withUnsafeBytes { h.store($0) }
    #expect(lookup(h, 6) == nil)
    #expect(lookup(h, 2) == nil)
    [UInt8](repeating: 0, count: 11).withUnsafeBytes { h.store($0) }
    #expect(lookup(h, 3) != nil)
    packet(seq: 7, size: 100).withUnsafeBytes { h.store($0) }
    #expect(lookup(h, 7)?.count == 100)

    h.removeAll()
    #expect(lookup(h, 7) == nil)
  }

  @Test func sequenceWrapWithDefaultSlots() {
    var h = RtpHistory()
    for i in 0..<600 {
      let seq = UInt16(truncatingIfNeeded: 65_300 + i)
      packet(seq: seq, size: 1200).withUnsafeBytes { h.store($0) }
    }
    #expect(lookup(h, 65_300 + 87) == nil)  // older than the last 512
    #expect(lookup(h, 65_300 + 88) == packet(seq: 65_388, size: 1200))
    #expect(lookup(h, 65_535) == packet(seq: 65_535, size: 1200))
    #expect(lookup(h, 0) == packet(seq: 0, size: 1200))
    #expect(lookup(h, 363) == packet(seq: 363, size: 1200))
    #expect(lookup(h, 364) == nil)
  }

  @Test func packetizerOutputCanBeStoredAndFound() {
    var p = StreamPacketizer(ssrc: 5, payloadType: 96, initialSequence: 100)
    var h = RtpHistory()
    let sent = packetize(&p, annexB([makeNAL(type: 5, size: 5000)]), timestamp: 0).map(\.bytes)
    for s in sent { s.withUnsafeBytes { h.store($0) } }
    #expect(sent.count == 5)
    for (i, s) in sent.enumerated() { #expect(lookup(h, 100 + UInt16(i)) == s) }
  }
}

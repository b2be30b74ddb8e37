// Transport-wide congestion control feedback (RTPFB FMT 15,
// draft-holmer-rmcat-transport-wide-cc-extensions-01 section 3.1) built by hand from the draft's
// layout, read through parseRtcp and in place; malformed ones refused; and the round-trip time
// of a report block (RFC 3550 section 6.4.1).
import Testing
import TestSupport
import Wire
@testable import RTP

/// A transport-wide feedback packet: the draft's fields in order, then zero padding to a word
/// (with `pBit`, RTCP padding as libwebrtc writes it: the P bit and the count in the last byte).
func twccPacket(sender: UInt32 = 0x0102_0304, media: UInt32 = 0x0A0B_0C0D, base: UInt16, count: UInt16,
                referenceTime: UInt32, feedbackCount: UInt8, chunks: [UInt16], deltas: [UInt8],
                pBit: Bool = false) -> [UInt8] {
  var fci: [UInt8] = [UInt8(base >> 8), UInt8(base & 0xFF), UInt8(count >> 8), UInt8(count & 0xFF),
                      UInt8(referenceTime >> 16 & 0xFF), UInt8(referenceTime >> 8 & 0xFF),
                      UInt8(referenceTime & 0xFF), feedbackCount]
  for c in chunks { fci += [UInt8(c >> 8), UInt8(c & 0xFF)] }
  fci += deltas
  let pad = (4 - fci.count % 4) % 4
  if pBit && pad > 0 {
    fci += [UInt8](repeating: 0, count: pad - 1) + [UInt8(pad)]
  } else {
    fci += [UInt8](repeating: 0, count: pad)
  }
  let body = be32(sender) + be32(media) + fci
  let words = (4 + body.count) / 4 - 1
  return [0x8F | (pBit && pad > 0 ? 0x20 : 0), 205, UInt8(words >> 8), UInt8(words & 0xFF)] + body
}

@Suite struct TransportFeedbackTests {
  /// 20 packets from 65530 (wrapping), reference time -2 (x 64 ms), feedback count 7:
  ///   run length chunk (3.1.3), symbol 01 "small delta", 3 packets: deltas 4, 0, 255
  ///   run length chunk, symbol 00 "not received", 5 packets (65533 ... 1, across the wrap)
  ///   status vector chunk (3.1.4) of seven 2-bit symbols 10 00 01 10 00 00 01:
  ///     large -400 (-100 ms), lost, small 10, large +1000, lost, lost, small 1
  ///   status vector chunk of fourteen 1-bit symbols, 5 used: 1 0 1 1 0 (deltas 2, 3, 0)
  static let chunks: [UInt16] = [0x2003, 0x0005, 0b1_1_10_00_01_10_00_00_01, 0b1_0_10110_000000000]
  static let deltas: [UInt8] = [4, 0, 255, 0xFE, 0x70, 10, 0x03, 0xE8, 1, 2, 3, 0]
  static let sample = twccPacket(base: 65530, count: 20, referenceTime: 0xFF_FFFE, feedbackCount: 7,
                                 chunks: chunks, deltas: deltas)

  /// (sequence, arrival in us) for the sample, worked out by hand from the draft: the reference
  /// time -2 * 64000 us, then each receive delta x 250 us added in turn.
  static let expected: [TransportFeedbackPacket] = [
    .init(sequence: 65530, arrivalUs: -128_000 + 1_000),
    .init(sequence: 65531, arrivalUs: -127_000),
    .init(sequence: 65532, arrivalUs: -127_000 + 63_750),
    .init(sequence: 65533, arrivalUs: nil), .init(sequence: 65534, arrivalUs: nil),
    .init(sequence: 65535, arrivalUs: nil), .init(sequence: 0, arrivalUs: nil),
    .init(sequence: 1, arrivalUs: nil),
    .init(sequence: 2, arrivalUs: -63_250 - 100_000),
    .init(sequence: 3, arrivalUs: nil),
    .init(sequence: 4, arrivalUs: -163_250 + 2_500),
    .init(sequence: 5, arrivalUs: -160_750 + 250_000),
    .init(sequence: 6, arrivalUs: nil), .init(sequence: 7, arrivalUs: nil),
    .init(sequence: 8, arrivalUs: 89_250 + 250),
    .init(sequence: 9, arrivalUs: 89_500 + 500),
    .init(sequence: 10, arrivalUs: nil),
    .init(sequence: 11, arrivalUs: 90_000 + 750),
    .init(sequence: 12, arrivalUs: 90_750),
    .init(sequence: 13, arrivalUs: nil),
  ]

  @Test func section3_1BothChunkKindsAndEverySymbol() throws {
    #expect(Self.sample.count == 4 + 8 + 8 + 8 + 12)
    #expect(try parseRtcp(Self.sample) == [.transportFeedback(
      senderSSRC: 0x0102_0304, mediaSSRC: 0x0A0B_0C0D, baseSequence: 65530, referenceTime: -2,
      feedbackCount: 7, packets: Self.expected)])
  }

  @Test func readInPlaceTheViewSaysTheSame() throws {
    var seen = 0
    var packets: [TransportFeedbackPacket] = []
    // (the Result keeps the typed throw out of withUnsafeBytes's closure, as elsewhere)
    let r = Self.sample.withUnsafeBytes { b in Result { () throws(RtcpError) in
      try forEachRtcpPacket(b) { p in
        seen += 1
        guard case .transportFeedback(let sender, let media, let f) = p else { return }
        #expect(sender == 0x0102_0304 && media == 0x0A0B_0C0D)
        #expect(f.baseSequence == 65530 && f.statusCount == 20 && f.referenceTime == -2 && f.feedbackCount == 7)
        for x in f.packets { packets.append(x) }
        // a second walk starts over
        #expect(Array(f.packets) == packets)
      }
    } }
    try r.get()
    #expect(seen == 1)
    #expect(packets == Self.expected)
  }

  @Test func referenceTimeIsSigned24Bits() throws {
    for (raw, value) in [(0x00_0000, 0), (0x00_0001, 1), (0x7F_FFFF, 8_388_607), (0x80_0000, -8_388_608), (0xFF_FFFF, -1)] as [(UInt32, Int32)] {
      let p = twccPacket(base: 1, count: 1, referenceTime: raw, feedbackCount: 0, chunks: [0x2001], deltas: [4])
      let parsed = try parseRtcp(p)
      #expect(parsed == [.transportFeedback(senderSSRC: 0x0102_0304, mediaSSRC: 0x0A0B_0C0D, baseSequence: 1,
        referenceTime: value, feedbackCount: 0, packets: [.init(sequence: 1, arrivalUs: Int64(value) * 64_000 + 1_000)])],
        "raw \(raw)")
    }
  }

  @Test func largeDeltasAtTheirLimits() throws {
    // 2-byte deltas are signed: -32768 and +32767 units of 250 us (3.1.5)
    let p = twccPacket(base: 9, count: 2, referenceTime: 100, feedbackCount: 1, chunks: [0x4002], deltas: [0x80, 0x00, 0x7F, 0xFF])
    let start: Int64 = 100 * 64_000
    #expect(try parseRtcp(p) == [.transportFeedback(senderSSRC: 0x0102_0304, mediaSSRC: 0x0A0B_0C0D, baseSequence: 9,
      referenceTime: 100, feedbackCount: 1, packets: [
        .init(sequence: 9, arrivalUs: start - 32_768 * 250),
        .init(sequence: 10, arrivalUs: start - 32_768 * 250 + 32_767 * 250),
      ])])
  }

  @Test func longRunsAndPaddingAsLibwebrtcWritesIt() throws {
    // A run of 8191 lost packets (the longest run length), then one received, with 3 bytes of
    // RTCP padding (P bit, count in the last byte).
    let p = twccPacket(base: 100, count: 8192, referenceTime: 5, feedbackCount: 2, chunks: [0x1FFF, 0x2001], deltas: [8], pBit: true)
    #expect(p[0] & 0x20 != 0 && p.last == 3)
    let parsed = try parseRtcp(p)
    guard case .transportFeedback(_, _, let base, _, _, let packets) = try #require(parsed.first) else {
      Issue.record("not transport feedback: \(parsed)")
      return
    }
    #expect(base == 100 && packets.count == 8192)
    #expect(packets.prefix(8191).allSatisfy { $0.arrivalUs == nil })
    #expect(packets.last == TransportFeedbackPacket(sequence: 100 &+ 8191, arrivalUs: 5 * 64_000 + 2_000))
    // A run of zero packets is allowed (and reports nothing); the symbols of the last chunk
    // after the count are not packets (here a reserved one) and are not read.
    let zeroRun = twccPacket(base: 1, count: 1, referenceTime: 0, feedbackCount: 0, chunks: [0x0000, 0xD003], deltas: [1])
    #expect(try parseRtcp(zeroRun) == [.transportFeedback(senderSSRC: 0x0102_0304, mediaSSRC: 0x0A0B_0C0D,
      baseSequence: 1, referenceTime: 0, feedbackCount: 0, packets: [.init(sequence: 1, arrivalUs: 250)])])
  }

  @Test func compoundWithOtherFeedback() throws {
    let rr: [UInt8] = [0x80, 201, 0, 1] + be32(1)
    let tmmbr: [UInt8] = [0x83, 205, 0, 2] + be32(1) + be32(2)  // FMT 3: not read
    let parsed = try parseRtcp(rr + Self.sample + tmmbr)
    #expect(parsed.count == 3)
    #expect(parsed[0] == .receiverReport(ssrc: 1, blocks: []))
    #expect(parsed[2] == .other(type: 205))
  }

  @Test func truncatedAndLyingFeedbackIsRefused() {
    let ok = twccPacket(base: 1, count: 2, referenceTime: 0, feedbackCount: 0, chunks: [0x2002], deltas: [1, 2])
    #expect(throws: Never.self) { try parseRtcp(ok) }
    // Without the FCI's 8 bytes (FMT 15 with only the two SSRCs).
    #expect(throws: RtcpError.truncated) { try parseRtcp([0x8F, 205, 0, 2] + be32(1) + be32(2)) }
    #expect(throws: RtcpError.truncated) { try parseRtcp([0x8F, 205, 0, 3] + be32(1) + be32(2) + [0, 1, 0, 1]) }
    // A status count larger than the chunks carry: the next "chunk" is read from the deltas and
    // its deltas would lie past the end.
    let lyingCount = twccPacket(base: 1, count: 3, referenceTime: 0, feedbackCount: 0, chunks: [0x2002], deltas: [1, 2])
    #expect(throws: RtcpError.truncated) { try parseRtcp(lyingCount) }
    #expect(throws: RtcpError.truncated) {
      try parseRtcp(twccPacket(base: 1, count: 0xFFFF, referenceTime: 0, feedbackCount: 0, chunks: [0x8000, 0x8000], deltas: []))
    }
    // Two large deltas called for, one present.
    let shortDeltas = twccPacket(base: 1, count: 2, referenceTime: 0, feedbackCount: 0, chunks: [0x4002], deltas: [0, 1])
    #expect(throws: RtcpError.truncated) { try parseRtcp(shortDeltas) }
    // The RTCP length field lying either way.
    var longer = Self.sample
    longer[3] += 1
    #expect(throws: RtcpError.badLength) { try parseRtcp(longer) }
    var shorter = Self.sample
    shorter[3] -= 1
    #expect(throws: RtcpError.truncated) { try parseRtcp(shorter) }
    // Cut anywhere: refused.
    for n in 4..<Self.sample.count {
      #expect(throws: RtcpError.self, "cut to \(n)") { try parseRtcp(Array(Self.sample.prefix(n))) }
    }
  }

  @Test func emptyFeedbackAndTheReservedSymbolAreRefused() {
    #expect(throws: RtcpError.badFeedback) {
      try parseRtcp(twccPacket(base: 1, count: 0, referenceTime: 0, feedbackCount: 0, chunks: [], deltas: []))
    }
    // symbol 11 is reserved (3.1.1): in a run length chunk, and in a 2-bit status vector
    #expect(throws: RtcpError.badFeedback) {
      try parseRtcp(twccPacket(base: 1, count: 1, referenceTime: 0, feedbackCount: 0, chunks: [0x6001], deltas: [0]))
    }
    #expect(throws: RtcpError.badFeedback) {
      try parseRtcp(twccPacket(base: 1, count: 2, referenceTime: 0, feedbackCount: 0, chunks: [0b1_1_01_11_00_00_00_00_00], deltas: [0]))
    }
  }

  @Test func aMalformedFeedbackRefusesTheWholeDatagram() {
    let pli: [UInt8] = [0x81, 206, 0, 2] + be32(1) + be32(2)
    let bad = twccPacket(base: 1, count: 1, referenceTime: 0, feedbackCount: 0, chunks: [0x6001], deltas: [0])
    var seen = 0
    let r = (pli + bad).withUnsafeBytes { b in Result { () throws(RtcpError) in try forEachRtcpPacket(b) { _ in seen += 1 } } }
    #expect(seen == 0)
    #expect(throws: RtcpError.badFeedback) { try r.get() }
  }
}

@Suite struct RoundTripTests {
  @Test func section6_4_1ArrivalLessLSRLessDLSR() {
    // RFC 3550 6.4.1's example: A = 0xb710:8000 (46864.500 s), LSR = 0xb705:2000
    // (46853.125 s), DLSR = 0x0005:4000 (5.250 s): round trip 6.125 s.
    #expect(roundTripNs(lastSenderReport: 0xB705_2000, delaySinceLastSenderReport: 0x0005_4000,
                        nowCompactNtp: 0xB710_8000) == 6_125_000_000)
    #expect(roundTripNs(lastSenderReport: 0x1000_0000, delaySinceLastSenderReport: 0,
                        nowCompactNtp: 0x1000_4000) == 250_000_000)
    // the 32-bit fields wrap
    #expect(roundTripNs(lastSenderReport: 0xFFFF_0000, delaySinceLastSenderReport: 0x0001_0000,
                        nowCompactNtp: 0x0000_8000) == 500_000_000)
  }

  @Test func noReportNegativeOrAbsurdIsNil() {
    #expect(roundTripNs(lastSenderReport: 0, delaySinceLastSenderReport: 0, nowCompactNtp: 0x10_0000) == nil)
    #expect(roundTripNs(lastSenderReport: 0x1_0000, delaySinceLastSenderReport: 0x2_0000, nowCompactNtp: 0x2_0000) == nil)
    #expect(roundTripNs(lastSenderReport: 0x1_0000, delaySinceLastSenderReport: 0, nowCompactNtp: 0x1_0000) == 0)
    // a minute is the most believed
    #expect(roundTripNs(lastSenderReport: 0x1_0000, delaySinceLastSenderReport: 0, nowCompactNtp: 0x1_0000 + 60 << 16)
      == 60_000_000_000)
    #expect(roundTripNs(lastSenderReport: 0x1_0000, delaySinceLastSenderReport: 0, nowCompactNtp: 0x1_0000 + 60 << 16 + 1) == nil)
    // an LSR from "the future" (now before it)
    #expect(roundTripNs(lastSenderReport: 0x2_0000, delaySinceLastSenderReport: 0, nowCompactNtp: 0x1_0000) == nil)
  }

  @Test func compactNtpIsTheMiddle32Bits() throws {
    #expect(compactNtp(0x1122_3344_5566_7788) == 0x3344_5566)
    // a sender report's NTP time comes back as the LSR of a receiver report block
    let sentNtp = ntpTimestamp(unixNs: 1_700_000_000_000_000_000)
    let lsr = compactNtp(sentNtp)
    let block = be32(9) + [0, 0, 0, 0] + be32(0) + be32(0) + be32(lsr) + be32(0x0000_8000)  // DLSR 0.5 s
    let parsed = try parseRtcp([0x81, 201, 0, 7] + be32(1) + block)
    guard case .receiverReport(_, let blocks) = try #require(parsed.first), let b = blocks.first else {
      Issue.record("no report block: \(parsed)")
      return
    }
    let now = compactNtp(ntpTimestamp(unixNs: 1_700_000_000_000_000_000 + 530_000_000))
    let rtt = try #require(roundTripNs(lastSenderReport: b.lastSenderReport,
                                       delaySinceLastSenderReport: b.delaySinceLastSenderReport, nowCompactNtp: now))
    // 30 ms, to the resolution of compact NTP (1/65536 s, about 15 us)
    #expect(rtt > 29_900_000 && rtt < 30_100_000)
  }
}

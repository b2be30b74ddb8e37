import Testing
import TestSupport
import Wire
@testable import RTP

func be32(_ v: UInt32) -> [UInt8] {
  [UInt8(v >> 24), UInt8(v >> 16 & 0xFF), UInt8(v >> 8 & 0xFF), UInt8(v & 0xFF)]
}

@Suite struct RtcpTests {
  @Test func senderReportRoundTrip() throws {
    var w = ByteWriter()
    let ntp = ntpTimestamp(unixNs: 1_700_000_000_123_456_789)
    writeSenderReport(ssrc: 0xAABB_CCDD, ntpTime: ntp, rtpTimestamp: 123_456, packetCount: 789,
                      octetCount: 1_000_000, cname: "rtcam-1", into: &w)
    let bytes = w.bytes
    // SR is 28 bytes; SDES = 4 header + 4 SSRC + 2 + 7 name + 3 padding = 20.
    #expect(bytes.count == 48)
    #expect(Array(bytes[0..<4]) == [0x80, 200, 0, 6])
    #expect(Array(bytes[28..<32]) == [0x81, 202, 0, 4])
    #expect(Array(bytes[36..<38]) == [1, 7])
    #expect(Array(bytes[38..<45]) == Array("rtcam-1".utf8))
    #expect(Array(bytes[45...]) == [0, 0, 0])
    #expect(isRtcp(bytes))
    let parsed = try parseRtcp(bytes)
    #expect(parsed == [
      .senderReport(ssrc: 0xAABB_CCDD, ntpTime: ntp, rtpTimestamp: 123_456, packetCount: 789,
                    octetCount: 1_000_000, blocks: []),
      .sdes,
    ])
  }

  @Test func sdesPaddingForEveryCnameLength() throws {
    for length in 0..<12 {
      var w = ByteWriter()
      let cname = String(repeating: "x", count: length)
      writeSenderReport(ssrc: 1, ntpTime: 2, rtpTimestamp: 3, packetCount: 4, octetCount: 5,
                        cname: cname, into: &w)
      #expect(w.bytes.count % 4 == 0)
      let sdes = Array(w.bytes[28...])
      #expect(((Int(sdes[2]) << 8 | Int(sdes[3])) + 1) * 4 == sdes.count)
      // At least one zero byte terminates the item list, at most 4.
      let padding = sdes.count - 8 - 2 - length
      #expect(padding >= 1 && padding <= 4, "length \(length)")
      #expect(sdes.suffix(padding).allSatisfy { $0 == 0 })
      #expect(try parseRtcp(w.bytes).count == 2)
    }
    // CNAMEs longer than an SDES item allows are cut to 255 bytes.
    var w = ByteWriter()
    writeSenderReport(ssrc: 1, ntpTime: 2, rtpTimestamp: 3, packetCount: 4, octetCount: 5,
                      cname: String(repeating: "y", count: 300), into: &w)
    #expect(w.bytes[37] == 255)
    #expect(try parseRtcp(w.bytes).count == 2)
  }

  @Test func byeBuilder() throws {
    var w = ByteWriter()
    writeBye(ssrc: 9, into: &w)
    #expect(w.bytes == [0x81, 203, 0, 1, 0, 0, 0, 9])
    #expect(try parseRtcp(w.bytes) == [.bye])
  }

  let sender: UInt32 = 0x0102_0304
  let media: UInt32 = 0x0A0B_0C0D

  var pli: [UInt8] { [0x81, 206, 0, 2] + be32(sender) + be32(media) }

  @Test func parsesPLI() throws {
    #expect(try parseRtcp(pli) == [.pli(senderSSRC: sender, mediaSSRC: media)])
  }

  @Test func parsesFIR() throws {
    let fir: [UInt8] = [0x84, 206, 0, 6] + be32(sender) + be32(0)
      + be32(media) + [7, 0, 0, 0] + be32(0x5555_5555) + [200, 0, 0, 0]
    #expect(try parseRtcp(fir) == [.fir(senderSSRC: sender, requests: [
      FirRequest(ssrc: media, sequence: 7), FirRequest(ssrc: 0x5555_5555, sequence: 200),
    ])])
  }

  @Test func parsesNACKExpandingPIDAndBLP() throws {
    // PID 100 with BLP bits 0, 2 and 15 -> 100, 101, 103, 116; PID 65535 with bit 0 -> 0 wraps.
    let nack: [UInt8] = [0x81, 205, 0, 4] + be32(sender) + be32(media)
      + [0, 100, 0x80, 0x05] + [0xFF, 0xFF, 0x00, 0x01]
    #expect(try parseRtcp(nack) == [
      .nack(senderSSRC: sender, mediaSSRC: media, lost: [100, 101, 103, 116, 65535, 0]),
    ])
    let allBits: [UInt8] = [0x81, 205, 0, 3] + be32(sender) + be32(media) + [0x10, 0, 0xFF, 0xFF]
    #expect(try parseRtcp(allBits) == [
      .nack(senderSSRC: sender, mediaSSRC: media, lost: (0..<17).map { 0x1000 + UInt16($0) }),
    ])
  }

  @Test func parsesReceiverReport() throws {
    let block1 = be32(media) + [0x40, 0xFF, 0xFF, 0xFF] + be32(0x0001_0005) + be32(45)
      + be32(0x1234_5678) + be32(65536)
    let block2 = be32(7) + [0, 0, 0, 3] + be32(9) + be32(0) + be32(0) + be32(0)
    let rr: [UInt8] = [0x82, 201, 0, 13] + be32(sender) + block1 + block2
    #expect(try parseRtcp(rr) == [.receiverReport(ssrc: sender, blocks: [
      ReportBlock(ssrc: media, fractionLost: 0x40, cumulativeLost: -1, highestSequence: 0x0001_0005,
                  jitter: 45, lastSenderReport: 0x1234_5678, delaySinceLastSenderReport: 65536),
      ReportBlock(ssrc: 7, fractionLost: 0, cumulativeLost: 3, highestSequence: 9, jitter: 0,
                  lastSenderReport: 0, delaySinceLastSenderReport: 0),
    ])])
    // A sender report with one block parses its block too.
    let sr: [UInt8] = [0x81, 200, 0, 12] + be32(sender) + be32(1) + be32(2) + be32(3) + be32(4)
      + be32(5) + block2
    #expect(try parseRtcp(sr) == [.senderReport(
      ssrc: sender, ntpTime: 1 << 32 | 2, rtpTimestamp: 3, packetCount: 4, octetCount: 5,
      blocks: [ReportBlock(ssrc: 7, fractionLost: 0, cumulativeLost: 3, highestSequence: 9,
                           jitter: 0, lastSenderReport: 0, delaySinceLastSenderReport: 0)])])
  }

  @Test func parsesREMB() throws {
    // exponent 3, mantissa 150000 -> 1.2 Mbit/s, two SSRCs.
    let mantissa: UInt32 = 150_000
    let remb: [UInt8] = [0x8F, 206, 0, 6] + be32(sender) + be32(0) + Array("REMB".utf8)
      + [2, UInt8(3 << 2) | UInt8(mantissa >> 16), UInt8(mantissa >> 8 & 0xFF),
         UInt8(mantissa & 0xFF)] + be32(media) + be32(42)
    #expect(try parseRtcp(remb) == [.remb(bitrate: 1_200_000, ssrcs: [media, 42])])
    // A huge exponent saturates instead of overflowing.
    var big = remb
    big[17] = 63 << 2 | 3
    #expect(try parseRtcp(big) == [.remb(bitrate: UInt64.max, ssrcs: [media, 42])])
    // Other application-layer feedback is reported as such.
    var afb = remb
    afb[12] = UInt8(ascii: "X")
    #expect(try parseRtcp(afb) == [.other(type: 206)])
  }

  @Test func parsesCompoundPackets() throws {
    let rr: [UInt8] = [0x80, 201, 0, 1] + be32(sender)
    let sdes: [UInt8] = [0x81, 202, 0, 3] + be32(sender) + [1, 2, 0x41, 0x42, 0, 0, 0, 0]
    let nack: [UInt8] = [0x81, 205, 0, 3] + be32(sender) + be32(media) + [0, 5, 0, 0]
    let app: [UInt8] = [0x80, 204, 0, 2] + be32(sender) + Array("NAME".utf8)
    // transport-layer feedback of an FMT rtcam does not read (3: TMMBR, RFC 5104)
    let tmmbr: [UInt8] = [0x83, 205, 0, 2] + be32(sender) + be32(media)
    let parsed = try parseRtcp(rr + sdes + pli + nack + app + tmmbr)
    #expect(parsed == [
      .receiverReport(ssrc: sender, blocks: []), .sdes, .pli(senderSSRC: sender, mediaSSRC: media),
      .nack(senderSSRC: sender, mediaSSRC: media, lost: [5]), .other(type: 204),
      .other(type: 205),
    ])
  }

  @Test func paddingIsHonoured() throws {
    // PLI with 4 bytes of padding (P bit set, last byte = 4).
    let padded: [UInt8] = [0xA1, 206, 0, 3] + be32(sender) + be32(media) + [0, 0, 0, 4]
    #expect(try parseRtcp(padded) == [.pli(senderSSRC: sender, mediaSSRC: media)])
    // Padding that eats into the body makes the PLI too short.
    let eaten: [UInt8] = [0xA1, 206, 0, 2] + be32(sender) + [0x0A, 0x0B, 0x0C, 4]
    #expect(throws: RtcpError.truncated) { try parseRtcp(eaten) }
  }

  @Test func malformedRTCPIsRejected() {
    #expect(throws: RtcpError.truncated) { try parseRtcp([]) }
    #expect(throws: RtcpError.truncated) { try parseRtcp([0x80, 200, 0]) }
    #expect(throws: RtcpError.badVersion) { try parseRtcp([0x40, 201, 0, 1, 0, 0, 0, 1]) }
    #expect(throws: RtcpError.badVersion) { try parseRtcp([0xC0, 201, 0, 1, 0, 0, 0, 1]) }
    // Length claims more words than present.
    #expect(throws: RtcpError.badLength) { try parseRtcp([0x80, 201, 0, 2, 0, 0, 0, 1]) }
    #expect(throws: RtcpError.badLength) { try parseRtcp(Array(pli.dropLast())) }
    // Trailing bytes after a valid packet.
    #expect(throws: RtcpError.truncated) { try parseRtcp(pli + [0x80, 201]) }
    // Second packet of a compound with the wrong version.
    #expect(throws: RtcpError.badVersion) { try parseRtcp(pli + [0x00, 201, 0, 0]) }
    // Report count larger than the body.
    #expect(throws: RtcpError.truncated) { try parseRtcp([0x81, 201, 0, 1, 0, 0, 0, 1]) }
    #expect(throws: RtcpError.truncated) { try parseRtcp([0x80, 200, 0, 1, 0, 0, 0, 1]) }
    // Feedback without both SSRCs.
    #expect(throws: RtcpError.truncated) { try parseRtcp([0x81, 206, 0, 1, 0, 0, 0, 1]) }
    #expect(throws: RtcpError.truncated) { try parseRtcp([0x81, 205, 0, 0]) }
    // REMB claiming more SSRCs than present.
    let remb: [UInt8] = [0x8F, 206, 0, 4] + be32(sender) + be32(0) + Array("REMB".utf8)
      + [3, 0, 0, 1]
    #expect(throws: RtcpError.truncated) { try parseRtcp(remb) }
    // Bad padding: zero count, and a count larger than the packet.
    #expect(throws: RtcpError.badPadding) { try parseRtcp([0xA0, 201, 0, 1, 0, 0, 0, 0]) }
    #expect(throws: RtcpError.badPadding) { try parseRtcp([0xA0, 201, 0, 1, 0, 0, 0, 9]) }
    // BYE with more SSRCs than present.
    #expect(throws: RtcpError.truncated) { try parseRtcp([0x82, 203, 0, 1, 0, 0, 0, 1]) }
  }

  @Test func outputCountIsBounded() throws {
    let bye: [UInt8] = [0x80, 203, 0, 0]
    let ok = Array([[UInt8]](repeating: bye, count: maxRtcpPackets).joined())
    #expect(try parseRtcp(ok).count == maxRtcpPackets)
    #expect(throws: RtcpError.tooManyPackets) { try parseRtcp(ok + bye) }
  }

  @Test func mutationLoopNeverTraps() {
    var w = ByteWriter()
    writeSenderReport(ssrc: 1, ntpTime: 2, rtpTimestamp: 3, packetCount: 4, octetCount: 5,
                      cname: "abc", into: &w)
    let rr: [UInt8] = [0x81, 201, 0, 7] + be32(sender) + Array(repeating: 0x11, count: 24)
    let fir: [UInt8] = [0x84, 206, 0, 4] + be32(sender) + be32(0) + be32(media) + [1, 0, 0, 0]
    let nack: [UInt8] = [0x81, 205, 0, 3] + be32(sender) + be32(media) + [0, 5, 0xFF, 0xFF]
    let remb: [UInt8] = [0x8F, 206, 0, 5] + be32(sender) + be32(0) + Array("REMB".utf8)
      + [1, 0x0C, 0x50, 0x00] + be32(media)
    let twcc = TransportFeedbackTests.sample
    let seeds = [w.bytes, rr + pli, fir + nack, remb, rr + remb + fir, twcc, rr + twcc + nack]
    var rng = TestRNG(seed: 99)
    var ok = 0
    var failed = 0
    for _ in 0..<30_000 {
      var d = seeds[rng.int(0...seeds.count - 1)]
      for _ in 0..<rng.int(1...3) {
        guard !d.isEmpty else { break }
        switch rng.int(0...3) {
        case 0: d[rng.int(0...d.count - 1)] = rng.byte()
        case 1: d = Array(d.prefix(rng.int(0...d.count)))
        case 2: d.append(contentsOf: (0..<rng.int(1...8)).map { _ in rng.byte() })
        default:
          // Hit the header fields (count, type, length) of some packet.
          let i = rng.int(0...min(d.count - 1, 3))
          d[i] ^= 1 << UInt8(rng.int(0...7))
        }
      }
      do {
        let packets = try parseRtcp(d)
        #expect(packets.count <= maxRtcpPackets)
        ok += 1
      } catch {
        failed += 1
      }
    }
    #expect(ok > 100)
    #expect(failed > 1000)
  }
}

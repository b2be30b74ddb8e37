import AllocCounter
import Testing
@testable import RTP

/// The receive path reads RTCP in place (forEachRtcpPacket): what every viewer sends all the time
/// must not allocate, and it must mean what parseRtcp's arrays say.
@Suite struct RtcpAllocationTests {
  static func be32(_ v: UInt32) -> [UInt8] { [UInt8(v >> 24), UInt8(v >> 16 & 0xFF), UInt8(v >> 8 & 0xFF), UInt8(v & 0xFF)] }

  /// A compound datagram as browsers send it: RR with two blocks, NACK, PLI, REMB, FIR.
  static var compound: [UInt8] {
    let s: UInt32 = 0x0102_0304, m: UInt32 = 0x0A0B_0C0D
    let block = be32(m) + [0x40, 0xFF, 0xFF, 0xFF] + be32(0x0001_0005) + be32(45) + be32(0x1234_5678) + be32(65536)
    let rr: [UInt8] = [0x82, 201, 0, 13] + be32(s) + block + be32(7) + [0, 0, 0, 3] + be32(9) + be32(0) + be32(0) + be32(0)
    let nack: [UInt8] = [0x81, 205, 0, 4] + be32(s) + be32(m) + [0, 100, 0x80, 0x05] + [0xFF, 0xFF, 0x00, 0x01]
    let pli: [UInt8] = [0x81, 206, 0, 2] + be32(s) + be32(m)
    let remb: [UInt8] = [0x8F, 206, 0, 5] + be32(s) + be32(0) + [0x52, 0x45, 0x4D, 0x42, 1, 0x08, 0x10, 0x00] + be32(m)
    let fir: [UInt8] = [0x84, 206, 0, 4] + be32(s) + be32(0) + be32(m) + [7, 0, 0, 0]
    return rr + nack + pli + remb + fir
  }

  @Test func readingACompoundDatagramAllocatesNothing() throws {
    let d = Self.compound
    var kinds = 0, lost = 0, blocks = 0, lastLost: UInt16 = 0
    var failure: RtcpError? = nil
    let n = d.withUnsafeBytes { b -> Int in
      alloc_counter_begin()
      do throws(RtcpError) {
        try forEachRtcpPacket(b) { p in
          kinds += 1
          switch p {
          case .receiverReport(_, let bl):
            for i in 0..<bl.count { blocks += 1; if bl.reportBlock(i).ssrc == 7 { blocks += 10 } }
          case .nack(_, _, let entries):
            for s in entries.lostSequences { lost += 1; lastLost = s }
          default: break
          }
        }
      } catch {
        failure = error
      }
      return alloc_counter_end()
    }
    #expect(failure == nil)
    #expect(n == 0, "allocations reading RTCP in place: \(n)")
    #expect(kinds == 5 && blocks == 12 && lost == 6 && lastLost == 0)
    // the same packets as parseRtcp's arrays
    let parsed = try parseRtcp(d)
    #expect(parsed.count == 5)
    #expect(parsed[1] == .nack(senderSSRC: 0x0102_0304, mediaSSRC: 0x0A0B_0C0D, lost: [100, 101, 103, 116, 65535, 0]))
    if case .remb(let bitrate, let ssrcs) = parsed[3] { #expect(bitrate == 0x1000 << 2 && ssrcs == [0x0A0B_0C0D]) }
    else { Issue.record("REMB: \(parsed[3])") }
  }

  @Test func aMalformedDatagramIsRefusedBeforeAnyPacketIsSeen() {
    // a valid PLI followed by a packet whose length runs past the end
    var d: [UInt8] = [0x81, 206, 0, 2] + Self.be32(1) + Self.be32(2)
    d += [0x81, 205, 0, 9] + Self.be32(1) + Self.be32(2)
    var seen = 0
    let r = d.withUnsafeBytes { b in Result { () throws(RtcpError) in try forEachRtcpPacket(b) { _ in seen += 1 } } }
    #expect(seen == 0)
    #expect(throws: RtcpError.badLength) { try r.get() }
  }
}

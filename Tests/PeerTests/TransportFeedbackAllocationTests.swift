import AllocCounter
import Testing
@testable import RTP

/// What bandwidth estimation adds to the per-packet paths allocates nothing: writing packets
/// with the transport-wide sequence number extension and stamping them, and reading
/// transport-wide feedback (RTPFB FMT 15) in place, packet by packet.
@Suite struct TransportFeedbackAllocationTests {
  static func be32(_ v: UInt32) -> [UInt8] { [UInt8(v >> 24), UInt8(v >> 16 & 0xFF), UInt8(v >> 8 & 0xFF), UInt8(v & 0xFF)] }

  @Test func writingAndStampingAllocatesNothing() {
    var stream = RtpStream(ssrc: 1, payloadType: 96, initialSequence: 0, timestampOffset: 0,
                           playoutDelayExtensionID: 5, transportSequenceExtensionID: 3)
    let frame = PacketizedFrame(maxPayload: 1200 - RtpStream.maxHeaderLength, byteCapacity: 1 << 16, packetCapacity: 64)
    var payloads = H264Packetizer()
    let au: [UInt8] = [0, 0, 0, 1, 0x65] + [UInt8](repeating: 0x5A, count: 5000)
    let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 1200, alignment: 8)
    defer { buffer.deallocate() }
    var stamped = 0
    var lastNumber: UInt16 = 0
    let n = au.withUnsafeBytes { a -> Int in
      alloc_counter_begin()
      frame.reset(captureTimeNs: 0, isKeyframe: true)
      payloads.packetize(accessUnit: a, into: frame)
      for i in 0..<frame.count {
        let length = stream.write(frame, packet: i, timestamp: 0, into: buffer)
        if let number = stream.stampTransportSequence(UnsafeMutableRawBufferPointer(rebasing: buffer[0..<length])) {
          stamped += 1
          lastNumber = number
        }
      }
      return alloc_counter_end()
    }
    #expect(n == 0, "allocations writing and stamping: \(n)")
    #expect(stamped == frame.count && stamped == 5)
    #expect(lastNumber == 4)
  }

  @Test func readingTransportFeedbackInPlaceAllocatesNothing() {
    // 20 packets: run length chunks (received, lost), a 2-bit and a 1-bit status vector chunk
    let fci: [UInt8] = [0xFF, 0xFA, 0, 20, 0xFF, 0xFF, 0xFE, 7, 0x20, 0x03, 0x00, 0x05, 0xE1, 0x81, 0xAC, 0x00]
      + [4, 0, 255, 0xFE, 0x70, 10, 0x03, 0xE8, 1, 2, 3, 0]
    let d: [UInt8] = [0x8F, 205, 0, 9] + Self.be32(1) + Self.be32(2) + fci
    var packets = 0, received = 0
    var lastArrival: Int64 = 0
    var failure: RtcpError? = nil
    let n = d.withUnsafeBytes { b -> Int in
      alloc_counter_begin()
      do throws(RtcpError) {
        try forEachRtcpPacket(b) { p in
          guard case .transportFeedback(_, _, let f) = p else { return }
          for x in f.packets {
            packets += 1
            if let a = x.arrivalUs {
              received += 1
              lastArrival = a
            }
          }
        }
      } catch {
        failure = error
      }
      return alloc_counter_end()
    }
    #expect(failure == nil)
    #expect(n == 0, "allocations reading transport feedback in place: \(n)")
    #expect(packets == 20 && received == 10 && lastArrival == 90_750)
  }
}

// The transport-wide sequence number header extension
// (draft-holmer-rmcat-transport-wide-cc-extensions-01 section 2) in rtcam's RFC 8285 one-byte
// header extension block, alone and next to playout-delay, and its stamping at send time.
import Testing
import TestSupport
@testable import RTP

@Suite struct TransportSequenceTests {
  /// Packets of one IDR of `size` bytes written by `stream` with at most `mtu` bytes each.
  func write(_ stream: inout RtpStream, nalSize: Int = 3000, mtu: Int = 1200) -> [[UInt8]] {
    let frame = PacketizedFrame(maxPayload: mtu - RtpStream.maxHeaderLength, byteCapacity: 1 << 16, packetCapacity: 64)
    frame.reset(captureTimeNs: 0, isKeyframe: true)
    var payloads = H264Packetizer()
    annexB([makeNAL(type: 5, size: nalSize)]).withUnsafeBytes { payloads.packetize(accessUnit: $0, into: frame) }
    let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: mtu, alignment: 8)
    defer { buffer.deallocate() }
    var out: [[UInt8]] = []
    for i in 0..<frame.count {
      let n = stream.write(frame, packet: i, timestamp: 90_000, into: buffer)
      out.append(Array(buffer[0..<n]))
    }
    return out
  }

  /// `packet` stamped by `stream`, and the number it got.
  func stamp(_ stream: inout RtpStream, _ packet: [UInt8]) -> ([UInt8], UInt16?) {
    var p = packet
    let n = p.withUnsafeMutableBytes { stream.stampTransportSequence($0) }
    return (p, n)
  }

  @Test func aloneItIsOneWordWithOnePaddingByte() throws {
    var s = RtpStream(ssrc: 1, payloadType: 96, initialSequence: 10, timestampOffset: 0, transportSequenceExtensionID: 3)
    #expect(s.transportSequenceExtensionID == 3 && s.playoutDelayExtensionID == nil)
    #expect(s.headerLength == 20)
    let packets = write(&s)
    #expect(packets.count == 3)
    for p in packets {
      #expect(p[0] == 0x90, "V=2, X=1")
      // 0xBEDE, 1 word: element ID 3 with L=1 (2 bytes), the number (0 until stamped), padding
      #expect(Array(p[12..<20]) == [0xBE, 0xDE, 0x00, 0x01, 0x31, 0x00, 0x00, 0x00])
      let h = try RtpHeader.parse(p)
      #expect(h.headerLength == 20)
      let r = try #require(h.oneByteExtension(id: 3, in: p))
      #expect(r == 17..<19)
      #expect(p[20] == 0x60 | 28, "FU-A right after the header")
    }
    // the octet count is payload only
    #expect(s.octetCount == UInt32(packets.reduce(0) { $0 + $1.count - 20 }))
  }

  @Test func withPlayoutDelayBothElementsShareTwoWords() throws {
    var s = RtpStream(ssrc: 1, payloadType: 96, initialSequence: 0, timestampOffset: 0,
                      playoutDelayExtensionID: 5, transportSequenceExtensionID: 2)
    #expect(s.headerLength == 24)
    #expect(RtpStream.maxHeaderLength == 24)
    let p = try #require(write(&s, nalSize: 100).first)
    #expect(Array(p[12..<24]) == [0xBE, 0xDE, 0x00, 0x02, 0x21, 0, 0, 0x52, 0, 0, 0, 0x00])
    let h = try RtpHeader.parse(p)
    #expect(h.headerLength == 24)
    #expect(h.oneByteExtension(id: 2, in: p) == 17..<19)
    #expect(h.oneByteExtension(id: 5, in: p).map { Array(p[$0]) } == [0, 0, 0])
    #expect(Array(p[24...]) == makeNAL(type: 5, size: 100))
  }

  @Test func everyLayoutFitsMaxHeaderLength() {
    for playout in [nil, UInt8(4)] as [UInt8?] {
      for transport in [nil, UInt8(9)] as [UInt8?] {
        let s = RtpStream(ssrc: 1, payloadType: 96, initialSequence: 0, timestampOffset: 0,
                          playoutDelayExtensionID: playout, transportSequenceExtensionID: transport)
        let expected = 12 + (playout == nil && transport == nil ? 0 : 4) + (playout == nil ? 0 : 4) + (transport == nil ? 0 : 4)
        #expect(s.headerLength == expected)
        #expect(s.headerLength <= RtpStream.maxHeaderLength)
      }
    }
  }

  @Test func stampingWritesConsecutiveNumbersAtTheFixedOffset() throws {
    for playout in [nil, UInt8(1)] as [UInt8?] {
      var s = RtpStream(ssrc: 7, payloadType: 96, initialSequence: 0, timestampOffset: 0,
                        playoutDelayExtensionID: playout, transportSequenceExtensionID: 14)
      let packets = write(&s)
      for (i, p) in packets.enumerated() {
        let (stamped, n) = stamp(&s, p)
        #expect(n == UInt16(i))
        let h = try RtpHeader.parse(stamped)
        let r = try #require(h.oneByteExtension(id: 14, in: stamped))
        #expect(loadBE16(stamped, r.lowerBound) == UInt16(i))
        // nothing else changes
        var back = stamped
        back[17] = 0
        back[18] = 0
        #expect(back == p)
        if playout != nil { #expect(h.oneByteExtension(id: 1, in: stamped).map { Array(stamped[$0]) } == [0, 0, 0]) }
      }
      #expect(s.transportSequence == UInt16(packets.count))
    }
  }

  @Test func aRetransmittedCopyFromTheHistoryGetsANewNumber() throws {
    var s = RtpStream(ssrc: 7, payloadType: 96, initialSequence: 500, timestampOffset: 0, transportSequenceExtensionID: 4)
    var history = RtpHistory(slots: 8, slotSize: 1200)
    let packets = write(&s)
    for p in packets {
      let (stamped, _) = stamp(&s, p)
      stamped.withUnsafeBytes { history.store($0) }
    }
    #expect(s.transportSequence == 3)
    // the history keeps what was sent (number 1); the copy goes out again as number 3
    let copy = try #require(history.withPacket(sequence: 501) { Array($0) })
    #expect(loadBE16(copy, 17) == 1)
    let (again, n) = stamp(&s, copy)
    #expect(n == 3)
    #expect(loadBE16(again, 17) == 3)
    #expect(try RtpHeader.parse(again).sequence == 501, "the RTP sequence number stays")
    #expect(history.withPacket(sequence: 501) { loadBE16(Array($0), 17) } == 1)
  }

  @Test func theNumberWraps() {
    var s = RtpStream(ssrc: 7, payloadType: 96, initialSequence: 0, timestampOffset: 0, transportSequenceExtensionID: 4)
    var p = write(&s, nalSize: 50)[0]
    var last: UInt16? = nil
    p.withUnsafeMutableBytes { b in
      for _ in 0..<65_537 { last = s.stampTransportSequence(b) }
    }
    #expect(last == 0)
    #expect(loadBE16(p, 17) == 0)
    #expect(s.transportSequence == 1)
  }

  @Test func nothingIsStampedWithoutTheExtension() {
    var plain = RtpStream(ssrc: 7, payloadType: 96, initialSequence: 0, timestampOffset: 0, playoutDelayExtensionID: 4)
    let p = write(&plain, nalSize: 50)[0]
    let (same, n) = stamp(&plain, p)
    #expect(n == nil && same == p)
    #expect(plain.transportSequence == 0)

    // A stream with the extension refuses packets without its block, and short ones.
    var s = RtpStream(ssrc: 7, payloadType: 96, initialSequence: 0, timestampOffset: 0, transportSequenceExtensionID: 3)
    let (foreign, m) = stamp(&s, p)  // playout-delay element (ID 4) where ours would be
    #expect(m == nil && foreign == p)
    let own = write(&s, nalSize: 50)[0]
    #expect(stamp(&s, Array(own[0..<19])).1 == nil)
    #expect(s.transportSequence == 0)
    #expect(stamp(&s, own).1 == 0)
  }

  @Test func invalidOrCollidingIDsDisableTheExtension() {
    for id: UInt8 in [0, 15, 16, 255] {
      let s = RtpStream(ssrc: 1, payloadType: 96, initialSequence: 0, timestampOffset: 0, transportSequenceExtensionID: id)
      #expect(s.transportSequenceExtensionID == nil, "id \(id)")
      #expect(s.headerLength == 12)
    }
    // one ID for both: playout-delay keeps it (RFC 8285: an ID names one extension)
    let same = RtpStream(ssrc: 1, payloadType: 96, initialSequence: 0, timestampOffset: 0,
                         playoutDelayExtensionID: 6, transportSequenceExtensionID: 6)
    #expect(same.playoutDelayExtensionID == 6 && same.transportSequenceExtensionID == nil)
    #expect(same.headerLength == 20)
  }
}

/// Big-endian 16 bits of `b` at `i`.
func loadBE16(_ b: [UInt8], _ i: Int) -> UInt16 { UInt16(b[i]) << 8 | UInt16(b[i + 1]) }

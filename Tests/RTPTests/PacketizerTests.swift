import Testing
import TestSupport
@testable import RTP

@Suite struct PacketizerTests {
  let ssrc: UInt32 = 0x1122_3344

  func make(mtu: Int = 1200, ext: UInt8? = nil, seq: UInt16 = 1000) -> StreamPacketizer {
    StreamPacketizer(
      ssrc: ssrc, payloadType: 102, initialSequence: seq, mtu: mtu, playoutDelayExtensionID: ext)
  }

  @Test func smallNALIsOneSingleNALPacket() throws {
    var p = make()
    let nal = makeNAL(type: 1, nri: 2, size: 100)
    let sent = packetize(&p, annexB([nal]), timestamp: 0xDEAD_BEEF)
    #expect(sent.count == 1)
    let pkt = try #require(sent.first)
    #expect(pkt.marker)
    // Fixed header bytes: V=2, no P/X/CC; M=1, PT=102; sequence; timestamp; SSRC.
    #expect(Array(pkt.bytes[0..<12]) == [
      0x80, 0x80 | 102, 0x03, 0xE8, 0xDE, 0xAD, 0xBE, 0xEF, 0x11, 0x22, 0x33, 0x44,
    ])
    #expect(Array(pkt.bytes[12...]) == nal)
    #expect(p.sequence == 1001)
    #expect(p.packetCount == 1)
    #expect(p.octetCount == 100)
    #expect(p.lastTimestamp == 0xDEAD_BEEF)
  }

  @Test func threeByteStartCodesWork() throws {
    var p = make()
    let a = makeNAL(type: 1, size: 40)
    let b = makeNAL(type: 1, size: 50, seed: 9)
    let sent = packetize(&p, annexB([a, b], longStartCodes: false))
    #expect(sent.map { Array($0.bytes[12...]) } == [a, b])
    #expect(sent.map(\.marker) == [false, true])
  }

  @Test func spsPpsIdrBecomeStapAThenIDR() throws {
    var p = make()
    let sps = makeNAL(type: 7, nri: 3, size: 14)
    let pps = makeNAL(type: 8, nri: 2, size: 4)
    let idr = makeNAL(type: 5, nri: 3, size: 500)
    let sent = packetize(&p, annexB([sps, pps, idr]), timestamp: 90000)
    #expect(sent.count == 2)
    #expect(sent.map(\.marker) == [false, true])
    let stap = try sent[0].payload()
    // STAP-A NAL header: F=0, NRI = max(3, 2) = 3, type 24; then size-prefixed NALs.
    #expect(stap == [0x60 | 24, 0, 14] + sps + [0, 4] + pps)
    #expect(try sent[1].payload() == idr)
    for s in sent { #expect(try s.header().timestamp == 90000) }
    #expect(try sent[0].header().sequence == 1000)
    #expect(try sent[1].header().sequence == 1001)
    // Payload octets: everything after the 12-byte headers.
    #expect(p.octetCount == UInt32(stap.count + idr.count))
    #expect(p.packetCount == 2)
  }

  @Test func stapANRIIsTheMaximumOfItsUnits() throws {
    var p = make()
    let sps = makeNAL(type: 7, nri: 1, size: 10)
    let pps = makeNAL(type: 8, nri: 2, size: 5)
    let sent = packetize(&p, annexB([sps, pps]))
    #expect(sent.count == 1)
    #expect(try sent[0].payload()[0] == 0x40 | 24)
    #expect(sent[0].marker)  // the STAP-A is the last packet of this access unit
  }

  @Test func spsPpsAndLargeIDRUseFUAWithMarkerOnlyOnLast() throws {
    let mtu = 1200
    var p = make(mtu: mtu)
    let sps = makeNAL(type: 7, size: 20)
    let pps = makeNAL(type: 8, size: 6)
    let idr = makeNAL(type: 5, nri: 3, size: 3 * mtu)
    let sent = packetize(&p, annexB([sps, pps, idr]))
    #expect(try sent[0].payload()[0] & 0x1F == 24)
    let fragments = sent.dropFirst()
    #expect(fragments.count == 4)  // 3599 data bytes / 1186 per fragment
    #expect(sent.map(\.marker) == [false, false, false, false, true])
    for s in sent { #expect(s.bytes.count <= mtu) }
    var rebuilt: [UInt8] = []
    for (i, s) in fragments.enumerated() {
      let pl = try s.payload()
      #expect(pl[0] == 0x60 | 28)
      #expect(pl[1] & 0x1F == 5)
      #expect((pl[1] & 0x80 != 0) == (i == 0))
      #expect((pl[1] & 0x40 != 0) == (i == fragments.count - 1))
      rebuilt += pl[2...]
    }
    #expect(rebuilt == Array(idr[1...]))
  }

  @Test func cachedParameterSetsAreResentBeforeAnIDRThatLacksThem() throws {
    var p = make()
    let sps = makeNAL(type: 7, size: 12)
    let pps = makeNAL(type: 8, size: 4)
    let first = packetize(&p, annexB([sps, pps, makeNAL(type: 5, size: 300)]), timestamp: 1)
    let stap = try first[0].payload()

    // A P frame never gets parameter sets.
    let pFrame = packetize(&p, annexB([makeNAL(type: 1, nri: 2, size: 200)]), timestamp: 2)
    #expect(pFrame.count == 1)
    #expect(try pFrame[0].payload()[0] & 0x1F == 1)

    // An IDR alone: the cached SPS+PPS STAP-A goes first, with the IDR's timestamp.
    let idr = makeNAL(type: 5, size: 2000, seed: 5)
    let sent = packetize(&p, annexB([idr]), timestamp: 3)
    #expect(try sent[0].payload() == stap)
    #expect(try sent[0].header().timestamp == 3)
    #expect(!sent[0].marker)
    #expect(sent.count == 3)
    #expect(sent.last?.marker == true)
    #expect(try sent.map { try $0.header().sequence } == [1003, 1004, 1005])
  }

  @Test func newerParameterSetsReplaceTheCache() throws {
    var p = make()
    _ = packetize(&p, annexB([makeNAL(type: 7, size: 12), makeNAL(type: 8, size: 4),
                              makeNAL(type: 5, size: 30)]))
    let sps2 = makeNAL(type: 7, size: 16, seed: 77)
    let pps2 = makeNAL(type: 8, size: 5, seed: 77)
    _ = packetize(&p, annexB([sps2, pps2, makeNAL(type: 5, size: 30)]))
    let sent = packetize(&p, annexB([makeNAL(type: 5, size: 30)]))
    #expect(try sent[0].payload() == [0x60 | 24, 0, 16] + sps2 + [0, 5] + pps2)
  }

  @Test func idrWithoutAnyCachedParameterSetsIsSentAsIs() throws {
    var p = make()
    let idr = makeNAL(type: 5, size: 50)
    let sent = packetize(&p, annexB([idr]))
    #expect(sent.count == 1)
    #expect(try sent[0].payload() == idr)
  }

  @Test func parameterSetsThatDoNotFitTogetherAreSentSeparately() throws {
    var p = make(mtu: 100)  // 88 bytes of payload
    let sps = makeNAL(type: 7, size: 60)
    let pps = makeNAL(type: 8, size: 30)
    let idr = makeNAL(type: 5, size: 20)
    let sent = packetize(&p, annexB([sps, pps, idr]))
    #expect(try sent.map { try $0.payload() } == [sps, pps, idr])
    // The cached pair is re-sent the same way.
    let again = packetize(&p, annexB([idr]))
    #expect(try again.map { try $0.payload() } == [sps, pps, idr])
  }

  /// Checks every FU-A detail for a NAL of `size` with the given MTU and extension.
  func checkFragmentation(size: Int, mtu: Int, ext: UInt8?) throws {
    var p = make(mtu: mtu, ext: ext, seq: 7)
    let nal = makeNAL(type: 5, nri: 2, size: size, seed: UInt64(size))
    let sent = packetize(&p, annexB([nal]))
    let headerLength = 12 + (ext == nil ? 0 : 8)
    let maxPayload = mtu - headerLength
    #expect(p.headerLength == headerLength)
    for s in sent { #expect(s.bytes.count <= mtu, "size \(size) mtu \(mtu)") }
    #expect(sent.map(\.marker) == Array(repeating: false, count: sent.count - 1) + [true])
    if size <= maxPayload {
      #expect(sent.count == 1, "size \(size) should be a single NAL unit packet")
      #expect(try sent[0].payload() == nal)
      return
    }
    let perFragment = maxPayload - 2
    let expectedCount = (size - 1 + perFragment - 1) / perFragment
    #expect(sent.count == expectedCount, "size \(size) mtu \(mtu)")
    var rebuilt: [UInt8] = []
    for (i, s) in sent.enumerated() {
      let h = try s.header()
      #expect(h.headerLength == headerLength)
      #expect(h.sequence == 7 &+ UInt16(i))
      let pl = try s.payload()
      #expect(pl[0] == 0x40 | 28, "FU indicator: F=0, NRI of the NAL (2), type 28")
      #expect(pl[1] & 0x20 == 0, "R bit")
      #expect(pl[1] & 0x1F == 5, "FU header carries the NAL type")
      #expect((pl[1] & 0x80 != 0) == (i == 0), "S bit only on the first fragment")
      #expect((pl[1] & 0x40 != 0) == (i == sent.count - 1), "E bit only on the last fragment")
      if i < sent.count - 1 { #expect(s.bytes.count == mtu, "non-final fragments are full") }
      rebuilt += pl[2...]
    }
    #expect(rebuilt == Array(nal[1...]))
  }

  @Test(arguments: [nil, UInt8(3)] as [UInt8?])
  func fuABoundariesAroundTheMTU(ext: UInt8?) throws {
    for mtu in [1200, 500, 64] {
      let h = 12 + (ext == nil ? 0 : 8)
      var sizes = [1, 2, mtu - 13, mtu - 12, mtu - 11, mtu - 10, mtu, mtu + 1, 3 * mtu]
      // Around the payload limit with the extension, and exact multiples of a fragment.
      sizes += [mtu - h - 1, mtu - h, mtu - h + 1, 1 + 2 * (mtu - h - 2), 2 + 2 * (mtu - h - 2)]
      for size in sizes where size >= 1 {
        try checkFragmentation(size: size, mtu: mtu, ext: ext)
      }
    }
  }

  @Test func singleNALBoundaryWithoutExtension() throws {
    var p = make()
    #expect(packetize(&p, annexB([makeNAL(type: 1, size: 1200 - 13)])).count == 1)
    #expect(packetize(&p, annexB([makeNAL(type: 1, size: 1200 - 12)])).count == 1)
    let split = packetize(&p, annexB([makeNAL(type: 1, size: 1200 - 11)]))
    #expect(split.count == 2)
    #expect(split.map { $0.bytes.count } == [1200, 12 + 2 + 2])
  }

  @Test func playoutDelayExtensionBytes() throws {
    var p = make(ext: 5)
    let nal = makeNAL(type: 1, size: 3000)
    let sent = packetize(&p, annexB([nal]))
    #expect(sent.count == 3)
    for s in sent {
      #expect(s.bytes[0] == 0x90, "V=2, X=1")
      // 0xBEDE profile, length 1 word, element ID 5 with L=2 (3 bytes), min=max=0: exactly
      // one word, so no padding bytes follow.
      #expect(Array(s.bytes[12..<20]) == [0xBE, 0xDE, 0x00, 0x01, 0x52, 0x00, 0x00, 0x00])
      let h = try s.header()
      #expect(h.extension && h.extensionProfile == 0xBEDE)
      #expect(h.headerLength == 20)
      let range = try #require(h.oneByteExtension(id: 5, in: s.bytes))
      #expect(Array(s.bytes[range]) == [0, 0, 0])
      #expect(s.bytes[20] == 0x60 | 28)
    }
    // Octet count excludes header and extension.
    #expect(p.octetCount == UInt32(sent.reduce(0) { $0 + $1.bytes.count - 20 }))
  }

  @Test func invalidExtensionIDsDisableTheExtension() {
    for id: UInt8 in [0, 15, 200] {
      let p = make(ext: id)
      #expect(p.stream.playoutDelayExtensionID == nil)
      #expect(p.headerLength == 12)
    }
  }

  @Test func sequenceWrapsAt65535() throws {
    var p = make(mtu: 200, seq: 65534)
    let sent = packetize(&p, annexB([makeNAL(type: 1, size: 600)]))
    #expect(sent.count == 4)
    #expect(try sent.map { try $0.header().sequence } == [65534, 65535, 0, 1])
    #expect(p.sequence == 2)
  }

  @Test func shortBufferLowersThePacketSize() throws {
    var p = make(mtu: 1200)
    let nal = makeNAL(type: 1, size: 2000)
    let sent = packetize(&p, annexB([nal]), bufferSize: 500)
    #expect(sent.allSatisfy { $0.bytes.count <= 500 })
    #expect(sent.count == 5)
    // A buffer too small for a header plus an FU-A byte produces nothing rather than trapping.
    var q = make()
    #expect(packetize(&q, annexB([nal]), bufferSize: 10).isEmpty)
    #expect(q.sequence == 1000)
  }

  @Test func emptyOrStartCodeFreeInputProducesNoPackets() {
    var p = make()
    #expect(packetize(&p, []).isEmpty)
    #expect(packetize(&p, [0, 0, 0, 1]).isEmpty)
    #expect(packetize(&p, [0x65, 1, 2, 3]).isEmpty)
    #expect(p.sequence == 1000 && p.packetCount == 0)
  }

  @Test func tinyMTUIsRaised() {
    let p = make(mtu: 5)
    #expect(p.mtu == 28)
  }

  /// Random access units through packetizer and depacketizer come back byte for byte.
  @Test func roundTripRandomAccessUnits() throws {
    var rng = TestRNG(seed: 42)
    for round in 0..<300 {
      let ext: UInt8? = rng.int(0...1) == 0 ? nil : 1
      let mtu = [1200, 1200, 800, 300, 64][rng.int(0...4)]
      var p = make(mtu: mtu, ext: ext, seq: UInt16(truncatingIfNeeded: rng.next()))
      var d = H264Depacketizer()
      for frame in 0..<6 {
        var nals: [[UInt8]] = []
        if frame % 3 == 0 {
          nals.append(makeNAL(type: 7, size: rng.int(5...40), seed: rng.next()))
          nals.append(makeNAL(type: 8, size: rng.int(3...10), seed: rng.next()))
          for _ in 0..<rng.int(1...3) {
            nals.append(makeNAL(type: 5, size: rng.int(1...5000), seed: rng.next()))
          }
        } else {
          for _ in 0..<rng.int(1...4) {
            nals.append(makeNAL(
              type: UInt8(rng.int(1...4)), nri: UInt8(rng.int(0...3)),
              size: rng.int(1...3 * mtu), seed: rng.next()))
          }
        }
        let ts = UInt32(truncatingIfNeeded: rng.next())
        let sent = packetize(&p, annexB(nals, longStartCodes: rng.int(0...1) == 0), timestamp: ts)
        var outputs: [[UInt8]] = []
        for s in sent {
          #expect(s.bytes.count <= mtu)
          if let au = try d.push(s.bytes) { outputs.append(au) }
        }
        #expect(outputs == [annexB(nals)], "round \(round) frame \(frame)")
      }
    }
  }
}

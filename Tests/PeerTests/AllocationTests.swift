import AllocCounter
import BWE
import TestSupport
import Capture
import DTLS
import Encoder
import ICE
@testable import Peer
import RTP
import SDP
import SRTP
import Testing
import Wire

/// The allocation-free media path: a frame fanned out to a connected viewer allocates nothing but
/// libsrtp2's own per-packet allocations; encoding allocates nothing.
@Suite struct AllocationTests {
  /// Allocations libsrtp2 itself makes per RTP protect (after its first calls, which warm up).
  static func libsrtpAllocationsPerProtect() throws -> Int {
    let a = (key: [UInt8](repeating: 1, count: 16), salt: [UInt8](repeating: 2, count: 14))
    let b = (key: [UInt8](repeating: 3, count: 16), salt: [UInt8](repeating: 4, count: 14))
    let tx = try SrtpSession(localKey: a.key, localSalt: a.salt, remoteKey: b.key, remoteSalt: b.salt)
    let buf = UnsafeMutableRawBufferPointer.allocate(byteCount: 1400, alignment: 16)
    defer { buf.deallocate() }
    var counts: [Int] = []
    for (i, size) in [100, 1200, 600, 1200, 200, 100, 1200].enumerated() {
      buf.initializeMemory(as: UInt8.self, repeating: 0)
      buf[0] = 0x80; buf[1] = 96; buf[3] = UInt8(i); buf[11] = 7
      alloc_counter_begin()
      _ = try tx.protectRtp(buf, length: size)
      counts.append(alloc_counter_end())
    }
    // constant per call whatever the packet: then it can be subtracted exactly
    let steady = Set(counts.dropFirst(2))
    try #require(steady.count == 1, "libsrtp2 allocations per protect: \(counts)")
    return steady.first!
  }

  @Test func sendingAFrameAllocatesOnlyInsideLibsrtp() throws {
    let perProtect = try Self.libsrtpAllocationsPerProtect()
    let sc = try Scenario()
    let feed = try FrameFeed(clock: { sc.now })
    try sc.connect()
    var frames: [(au: [UInt8], isKeyframe: Bool, captureNs: UInt64)] = []
    for _ in 0..<30 {
      sc.now += 33 * Time.ms
      frames.append(try feed.next())
    }
    var packets = 0
    // the core's part of a frame: cut once, then offered to the peer packet by packet
    func fanOut(_ f: (au: [UInt8], isKeyframe: Bool, captureNs: UInt64)) {
      sc.frame.reset(captureTimeNs: f.captureNs, isKeyframe: f.isKeyframe)
      f.au.withUnsafeBytes { sc.packetizer.packetize(accessUnit: $0, into: sc.frame) }
      guard sc.peer.beginFrame(sc.frame, now: sc.now) else { return }
      for i in 0..<sc.frame.count where sc.peer.mediaPacket(sc.frame, i) != nil { packets += 1 }
      sc.peer.endFrame(sc.frame, now: sc.now)
    }
    // warm up: the first frames fill the retransmission history's slots once
    for f in frames.prefix(20) { fanOut(f) }
    for f in frames.dropFirst(20) {
      let before = packets
      alloc_counter_begin()
      fanOut(f)
      let n = alloc_counter_end()
      #expect(n == (packets - before) * perProtect, "packetize, history, send: nothing but libsrtp2's own")
    }
    #expect(packets > 30)
    #expect(sc.peer.stats.framesSent == 30)
  }

  @Test func encodingAFrameAllocatesNothing() throws {
    let t = FakeTime()
    var src = TestPattern(width: 640, height: 480, fps: 30, clock: t.clock)
    let enc = try H264Encoder(EncoderSettings())
    var out: [UInt8] = []
    out.reserveCapacity(1 << 20)
    for _ in 0..<10 { _ = try enc.encode(try src.nextFrame(), into: &out) }
    for i in 0..<10 {
      let frame = try src.nextFrame()
      alloc_counter_begin()
      let e = try enc.encode(frame, forceKeyframe: i == 5, into: &out)
      let n = alloc_counter_end()
      #expect(n == 0, "allocations for one encode")
      #expect(e != nil)
    }
  }

  /// A viewer with congestion control: its packets wait in the history, leave through the pacer
  /// (`pollOutput`, with their transport-wide numbers told to the estimator), and its feedback
  /// moves the estimate: nothing allocated but libsrtp2's own, per packet sent.
  @Test func pacedSendingAndFeedbackAllocateOnlyInsideLibsrtp() throws {
    let perProtect = try Self.libsrtpAllocationsPerProtect()
    let sc = try Scenario(congestion: BandwidthEstimatorConfig(startBitrate: 2_000_000, minBitrate: 100_000,
      maxBitrate: 2_000_000), temporalLayers: 3)
    let feed = try FrameFeed(clock: { sc.now })
    try sc.connect()
    var frames: [(au: [UInt8], isKeyframe: Bool, captureNs: UInt64)] = []
    for _ in 0..<40 {
      sc.now += 33 * Time.ms
      frames.append(try feed.next())
    }
    var sent = 0
    var transport: [UInt16] = []
    func frameAndPacing(_ i: Int, _ f: (au: [UInt8], isKeyframe: Bool, captureNs: UInt64)) {
      sc.now = f.captureNs
      sc.frame.reset(captureTimeNs: f.captureNs, isKeyframe: f.isKeyframe, temporalLayer: i % 2 == 1 ? 2 : i % 4 == 2 ? 1 : 0)
      f.au.withUnsafeBytes { sc.packetizer.packetize(accessUnit: $0, into: sc.frame) }
      if sc.peer.beginFrame(sc.frame, now: sc.now) {
        for p in 0..<sc.frame.count { _ = sc.peer.mediaPacket(sc.frame, p) }
        sc.peer.endFrame(sc.frame, now: sc.now)
      }
      // the event loop: outputs, then the timers at their deadlines for the next 30 ms
      let end = sc.now + 30 * Time.ms
      while true {
        while case .transmit(let b, _) = sc.peer.pollOutput() {
          sent += 1
          if transport.count < transport.capacity { transport.append(UInt16(b[17]) << 8 | UInt16(b[18])) }
        }
        guard let d = sc.peer.nextDeadline, d <= end else { break }
        sc.now = max(sc.now, d)
        sc.peer.handleTimeout(now: sc.now, unixNs: sc.unixNs)
      }
    }
    transport.reserveCapacity(4096)
    for (i, f) in frames.prefix(20).enumerated() { frameAndPacing(i, f) }
    let report = RtcpFeedback.transportCC(senderSSRC: 1, mediaSSRC: 0x1234_5679, baseSequence: transport[0],
      feedbackCount: 1, arrivalsUs: (0..<transport.count).map { Int64($0) * 1_000 + 64_000 })
    for (i, f) in frames.dropFirst(20).enumerated() {
      let before = sent
      alloc_counter_begin()
      frameAndPacing(i + 20, f)
      let n = alloc_counter_end()
      #expect(n == (sent - before) * perProtect, "frame \(i + 20): packetize, history, pacer, send")
    }
    // feedback, read in place and fed to the estimator
    let feedbacks = sc.peer.stats.transportFeedbacks
    let n = report.withUnsafeBytes { b -> Int in
      alloc_counter_begin()
      try? forEachRtcpPacket(b) { p in
        if case .transportFeedback(_, _, let fb) = p { sc.peer.transportFeedback(fb) }
      }
      return alloc_counter_end()
    }
    #expect(n == 0, "transport feedback read in place and fed to the estimator")
    #expect(sc.peer.stats.transportFeedbacks == feedbacks + 1)
    #expect(sent > 40)
    #expect(sc.peer.stats.framesSent == 40)
  }
}

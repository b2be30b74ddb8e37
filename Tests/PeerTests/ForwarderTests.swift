import AllocCounter
import Peer
import RTP
import SRTP
import Foundation
import Testing
import TestSupport
import Wire

// --forward's core under a fake clock: what goes out on which socket, the feedback policy,
// unreachable spells and the SRTP restart a restarted receiver needs.

/// The events each forwarder reported that the test has not taken yet (drained by the wire or
/// by `takeEvents`, whichever comes first). An entry remembers its forwarder weakly: tests run in
/// parallel, and an identifier reused by a later object starts empty.
private final class ForwardEventsEntry {
  weak var owner: Forwarder?
  var events: [ForwardEvent] = []
  init(_ owner: Forwarder) { self.owner = owner }
}
nonisolated(unsafe) private var forwardEventsTable: [ObjectIdentifier: ForwardEventsEntry] = [:]
private let forwardEventsLock = NSLock()
private enum forwardEvents {
  static func withLock<R>(_ body: (inout [ObjectIdentifier: ForwardEventsEntry]) -> R) -> R {
    forwardEventsLock.lock()
    defer { forwardEventsLock.unlock() }
    return body(&forwardEventsTable)
  }
}

private func stash(_ f: Forwarder, _ e: ForwardEvent? = nil) -> [ForwardEvent] {
  forwardEvents.withLock { s in
    let id = ObjectIdentifier(f)
    var entry = s[id]
    if entry?.owner !== f {
      entry = ForwardEventsEntry(f)
      s[id] = entry
    }
    if let e { entry!.events.append(e); return [] }
    defer { entry!.events = [] }
    return entry!.events
  }
}

/// The network loop for one forwarder: the datagrams it sent, by channel, with a scripted result
/// for each send reported back as the loop does.
final class ForwardWire {
  var rtp: [[UInt8]] = []
  var rtcp: [[UInt8]] = []
  var result = ForwardSendResult.sent
  var packetizer = H264Packetizer()
  let frame = PacketizedFrame(maxPayload: 1200 - RtpStream.maxHeaderLength, byteCapacity: 1 << 20, packetCapacity: 2048)

  func record(_ f: Forwarder, _ b: UnsafeRawBufferPointer, _ ch: ForwardChannel, now: UInt64) {
    if ch == .rtp { rtp.append(Array(b)) } else { rtcp.append(Array(b)) }
    f.handleSendResult(result, channel: ch, bytes: b.count, now: now)
  }

  /// Carries out what the forwarder asks for: sends, and keeps its events for `takeEvents`.
  func drain(_ f: Forwarder, now: UInt64) {
    while true {
      switch f.pollOutput() {
      case .transmit(let b, let ch): record(f, b, ch, now: now)
      case .event(let e): _ = stash(f, e)
      case .timeout: return
      }
    }
  }

  /// One access unit as the core fans it out: cut once, offered packet by packet.
  func send(_ f: Forwarder, _ fr: (au: [UInt8], isKeyframe: Bool, captureNs: UInt64), now: UInt64) {
    frame.reset(captureTimeNs: fr.captureNs, isKeyframe: fr.isKeyframe)
    fr.au.withUnsafeBytes { packetizer.packetize(accessUnit: $0, into: frame) }
    if f.beginFrame(frame, now: now) {
      for i in 0..<frame.count {
        if let b = f.mediaPacket(frame, i) { record(f, b, .rtp, now: now) }
      }
      f.endFrame(frame, now: now)
    }
    drain(f, now: now)
  }

  func poll(_ f: Forwarder, now: UInt64, unixNs: UInt64) {
    f.handleTimeout(now: now, unixNs: unixNs)
    drain(f, now: now)
  }
}

extension Forwarder {
  /// The events reported since the last call (what a wire drained, then what is still queued).
  func takeEvents() -> [ForwardEvent] {
    while case .event(let e) = pollOutput() { _ = stash(self, e) }
    return stash(self)
  }
}

@Suite struct ForwarderTests {
  static let ms: UInt64 = 1_000_000
  /// The fake monotonic clock, shared with the frame source (capture times follow it).
  final class Clock { var now: UInt64 = 5_000_000_000 }
  let clock = Clock()
  var now: UInt64 {
    get { clock.now }
    nonmutating set { clock.now = newValue }
  }
  let unix: UInt64 = 1_723_456_789_000_000_000

  static func target(_ url: String) throws -> ForwardTarget { try ForwardTarget.parse(url) }

  static func keyText() -> String { Base64.encode((0..<30).map { UInt8($0 &* 7 &+ 3) }) }

  static func make(_ url: String, sequence: UInt16 = 1000, interval: UInt64 = 0, now: UInt64) throws -> Forwarder {
    var c = ForwardConfig(ssrc: 0x1234_5678, initialSequence: sequence, timestampOffset: 77)
    c.keyframeIntervalNs = interval
    let t = try target(url)
    if t.secure { c.srtp = try ForwardKey(base64: keyText()) }
    return try Forwarder(target: t, config: c, now: now)
  }

  static func pli(_ media: UInt32) -> [UInt8] {
    var w = ByteWriter()
    w.u8(0x81); w.u8(206); w.u16(2); w.u32(9); w.u32(media)
    return w.bytes
  }

  static func fir(_ media: UInt32) -> [UInt8] {
    var w = ByteWriter()
    w.u8(0x84); w.u8(206); w.u16(4); w.u32(9); w.u32(0); w.u32(media); w.u8(1); w.u8(0); w.u16(0)
    return w.bytes
  }

  /// A REMB (as Janus sends with its PLIs): counted, no keyframe.
  static func remb() -> [UInt8] {
    var w = ByteWriter()
    w.u8(0x8F); w.u8(206); w.u16(5); w.u32(9); w.u32(0)
    w.u8(0x52); w.u8(0x45); w.u8(0x4D); w.u8(0x42); w.u8(1); w.u8(0x0C); w.u16(0x3500); w.u32(0x1234_5678)
    return w.bytes
  }

  static func keyframeReasons(_ f: Forwarder) -> [KeyframeReason] {
    f.takeEvents().compactMap { if case .keyframeNeeded(let r) = $0 { return r } else { return nil } }
  }

  func send(_ f: Forwarder, _ frame: (au: [UInt8], isKeyframe: Bool, captureNs: UInt64), _ wire: ForwardWire) {
    wire.send(f, frame, now: now)
  }

  // MARK: URL and key

  @Test func urls() throws {
    let a = try Self.target("rtp://10.0.0.2:5004")
    #expect(a == ForwardTarget(url: "rtp://10.0.0.2:5004", secure: false, host: "10.0.0.2", port: 5004, rtcpPort: 5005))
    let b = try Self.target("srtp://[fd00::1]:6000?rtcp=6100")
    #expect(b.secure && b.host == "fd00::1" && b.port == 6000 && b.rtcpPort == 6100)
    for bad in ["http://1.2.3.4:5", "rtp://1.2.3.4", "rtp://1.2.3.4:0", "rtp://1.2.3.4:65535", "rtp://:5004",
                "rtp://[::1]5004", "rtp://::1:5004", "rtp://1.2.3.4:5004?rtcp=5004", "rtp://1.2.3.4:5004?x=1",
                "rtp://1.2.3.4:99999", "rtp://1.2.3.4:50a4"] {
      #expect(throws: ForwardError.self, "\(bad)") { try ForwardTarget.parse(bad) }
    }
  }

  @Test func keys() throws {
    let k = try ForwardKey(base64: Self.keyText())
    #expect(k.key.count == 16 && k.salt.count == 14 && k.key[1] == 10 && k.salt[0] == UInt8(16 * 7 + 3))
    #expect(throws: ForwardError.self) { try ForwardKey(base64: Base64.encode([UInt8](repeating: 1, count: 29))) }
    #expect(throws: ForwardError.self) { try ForwardKey(base64: "not base64!") }
  }

  // MARK: media

  @Test mutating func plainForwardCarriesTheAccessUnitsFromTheFirstKeyframe() throws {
    let c = clock
    let feed = try FrameFeed(clock: { c.now })
    let f = try Self.make("rtp://127.0.0.1:5004", now: now)
    #expect(Self.keyframeReasons(f) == [.forwardStarted])
    let wire = ForwardWire()
    var frames: [(au: [UInt8], isKeyframe: Bool, captureNs: UInt64)] = []
    for _ in 0..<5 { frames.append(try feed.next()) }
    #expect(frames[0].isKeyframe && !frames[1].isKeyframe)
    // an inter frame before any keyframe is held back
    send(f, frames[1], wire)
    #expect(wire.rtp.isEmpty)
    var depacketizer = H264Depacketizer()
    var got: [[UInt8]] = []
    for fr in frames {
      now += 33 * Self.ms
      send(f, fr, wire)
    }
    for p in wire.rtp {
      #expect(p[1] & 0x7F == 96 && loadU32(p, 8) == 0x1234_5678)
      if let au = try depacketizer.push(p) { got.append(au) }
    }
    var model = ParameterSetModel()
    #expect(got == frames.map { model.expected(for: $0.au) })
    #expect(f.stats.framesSent == 5 && f.stats.packetsSent == UInt64(wire.rtp.count))
    #expect(f.stats.bytesSent == UInt64(wire.rtp.reduce(0) { $0 + $1.count }))
    // sender reports: plain, once a second, on the RTCP socket
    wire.poll(f, now: now, unixNs: unix)
    wire.poll(f, now: now + 500 * Self.ms, unixNs: unix)
    wire.poll(f, now: now + 1000 * Self.ms, unixNs: unix)
    #expect(wire.rtcp.count == 2 && f.stats.senderReports == 2)
    let sr = try parseRtcp(wire.rtcp[0])
    guard case .senderReport(let ssrc, _, _, let packets, _, _) = sr.first else { Issue.record("no SR: \(sr)"); return }
    #expect(ssrc == 0x1234_5678 && packets == UInt32(wire.rtp.count))
  }

  @Test mutating func srtpForwardDecryptsWithTheKeyAndReportsInPlain() throws {
    let c = clock
    let feed = try FrameFeed(clock: { c.now })
    let f = try Self.make("srtp://127.0.0.1:5006", now: now)
    let wire = ForwardWire()
    for _ in 0..<3 { send(f, try feed.next(), wire) }
    let k = try ForwardKey(base64: Self.keyText())
    let receiver = try SrtpSession(localKey: k.key, localSalt: k.salt, remoteKey: k.key, remoteSalt: k.salt)
    #expect(wire.rtp.count > 3)
    for p in wire.rtp {
      let plain = try receiver.unprotectRtp(p)
      #expect(plain.count == p.count - 10 && loadU32(plain, 8) == 0x1234_5678)
    }
    wire.poll(f, now: now, unixNs: unix)
    #expect(try parseRtcp(wire.rtcp[0]).count == 2, "an SR and an SDES, unencrypted")
  }

  // MARK: feedback

  @Test mutating func pliAndFirAskForKeyframesAtABoundedRate() throws {
    let f = try Self.make("rtp://127.0.0.1:5004", now: now)
    _ = f.takeEvents()
    let wire = ForwardWire()
    now += 1000 * Self.ms
    Self.remb().withUnsafeBytes { f.handleRtcp($0, now: now) }
    #expect(Self.keyframeReasons(f).isEmpty && f.stats.rtcpReceived == 1 && f.lastRtcpAt == now)
    (Self.pli(0x1234_5678) + Self.remb()).withUnsafeBytes { f.handleRtcp($0, now: now) }
    #expect(Self.keyframeReasons(f) == [.pli])
    // another within the gap waits for it, and is made when it ends
    now += 100 * Self.ms
    Self.fir(0x1234_5678).withUnsafeBytes { f.handleRtcp($0, now: now) }
    #expect(Self.keyframeReasons(f).isEmpty && f.stats.firs == 1)
    #expect(f.nextDeadline == now + 400 * Self.ms)
    now += 400 * Self.ms
    wire.poll(f, now: now, unixNs: unix)
    #expect(Self.keyframeReasons(f) == [.deferred])
    // feedback about another SSRC, and malformed RTCP, ask for nothing
    now += 1000 * Self.ms
    Self.pli(0x999).withUnsafeBytes { f.handleRtcp($0, now: now) }
    [0x81, 206, 0, 9, 0, 0].withUnsafeBytes { f.handleRtcp($0, now: now) }
    #expect(Self.keyframeReasons(f).isEmpty && f.stats.badRtcp == 1 && f.stats.plis == 1)
    #expect(f.stats.keyframeRequests == 3)
  }

  @Test mutating func aKeyframeAnswersADeferredRequest() throws {
    let c = clock
    let feed = try FrameFeed(clock: { c.now })
    let f = try Self.make("rtp://127.0.0.1:5004", now: now)
    let wire = ForwardWire()
    send(f, try feed.next(), wire)
    _ = f.takeEvents()
    now += 600 * Self.ms
    Self.pli(0x1234_5678).withUnsafeBytes { f.handleRtcp($0, now: now) }
    now += 100 * Self.ms
    Self.pli(0x1234_5678).withUnsafeBytes { f.handleRtcp($0, now: now) }
    #expect(Self.keyframeReasons(f).count == 1)
    feed.requestKeyframe()
    let k = try feed.next()
    #expect(k.isKeyframe)
    send(f, k, wire)
    now += 1000 * Self.ms
    wire.poll(f, now: now, unixNs: unix)
    #expect(Self.keyframeReasons(f).isEmpty)
  }

  @Test mutating func keyframeIntervalForTargetsWithoutFeedback() throws {
    let c = clock
    let feed = try FrameFeed(clock: { c.now })
    let f = try Self.make("rtp://127.0.0.1:5004", interval: 2000 * Self.ms, now: now)
    let wire = ForwardWire()
    send(f, try feed.next(), wire)
    _ = f.takeEvents()
    #expect(f.nextDeadline == now, "the first sender report")
    wire.poll(f, now: now, unixNs: unix)
    now += 1999 * Self.ms
    wire.poll(f, now: now, unixNs: unix)
    #expect(Self.keyframeReasons(f).isEmpty)
    now += 1 * Self.ms
    wire.poll(f, now: now, unixNs: unix)
    #expect(Self.keyframeReasons(f) == [.forwardInterval])
    // not answered yet: asked again only after the request gap
    now += 100 * Self.ms
    wire.poll(f, now: now, unixNs: unix)
    #expect(Self.keyframeReasons(f).isEmpty)
    now += 400 * Self.ms
    wire.poll(f, now: now, unixNs: unix)
    #expect(Self.keyframeReasons(f) == [.forwardInterval])
  }

  // MARK: link

  @Test mutating func unreachableSpellErrorsAtABoundedRateAndSrtpRestart() throws {
    let c = clock
    let feed = try FrameFeed(clock: { c.now })
    // starts near the end of the sequence space: the sender's rollover counter is 1 after a
    // few frames, which a restarted receiver (a new SRTP context, counter 0) cannot follow
    let f = try Self.make("srtp://127.0.0.1:5006", sequence: 65_530, now: now)
    let wire = ForwardWire()
    for _ in 0..<4 { send(f, try feed.next(), wire) }
    #expect(f.nextSequence < 100, "wrapped")
    _ = f.takeEvents()
    // the target goes away: every send is refused
    wire.result = .unreachable(111)
    let downAt = now + 33 * Self.ms
    var events: [ForwardEvent] = []
    for _ in 0..<60 {
      now += 33 * Self.ms
      send(f, try feed.next(), wire)
      wire.poll(f, now: now, unixNs: unix)
      events += f.takeEvents()
    }
    #expect(f.link.name == "unreachable")
    #expect(events.filter { $0 == .unreachable(errno: 111) }.count == 1)
    func errorLines(_ e: [ForwardEvent]) -> [ForwardEvent] {
      e.filter { if case .sendErrors = $0 { return true } else { return false } }
    }
    #expect(errorLines(events).isEmpty, "the unreachable line, then the count an interval later")
    #expect(f.stats.sendErrors == f.stats.unreachableErrors && f.stats.sendErrors > 60)
    // 10 s of refusals: one line with their number
    var later: [ForwardEvent] = []
    for _ in 0..<300 {
      now += 33 * Self.ms
      send(f, try feed.next(), wire)
      wire.poll(f, now: now, unixNs: unix)
      later += f.takeEvents()
    }
    let lines = errorLines(later)
    #expect(lines.count == 1, "\(lines)")
    if case .sendErrors(let count, let errno)? = lines.first {
      #expect(errno == 111 && count > 60 && count < f.stats.sendErrors)
    }
    // it comes back: a restarted receiver has a fresh SRTP context
    wire.result = .sent
    let k = try ForwardKey(base64: Self.keyText())
    let fresh = try SrtpSession(localKey: k.key, localSalt: k.salt, remoteKey: k.key, remoteSalt: k.salt)
    wire.rtp.removeAll()
    now += 33 * Self.ms
    feed.requestKeyframe()
    send(f, try feed.next(), wire)
    #expect(throws: SrtpError.self, "old rollover counter") { try fresh.unprotectRtp(wire.rtp[0]) }
    let sequenceBefore = f.nextSequence
    // no refusal for 3 s: recovered, SRTP restarted, keyframe asked
    now += 3000 * Self.ms
    wire.poll(f, now: now, unixNs: unix)
    let after = f.takeEvents()
    #expect(after.contains(.recovered(downForNs: now - downAt, restartedSrtp: true)), "\(after)")
    #expect(after.contains(.keyframeNeeded(.forwardRecovered)))
    // the sequence numbers go on: a receiver that took packets of the old context before it
    // wrapped would refuse lower ones as replays (seen with Janus 1.1.2: srtp_err_status_replay_old)
    #expect(f.link == .sending && f.stats.recoveries == 1 && f.nextSequence == sequenceBefore)
    wire.rtp.removeAll()
    send(f, try feed.next(), wire)
    #expect(wire.rtp.isEmpty, "waits for the keyframe")
    feed.requestKeyframe()
    let kf = try feed.next()
    send(f, kf, wire)
    // the receiver that refused the old context's packets takes the restarted one's
    for p in wire.rtp { _ = try fresh.unprotectRtp(p) }
    #expect(!wire.rtp.isEmpty)
  }

  @Test mutating func anUnreachableHostKeepsTheSrtpState() throws {
    // host or network unreachable: the receiver may still run with its context; restarting ours
    // would set the rollover counter back under it
    let c = clock
    let feed = try FrameFeed(clock: { c.now })
    let f = try Self.make("srtp://127.0.0.1:5006", sequence: 65_530, now: now)
    let wire = ForwardWire()
    let k = try ForwardKey(base64: Self.keyText())
    let receiver = try SrtpSession(localKey: k.key, localSalt: k.salt, remoteKey: k.key, remoteSalt: k.salt)
    for _ in 0..<4 { send(f, try feed.next(), wire) }
    for p in wire.rtp { _ = try receiver.unprotectRtp(p) }
    wire.result = .unreachable(113)  // EHOSTUNREACH
    now += 33 * Self.ms
    send(f, try feed.next(), wire)
    wire.result = .sent
    now += 3100 * Self.ms
    wire.poll(f, now: now, unixNs: unix)
    #expect(f.takeEvents().contains(.recovered(downForNs: 3100 * Self.ms, restartedSrtp: false)))
    wire.rtp.removeAll()
    feed.requestKeyframe()
    send(f, try feed.next(), wire)
    #expect(!wire.rtp.isEmpty)
    for p in wire.rtp { _ = try receiver.unprotectRtp(p) }
  }

  @Test mutating func rtcpFromTheTargetEndsASpellAtOnce() throws {
    let c = clock
    let feed = try FrameFeed(clock: { c.now })
    let f = try Self.make("rtp://127.0.0.1:5004", now: now)
    let wire = ForwardWire()
    wire.result = .unreachable(111)
    send(f, try feed.next(), wire)
    #expect(f.link.name == "unreachable")
    now += 200 * Self.ms
    Self.remb().withUnsafeBytes { f.handleRtcp($0, now: now) }
    #expect(f.link == .sending && f.stats.recoveries == 1)
    #expect(f.takeEvents().contains(.recovered(downForNs: 200 * Self.ms, restartedSrtp: false)))
  }

  @Test mutating func fullBuffersDropWithoutMarkingTheTargetDown() throws {
    let c = clock
    let feed = try FrameFeed(clock: { c.now })
    let f = try Self.make("rtp://127.0.0.1:5004", now: now)
    let wire = ForwardWire()
    wire.result = .wouldBlock
    send(f, try feed.next(), wire)
    #expect(f.link == .sending && f.stats.wouldBlock == f.stats.sendErrors && f.stats.wouldBlock > 0)
    #expect(f.stats.packetsSent == 0)
    // a refused sender report (no RTCP port at the target) is counted apart
    wire.result = .unreachable(111)
    wire.poll(f, now: now, unixNs: unix)
    #expect(f.rtcpSendErrors == 1 && f.link == .sending)
  }

  @Test mutating func steadyStateSendsAllocateNothing() throws {
    let c = clock
    let feed = try FrameFeed(clock: { c.now })
    let f = try Self.make("rtp://127.0.0.1:5004", now: now)
    var frames: [(au: [UInt8], isKeyframe: Bool, captureNs: UInt64)] = []
    for _ in 0..<20 { frames.append(try feed.next()) }
    var packets = 0
    var payloads = H264Packetizer()
    let cut = PacketizedFrame(maxPayload: 1180, byteCapacity: 1 << 20, packetCapacity: 2048)
    for (i, fr) in frames.enumerated() {
      now += 33 * Self.ms
      // the core's part (cut once, offered packet by packet) and the loop's (each send reported)
      let n = fr.au.withUnsafeBytes { au -> Int in
        alloc_counter_begin()
        cut.reset(captureTimeNs: fr.captureNs, isKeyframe: fr.isKeyframe)
        payloads.packetize(accessUnit: au, into: cut)
        if f.beginFrame(cut, now: now) {
          for p in 0..<cut.count {
            guard let b = f.mediaPacket(cut, p) else { continue }
            packets += 1
            f.handleSendResult(.sent, channel: .rtp, bytes: b.count, now: now)
          }
          f.endFrame(cut, now: now)
        }
        return alloc_counter_end()
      }
      // after a warm-up (the first keyframe fills the parameter set caches once)
      if i >= 2 { #expect(n == 0, "allocations for one forwarded frame \(i)") }
    }
    #expect(packets > 20)
  }
}

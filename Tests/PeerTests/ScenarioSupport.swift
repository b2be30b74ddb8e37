import Capture
import BWE
import DTLS
import Encoder
import Foundation
import ICE
import Peer
import RTP
import SDP
import SRTP
import Testing
import TestSupport
import Wire

// An in-process stand-in for a browser, built from the project's own pieces (DTLS server role,
// SRTP session, STUN requests, H.264 depacketizer), wired to one rtcam `Peer` through datagrams
// passed in memory under a fake clock.

extension DatagramKind {
  static func classify(_ d: [UInt8]) -> DatagramKind { d.withUnsafeBytes { classify($0) } }
}

/// Fake-clock units.
enum Time {
  static let ms: UInt64 = 1_000_000
  static let s: UInt64 = 1_000_000_000
}

/// One datagram rtcam's peer asked to send (`PeerOutput.transmit`).
struct SentDatagram {
  var bytes: [UInt8]
  var to: SocketAddress
}

/// The H.264 parts of an access unit: NAL units without start codes, trailing zero bytes cut
/// (what `AnnexBIterator` and so the packetizer see).
func nalUnits(_ au: [UInt8]) -> [[UInt8]] {
  var out: [[UInt8]] = []
  au.withUnsafeBytes { b in
    for nal in AnnexBIterator(b) { out.append(Array(au[nal.offset..<nal.offset + nal.length])) }
  }
  return out
}

/// Joins NAL units with 4-byte start codes (the depacketizer's output form).
func annexB(_ nals: [[UInt8]]) -> [UInt8] {
  var out: [UInt8] = []
  for n in nals { out += [0, 0, 0, 1] + n }
  return out
}

/// A model of what the receiver must reassemble for an access unit the packetizer sent:
/// its NAL units, preceded by the last seen SPS and PPS if it holds an IDR slice that is not
/// preceded by both (RFC 6184 packetizer behaviour documented in `H264Packetizer.packetize`).
struct ParameterSetModel {
  var sps: [UInt8] = []
  var pps: [UInt8] = []

  mutating func expected(for au: [UInt8]) -> [UInt8] {
    let nals = nalUnits(au)
    var sawSPS = false, sawPPS = false, idrNeeds = false
    for n in nals {
      switch n[0] & 0x1F {
      case 7: sawSPS = true; sps = n
      case 8: sawPPS = true; pps = n
      case 5: if !(sawSPS && sawPPS) { idrNeeds = true }
      default: break
      }
    }
    var prefix: [[UInt8]] = []
    if idrNeeds {
      if !sps.isEmpty { prefix.append(sps) }
      if !pps.isEmpty { prefix.append(pps) }
    }
    return annexB(prefix + nals)
  }
}

/// Real encoded frames: the moving test pattern through OpenH264, captured on the scenario's
/// fake clock (unpaced: the capture time is whatever the clock says when the frame is taken).
final class FrameFeed {
  var source: TestPattern
  let encoder: H264Encoder
  var buffer: [UInt8] = []
  /// The next frame is encoded as an IDR (what a viewer's PLI leads to in rtcam).
  var keyframeRequested = false

  init(clock: @escaping () -> UInt64, width: Int = 320, height: Int = 240) throws {
    let cc = CaptureClock(monotonicNs: clock, realtimeNs: { 1_723_456_789_000_000_000 &+ clock() },
                          sleepUntil: { _ in })
    source = TestPattern(width: width, height: height, fps: 30, clock: cc, paced: false)
    encoder = try H264Encoder(EncoderSettings(width: width, height: height, fps: 30, bitrate: 600_000))
    buffer.reserveCapacity(256 * 1024)
  }

  func requestKeyframe() { keyframeRequested = true }

  /// Captures and encodes the next frame.
  func next() throws -> (au: [UInt8], isKeyframe: Bool, captureNs: UInt64) {
    let f = try source.nextFrame()
    let e = try #require(try encoder.encode(f, forceKeyframe: keyframeRequested, into: &buffer))
    keyframeRequested = false
    #expect(e.length == buffer.count)
    return (buffer, e.isKeyframe, f.captureTimeNs)
  }
}

/// RTCP feedback the browser sends (RFC 4585 / RFC 5104 layouts, written by hand here so the
/// test does not reuse the code under test).
enum BrowserRtcp {
  static let browserSSRC: UInt32 = 0x0000_0001

  static func pli(mediaSSRC: UInt32) -> [UInt8] {
    var w = ByteWriter()
    w.u8(0x81); w.u8(206); w.u16(2)
    w.u32(browserSSRC); w.u32(mediaSSRC)
    return w.bytes
  }

  static func fir(mediaSSRC: UInt32, sequence: UInt8) -> [UInt8] {
    var w = ByteWriter()
    w.u8(0x84); w.u8(206); w.u16(4)
    w.u32(browserSSRC); w.u32(0)
    w.u32(mediaSSRC); w.u8(sequence); w.u8(0); w.u16(0)
    return w.bytes
  }

  /// Generic NACK with one (PID, BLP) entry.
  static func nack(mediaSSRC: UInt32, pid: UInt16, blp: UInt16 = 0) -> [UInt8] {
    var w = ByteWriter()
    w.u8(0x81); w.u8(205); w.u16(3)
    w.u32(browserSSRC); w.u32(mediaSSRC)
    w.u16(pid); w.u16(blp)
    return w.bytes
  }

  /// Receiver report with one report block about `mediaSSRC`.
  /// `lsr` and `dlsr`: the last sender report's compact NTP time and the time since it came
  /// (1/65536 s), RFC 3550 6.4.1.
  static func receiverReport(mediaSSRC: UInt32, fractionLost: UInt8, jitter: UInt32, lsr: UInt32 = 0,
                             dlsr: UInt32 = 0) -> [UInt8] {
    var w = ByteWriter()
    w.u8(0x81); w.u8(201); w.u16(7)
    w.u32(browserSSRC)
    w.u32(mediaSSRC); w.u8(fractionLost); w.u24(3); w.u32(0x0001_0010); w.u32(jitter); w.u32(lsr); w.u32(dlsr)
    return w.bytes
  }
}

/// rtcam's `Peer` plus a browser stand-in, connected by in-memory datagrams.
final class Scenario {
  /// Fake monotonic clock (ns).
  var now: UInt64 = 1_000_000_000_000
  static let unixOffset: UInt64 = 1_723_456_789_000_000_000
  var unixNs: UInt64 { Scenario.unixOffset &+ now }

  let rtcamCert: DtlsCertificate
  let browserCert: DtlsCertificate
  let rtcamRandom: DtlsRandom
  let browserRandom: DtlsRandom
  let video: NegotiatedVideo
  let localIce: IceCredentials
  let config: PeerConfig
  let peer: Peer

  /// Where the browser's host candidate lives; `address` is where it currently sends from.
  static let browserAddress = SocketAddress(ip: [192, 168, 1, 23], port: 54_321)
  var address = Scenario.browserAddress
  let browserDtls: DtlsEndpoint
  var browserSrtp: SrtpSession?
  /// A second session with the browser's keys that decrypts every original RTP packet the
  /// peer sends (even ones the browser "loses"), to compare retransmissions with.
  var tapSrtp: SrtpSession?
  var depacketizer = H264Depacketizer()

  /// Everything the peer sent, in order.
  var sent: [SentDatagram] = []
  /// Sent but not yet delivered to the browser.
  var outbox: [SentDatagram] = []
  var peerEvents: [PeerEvent] = []
  var browserEvents: [DtlsEvent] = []
  var stunResponses: [[UInt8]] = []
  /// Raw SRTP datagrams that reached the browser, and their decryptions.
  var srtpReceived: [[UInt8]] = []
  var rtpReceived: [[UInt8]] = []
  /// Original plaintext per sequence number (decrypted by the tap session).
  var tapPlain: [UInt16: [UInt8]] = [:]
  var tapCipher: [UInt16: [UInt8]] = [:]
  var rtcpReceived: [[RtcpPacket]] = []
  var accessUnits: [[UInt8]] = []
  var depacketizerErrors: [RtpError] = []
  /// Sequence numbers the network loses on the way to the browser (once each).
  var loseOnce: Set<UInt16> = []
  /// While true, the browser reassembles RTP as it arrives; otherwise it only collects.
  var depacketizeOnArrival = true
  var rng = TestPRNG(state: 0x5EED)
  /// Decides, per DTLS datagram from the browser, whether the network loses it.
  var loseToPeer: ([UInt8]) -> Bool = { _ in false }
  /// Every DTLS datagram the browser sent, lost or not.
  var browserSent: [[UInt8]] = []
  /// The SDP answer rtcam gave to the fixture offer.
  let answerSDP: String

  /// - Parameters:
  ///   - offerFingerprintMatches: put the browser certificate's digest into the negotiated
  ///     video (as a real offer would); false keeps the fixture's unrelated fingerprint.
  ///   - congestion: the viewer's congestion control (nil: none, as before issue 19);
  ///     `feedback` false takes transport-cc and REMB out of the negotiated video.
  init(offerFingerprintMatches: Bool = true, iceTimeoutNs: UInt64 = 30_000_000_000,
       senderReportIntervalNs: UInt64 = 1_000_000_000, congestion: BandwidthEstimatorConfig? = nil,
       feedback: Bool = true, temporalLayers: UInt8 = 1) throws {
    rtcamRandom = try DtlsRandom(deterministicSeed: Array("rtcam-peer-tests".utf8))
    browserRandom = try DtlsRandom(deterministicSeed: Array("browser-standin".utf8))
    rtcamCert = try DtlsCertificate.generate(commonName: "rtcam", random: rtcamRandom)
    browserCert = try DtlsCertificate.generate(commonName: "WebRTC", random: browserRandom)

    let offer = try SdpOffer.parse(try fixture("chromium-156-recvonly-offer.sdp"))
    localIce = IceCredentials(ufrag: "rtcamUfr", password: "rtcamPasswordRtcamPasswd")
    let params = AnswerParameters(
      sessionID: 42, iceUfrag: localIce.ufrag, icePassword: localIce.password,
      fingerprintSHA256: rtcamCert.fingerprintSDP, candidates: [SocketAddress(ip: [192, 168, 1, 2], port: 8443)],
      ssrc: 0x1234_5679, cname: "rtcam", streamID: "rtcam", trackID: "camera")
    let answer = try makeAnswer(offer: offer, params)
    answerSDP = answer.sdp
    var v = answer.video
    if offerFingerprintMatches { v.remoteFingerprint = browserCert.fingerprintSHA256 }
    if !feedback {
      v.transportSequenceExtensionID = nil
      v.remb = false
    }
    video = v
    config = PeerConfig(video: v, localIce: localIce, ssrc: 0x1234_5679, cname: "rtcam",
                        initialSequence: 0xFFF0, timestampOffset: 0xFFFF_0000,
                        iceTimeoutNs: iceTimeoutNs, senderReportIntervalNs: senderReportIntervalNs,
                        congestion: congestion, temporalLayers: temporalLayers)
    peer = try Peer(id: "viewer1", config: config, certificate: rtcamCert, random: rtcamRandom, now: now)
    browserDtls = try DtlsEndpoint(
      role: .server, certificate: browserCert, random: browserRandom,
      expectedPeerFingerprint: rtcamCert.fingerprintSHA256, now: now,
      clientTransportId: Scenario.browserAddress.ip + [0xD4, 0x31])
  }

  /// A datagram the peer sends.
  func sink(_ b: UnsafeRawBufferPointer, _ to: SocketAddress) {
    let d = SentDatagram(bytes: Array(b), to: to)
    sent.append(d)
    outbox.append(d)
  }

  /// Carries out everything the peer asks for, as the event loop does after every input: its
  /// datagrams are sent, its events kept.
  func collect() {
    while true {
      switch peer.pollOutput() {
      case .transmit(let b, let to): sink(b, to)
      case .event(let e): peerEvents.append(e)
      case .timeout: return
      }
    }
  }

  /// Takes the events reported since the last call.
  func takeEvents() -> [PeerEvent] {
    collect()
    let e = peerEvents
    peerEvents.removeAll()
    return e
  }

  // MARK: browser -> rtcam

  /// Hands a datagram to the peer as if it came from `from` (default: the browser's address).
  func toPeer(_ d: [UInt8], from: SocketAddress? = nil) {
    var copy = d
    copy.withUnsafeMutableBytes { peer.handleDatagram($0, from: from ?? address, now: now) }
    collect()
  }

  /// A Binding request as Chrome sends it (controlling agent).
  func stunRequest(useCandidate: Bool, password: String? = nil, username: String? = nil,
                   transactionID: [UInt8]? = nil) -> [UInt8] {
    let tid = transactionID ?? rng.bytes(12)
    var m = StunMessage(cls: .request, transactionID: tid)
    m.append(Stun.username, Array((username ?? (localIce.ufrag + ":" + video.remoteIceUfrag)).utf8))
    m.append(Stun.priority, [0x6E, 0x7F, 0x1E, 0xFF])
    m.append(Stun.iceControlling, [0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88])
    if useCandidate { m.append(Stun.useCandidate, []) }
    return m.encode(integrityKey: Array((password ?? localIce.password).utf8), fingerprint: true)
  }

  /// Sends a connectivity check and returns the peer's response (nil if none).
  @discardableResult
  func check(useCandidate: Bool = true, from: SocketAddress? = nil, password: String? = nil) -> StunMessage? {
    let before = stunResponses.count
    let req = stunRequest(useCandidate: useCandidate, password: password)
    let source = from ?? address
    toPeer(req, from: source)
    deliver()
    guard stunResponses.count > before, let raw = stunResponses.last else { return nil }
    let resp = try? StunMessage.parse(raw)
    #expect(resp?.transactionID == Array(req[8..<20]))
    return resp
  }

  /// Protects plain RTCP with the browser's SRTCP context and hands it to the peer.
  func sendRtcp(_ plain: [UInt8]) throws {
    let srtp = try #require(browserSrtp)
    toPeer(try srtp.protectRtcp(plain))
    deliver()
  }

  // MARK: rtcam -> browser

  /// Delivers everything the peer sent to the browser, and the browser's DTLS answers back,
  /// until both sides are quiet.
  func deliver() {
    for _ in 0..<200 {
      let batch = outbox
      outbox.removeAll()
      for d in batch where d.to == address { browserReceive(d.bytes) }
      let answers = browserDtls.outgoingDatagrams()
      browserEvents += browserDtls.reportedEvents()
      installBrowserKeys()
      if answers.isEmpty && outbox.isEmpty { return }
      browserSent += answers
      for a in answers where !loseToPeer(a) { toPeer(a) }
    }
    Issue.record("delivery did not settle")
  }

  func browserReceive(_ d: [UInt8]) {
    switch DatagramKind.classify(d) {
    case .stun: stunResponses.append(d)
    case .dtls: browserDtls.receive(d, now: now)
    case .rtcp:
      guard let srtp = browserSrtp else { Issue.record("SRTCP before keys"); return }
      do {
        rtcpReceived.append(try parseRtcp(try srtp.unprotectRtcp(d)))
      } catch {
        Issue.record("browser cannot read rtcam's RTCP: \(error)")
      }
    case .rtp:
      guard let srtp = browserSrtp, let tap = tapSrtp else { Issue.record("SRTP before keys"); return }
      let seq = loadU16(d, 2)
      if tapCipher[seq] == nil {
        tapCipher[seq] = d
        tapPlain[seq] = try? tap.unprotectRtp(d)
      }
      if loseOnce.remove(seq) != nil { return }
      srtpReceived.append(d)
      do {
        let plain = try srtp.unprotectRtp(d)
        rtpReceived.append(plain)
        if depacketizeOnArrival { depacketize(plain) }
      } catch {
        Issue.record("browser cannot decrypt rtcam's RTP: \(error)")
      }
    case .unknown: Issue.record("peer sent an unclassifiable datagram")
    }
  }

  func depacketize(_ plain: [UInt8]) {
    do {
      if let au = try depacketizer.push(plain) { accessUnits.append(au) }
    } catch {
      depacketizerErrors.append(error)
    }
  }

  func installBrowserKeys() {
    guard browserSrtp == nil else { return }
    for e in browserEvents {
      if case .connected(let k) = e {
        browserSrtp = try? SrtpSession(localKey: k.localKey, localSalt: k.localSalt,
                                       remoteKey: k.remoteKey, remoteSalt: k.remoteSalt)
        tapSrtp = try? SrtpSession(localKey: k.localKey, localSalt: k.localSalt,
                                   remoteKey: k.remoteKey, remoteSalt: k.remoteSalt)
      }
    }
  }

  // MARK: rtcam's loop

  /// The frame cut once, as the core does for every sink.
  var packetizer = H264Packetizer()
  let frame = PacketizedFrame(maxPayload: 1200 - RtpStream.maxHeaderLength, byteCapacity: 1 << 20, packetCapacity: 2048)

  /// Fans one access unit out to the peer as the core does: cut once, offered to the peer as a
  /// media sink packet by packet.
  func sendFrame(_ au: [UInt8], captureNs: UInt64, isKeyframe: Bool, temporalLayer: UInt8 = 0) {
    frame.reset(captureTimeNs: captureNs, isKeyframe: isKeyframe, temporalLayer: temporalLayer)
    au.withUnsafeBytes { packetizer.packetize(accessUnit: $0, into: frame) }
    if peer.beginFrame(frame, now: now) {
      for i in 0..<frame.count {
        if let b = peer.mediaPacket(frame, i), let to = peer.remote { sink(b, to) }
      }
      peer.endFrame(frame, now: now)
    }
    collect()
    deliver()
  }

  /// Advances the clock to `t` and runs the peer's timers.
  func poll(at t: UInt64) {
    now = max(now, t)
    peer.handleTimeout(now: now, unixNs: unixNs)
    collect()
    deliver()
    // An event loop sleeps until nextDeadline and polls again when it has passed. That may
    // happen once more at the same instant (e.g. a sender report falls due on connecting),
    // but then the deadline must lie in the future, or the loop would spin.
    if peer.phase != .closed, let d = peer.nextDeadline, d <= now {
      peer.handleTimeout(now: now, unixNs: unixNs)
      collect()
      deliver()
      if peer.phase != .closed, let d2 = peer.nextDeadline, d2 <= now {
        Issue.record("nextDeadline \(d2) not after two polls at \(now) (state \(peer.phase.name))")
      }
    }
  }

  /// Everything sent since index `from` that is (S)RTP media (not RTCP).
  func rtpSent(since from: Int = 0) -> [SentDatagram] {
    sent[from...].filter { DatagramKind.classify($0.bytes) == .rtp }
  }

  /// ICE check, DTLS handshake; checks the path to `.connected`.
  func connect(sourceLocation: SourceLocation = #_sourceLocation) throws {
    let resp = try #require(check(useCandidate: true), sourceLocation: sourceLocation)
    #expect(resp.cls == .success, sourceLocation: sourceLocation)
    #expect(peer.phase == .connected, sourceLocation: sourceLocation)
    #expect(browserDtls.isConnected, sourceLocation: sourceLocation)
    _ = try #require(browserSrtp, sourceLocation: sourceLocation)
  }
}

// MARK: compact byte comparisons (a failing #expect on two frames would print kilobytes)

/// "1200 vs 1188 bytes, first difference at offset 14".
func byteDifference(_ got: [UInt8]?, _ want: [UInt8]?) -> String {
  switch (got, want) {
  case (nil, nil): return "both missing"
  case (nil, let w?): return "nothing vs \(w.count) bytes"
  case (let g?, nil): return "\(g.count) bytes vs nothing"
  case (let g?, let w?):
    var i = 0
    while i < min(g.count, w.count) && g[i] == w[i] { i += 1 }
    return "\(g.count) vs \(w.count) bytes, first difference at offset \(i)"
  }
}

/// Records an issue unless `got` and `want` are the same bytes.
func expectSameBytes(_ got: [UInt8]?, _ want: [UInt8]?, _ what: String,
                     sourceLocation: SourceLocation = #_sourceLocation) {
  guard got != want else { return }
  Issue.record("\(what) differs: \(byteDifference(got, want))", sourceLocation: sourceLocation)
}

/// Records an issue unless both lists hold the same byte strings, in order.
func expectSameBytes(_ got: [[UInt8]], _ want: [[UInt8]], _ what: String,
                     sourceLocation: SourceLocation = #_sourceLocation) {
  if got.count != want.count {
    Issue.record("\(got.count) \(what), expected \(want.count)", sourceLocation: sourceLocation)
  }
  for i in 0..<min(got.count, want.count) {
    expectSameBytes(got[i], want[i], "\(what) #\(i)", sourceLocation: sourceLocation)
  }
}

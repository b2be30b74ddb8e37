import Testing
import Wire

@testable import RTSP

/// RTSP 1.0 (RFC 2326): requests and interleaved frames cut from a connection's bytes, the
/// Transport header, and one client's session from OPTIONS to TEARDOWN.
@Suite struct RFC2326Tests {
  static func input(_ text: String, limits: RtspLimits = RtspLimits()) -> RtspInput {
    var i = RtspInput(limits: limits)
    _ = Array(text.utf8).withUnsafeBytes { i.receive($0) }
    return i
  }

  static func request(_ text: String) -> RtspRequest? {
    var i = input(text)
    if case .request(let r) = i.next() { return r }
    return nil
  }

  static let stream = RtspStreamState(sdp: rtspDescribeSdp(sessionId: "1", sps: nil, pps: nil), nextSequence: 100,
    nextTimestamp: 9000, ssrc: 0xABCD)

  // MARK: - section 6: requests

  /// What ffmpeg 5.1 sends first (libavformat/rtsp.c): OPTIONS with the stream's URL.
  @Test func anOptionsRequestIsReadWithItsCSeq() throws {
    let r = try #require(Self.request("OPTIONS rtsp://127.0.0.1:8554/stream RTSP/1.0\r\nCSeq: 1\r\nUser-Agent: Lavf59.27.100\r\n\r\n"))
    #expect(r.method == .options && r.cseq == 1 && r.path == "/stream")
    #expect(r.header("USER-AGENT") == "Lavf59.27.100")
  }

  @Test func requestsArriveInPiecesAndPipelined() {
    var i = RtspInput()
    let text = "DESCRIBE rtsp://h/stream RTSP/1.0\r\nCSeq: 2\r\nAccept: application/sdp\r\n\r\nGET_PARAMETER rtsp://h/stream RTSP/1.0\r\nCSeq: 3\r\nContent-Length: 4\r\n\r\nab\r\n"
    let bytes = Array(text.utf8)
    var got: [Int] = []
    for b in bytes {
      _ = [b].withUnsafeBytes { i.receive($0) }
      while case .request(let r) = i.next() { got.append(r.cseq) }
    }
    #expect(got == [2, 3])
  }

  @Test func emptyLinesBetweenRequestsAreSkipped() {
    var i = Self.input("\r\n\r\nOPTIONS * RTSP/1.0\r\nCSeq: 8\r\n\r\n\r\n")
    guard case .request(let r) = i.next() else { Issue.record("no request"); return }
    #expect(r.cseq == 8)
    guard case .needMore = i.next() else { Issue.record("the trailing CRLF was taken for a request"); return }
  }

  @Test func aBodyIsReadByContentLength() {
    var i = Self.input("SET_PARAMETER rtsp://h/stream RTSP/1.0\r\nCSeq: 9\r\nContent-Length: 5\r\n\r\nx: 1\n")
    guard case .request(let r) = i.next() else { Issue.record("no request"); return }
    #expect(r.method == .setParameter && r.body == Array("x: 1\n".utf8))
  }

  @Test func badRequestsGetTheirStatusAndCode() {
    let cases: [(String, Int, String)] = [
      ("GARBAGE\r\n\r\n", 400, "RTSP_BAD_REQUEST"),
      ("OPTIONS * RTSP/1.0\r\n\r\n", 400, "RTSP_NO_CSEQ"),
      ("OPTIONS * RTSP/1.0\r\nCSeq: x\r\n\r\n", 400, "RTSP_NO_CSEQ"),
      ("OPTIONS * RTSP/2.0\r\nCSeq: 4\r\n\r\n", 505, "RTSP_VERSION"),
      ("OPTIONS * RTSP/1.0\r\nCSeq: 4\r\n folded\r\n\r\n", 400, "RTSP_BAD_HEADER"),
      ("SET_PARAMETER * RTSP/1.0\r\nCSeq: 5\r\nContent-Length: 99999\r\n\r\n", 413, "RTSP_BODY_TOO_LARGE"),
      ("OPTIONS * RTSP/1.0\r\nCSeq: 5\r\nContent-Length: -1\r\n\r\n", 400, "RTSP_BAD_LENGTH"),
    ]
    for (text, status, code) in cases {
      var i = Self.input(text)
      guard case .error(let e) = i.next() else { Issue.record("\(text.debugDescription) was accepted"); continue }
      #expect(e.status == status && e.code == code, "\(text.debugDescription): \(e)")
    }
    var many = "OPTIONS * RTSP/1.0\r\nCSeq: 1\r\n"
    for k in 0..<40 { many += "X-\(k): y\r\n" }
    var i = Self.input(many + "\r\n")
    guard case .error(let e) = i.next() else { Issue.record("40 headers accepted"); return }
    #expect(e.code == "RTSP_TOO_MANY_HEADERS")
  }

  @Test func anEndlessHeadAndAFloodAreBounded() {
    var limits = RtspLimits()
    limits.maxHeadBytes = 256
    var i = Self.input("OPTIONS * RTSP/1.0\r\nCSeq: 1\r\nX: " + String(repeating: "a", count: 300), limits: limits)
    guard case .error(let e) = i.next() else { Issue.record("a 300-byte head was waited for"); return }
    #expect(e.code == "RTSP_HEAD_TOO_LARGE")
    var flood = RtspInput()
    let chunk = [UInt8](repeating: 0x41, count: 70_000)
    #expect(chunk.withUnsafeBytes { flood.receive($0) })
    #expect(!chunk.withUnsafeBytes { flood.receive($0) }, "more than two interleaved frames' worth waiting is refused")
  }

  // MARK: - section 10.12: interleaved frames

  @Test func interleavedFramesAreCutBetweenRequests() {
    var bytes: [UInt8] = [UInt8(ascii: "$"), 1, 0, 3, 0x80, 0xC9, 0x00]
    bytes += Array("GET_PARAMETER rtsp://h/stream RTSP/1.0\r\nCSeq: 7\r\n\r\n".utf8)
    bytes += [UInt8(ascii: "$"), 1, 0, 8]  // a frame whose payload has not arrived
    var i = RtspInput()
    _ = bytes.withUnsafeBytes { i.receive($0) }
    guard case .interleaved(let ch, let payload) = i.next() else { Issue.record("no frame"); return }
    #expect(ch == 1 && payload == [0x80, 0xC9, 0x00])
    guard case .request(let r) = i.next() else { Issue.record("no request"); return }
    #expect(r.cseq == 7)
    guard case .needMore = i.next() else { Issue.record("a partial frame was cut"); return }
  }

  // MARK: - section 12.39: Transport

  @Test func transportsOfFfmpegVlcAndGStreamerAreTaken() {
    #expect(RtspTransport.choose("RTP/AVP/TCP;unicast;interleaved=0-1") == .interleaved(rtp: 0, rtcp: 1))
    #expect(RtspTransport.choose("RTP/AVP/UDP;unicast;client_port=5000-5001") == .udp(rtp: 5000, rtcp: 5001))
    #expect(RtspTransport.choose("RTP/AVP;unicast;client_port=61234-61235") == .udp(rtp: 61234, rtcp: 61235))
    #expect(RtspTransport.choose("RTP/AVP/TCP;unicast") == .interleaved(rtp: 0, rtcp: 1), "the server picks 0-1")
    // GStreamer's rtspsrc offers several at once; the first usable one is taken
    #expect(RtspTransport.choose("RTP/AVP;multicast;port=5000-5001,RTP/AVP/TCP;unicast;interleaved=2-3")
      == .interleaved(rtp: 2, rtcp: 3))
    #expect(RtspTransport.choose("RTP/AVP;unicast;client_port=9000") == .udp(rtp: 9000, rtcp: 9001))
  }

  @Test func unusableTransportsAreRefused() {
    for t in ["RTP/AVP;multicast", "RTP/AVP;unicast", "RTP/SAVP;unicast;client_port=1-2", "RTP/AVP;unicast;client_port=0-1",
              "RTP/AVP/TCP;interleaved=300-301", "RTP/AVP;client_port=5-5", "", "RTP/AVP;client_port=a-b"] {
      #expect(RtspTransport.choose(t) == nil, "\(t)")
    }
  }

  @Test func theAnswerNamesTheTransportPortsAndSsrc() {
    #expect(RtspTransport.interleaved(rtp: 0, rtcp: 1).answer(serverPorts: (6970, 6971), ssrc: 0xAB)
      == "RTP/AVP/TCP;unicast;interleaved=0-1;ssrc=000000AB")
    #expect(RtspTransport.udp(rtp: 5000, rtcp: 5001).answer(serverPorts: (6970, 6971), ssrc: 0xDEADBEEF)
      == "RTP/AVP;unicast;client_port=5000-5001;server_port=6970-6971;ssrc=DEADBEEF")
  }

  // MARK: - section 10 and A.1: the session

  static func run(_ s: inout RtspSession, _ text: String, authorized: Bool = true, now: UInt64 = 0) -> [RtspAction] {
    guard let r = request(text) else {
      Issue.record("unparsable: \(text)")
      return []
    }
    return s.handle(r, authorized: authorized, stream: stream, now: now)
  }

  static func response(_ a: [RtspAction]) -> RtspResponse? {
    for x in a { if case .respond(let r) = x { return r } }
    return nil
  }

  /// What ffmpeg does with `-rtsp_transport tcp`: OPTIONS, DESCRIBE, SETUP of the track, PLAY,
  /// GET_PARAMETER keep-alives, TEARDOWN.
  @Test func aWholeSessionOverTheConnection() throws {
    var s = RtspSession(id: "5EC5", now: 0)
    let url = "rtsp://127.0.0.1:8554/stream"
    let o = try #require(Self.response(Self.run(&s, "OPTIONS \(url) RTSP/1.0\r\nCSeq: 1\r\n\r\n")))
    #expect(o.status == 200 && o.cseq == 1 && o.header("Public")?.contains("DESCRIBE") == true)

    let d = try #require(Self.response(Self.run(&s, "DESCRIBE \(url) RTSP/1.0\r\nCSeq: 2\r\nAccept: application/sdp\r\n\r\n")))
    #expect(d.status == 200 && d.header("Content-Type") == "application/sdp" && d.header("Content-Base") == url + "/")
    #expect(d.body == Self.stream.sdp)
    #expect(String(decoding: d.bytes, as: UTF8.self).contains("Content-Length: \(d.body.count)\r\n"))

    let setup = Self.run(&s, "SETUP \(url)/trackID=0 RTSP/1.0\r\nCSeq: 3\r\nTransport: RTP/AVP/TCP;unicast;interleaved=0-1\r\n\r\n")
    let st = try #require(Self.response(setup))
    #expect(st.status == 200 && st.header("Session") == "5EC5;timeout=60")
    #expect(st.header("Transport") == "RTP/AVP/TCP;unicast;interleaved=0-1;ssrc=0000ABCD")
    #expect(s.phase == .ready(.interleaved(rtp: 0, rtcp: 1)))

    let play = Self.run(&s, "PLAY \(url)/ RTSP/1.0\r\nCSeq: 4\r\nSession: 5EC5\r\nRange: npt=0.000-\r\n\r\n")
    let p = try #require(Self.response(play))
    #expect(p.status == 200 && p.header("RTP-Info") == "url=\(url)/trackID=0;seq=100;rtptime=9000")
    #expect(play.contains(.play(.interleaved(rtp: 0, rtcp: 1))))

    let keep = Self.run(&s, "GET_PARAMETER \(url)/ RTSP/1.0\r\nCSeq: 5\r\nSession: 5EC5\r\n\r\n", now: 30_000_000_000)
    #expect(Self.response(keep)?.status == 200)
    #expect(!s.expired(now: 89_000_000_000) && s.expired(now: 91_000_000_000), "60 s after the last word from it")

    let pause = Self.run(&s, "PAUSE \(url)/ RTSP/1.0\r\nCSeq: 6\r\nSession: 5EC5\r\n\r\n")
    #expect(Self.response(pause)?.status == 200 && pause.contains(.pause) && s.phase == .ready(.interleaved(rtp: 0, rtcp: 1)))

    let down = Self.run(&s, "TEARDOWN \(url)/ RTSP/1.0\r\nCSeq: 7\r\nSession: 5EC5\r\n\r\n")
    #expect(Self.response(down)?.status == 200 && down.contains(.close))
  }

  @Test func outOfOrderAndForeignRequestsGetTheRightStatus() {
    var s = RtspSession(id: "AB12", now: 0)
    let url = "rtsp://h:8554/stream"
    #expect(Self.response(Self.run(&s, "PLAY \(url) RTSP/1.0\r\nCSeq: 1\r\nSession: AB12\r\n\r\n"))?.status == 455,
      "PLAY before SETUP")
    #expect(Self.response(Self.run(&s, "PLAY \(url) RTSP/1.0\r\nCSeq: 2\r\nSession: FFFF\r\n\r\n"))?.status == 454,
      "another session")
    #expect(Self.response(Self.run(&s, "SETUP \(url) RTSP/1.0\r\nCSeq: 3\r\nTransport: RTP/AVP;multicast\r\n\r\n"))?.status
      == 461)
    #expect(Self.response(Self.run(&s, "DESCRIBE rtsp://h:8554/other RTSP/1.0\r\nCSeq: 4\r\n\r\n"))?.status == 404)
    #expect(Self.response(Self.run(&s, "RECORD \(url) RTSP/1.0\r\nCSeq: 5\r\n\r\n"))?.status == 501)
    let denied = Self.response(Self.run(&s, "DESCRIBE \(url) RTSP/1.0\r\nCSeq: 6\r\n\r\n", authorized: false))
    #expect(denied?.status == 401 && denied?.header("WWW-Authenticate") == "Basic realm=\"rtcam\"")
    #expect(Self.response(Self.run(&s, "OPTIONS * RTSP/1.0\r\nCSeq: 7\r\n\r\n", authorized: false))?.status == 200,
      "OPTIONS needs no credentials")
  }

  @Test func theDescribeSdpCarriesWhatTheStreamSignals() {
    let sdp = String(decoding: rtspDescribeSdp(sessionId: "42", sps: [0x67, 0x42, 0xE0, 0x1F], pps: [0x68, 0xCE]), as: UTF8.self)
    #expect(sdp.hasPrefix("v=0\r\n"))
    #expect(sdp.contains("m=video 0 RTP/AVP 96\r\n"))
    #expect(sdp.contains("a=rtpmap:96 H264/90000\r\n"))
    #expect(sdp.contains("a=fmtp:96 packetization-mode=1;profile-level-id=42e01f;sprop-parameter-sets=Z0LgHw==,aM4=\r\n"))
    #expect(sdp.contains("a=control:trackID=0\r\n"))
    let bare = String(decoding: rtspDescribeSdp(sessionId: "42", sps: nil, pps: nil), as: UTF8.self)
    #expect(!bare.contains("sprop-parameter-sets"))
  }
}

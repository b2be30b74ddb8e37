// The RTSP server in the core (RFC 2326 over the core's connection events): requests on an RTSP
// connection, the stream as interleaved frames or UDP datagrams from the shared frame, the slow
// client's bounded backlog, reaping, credentials and limits.
import AllocCounter
import Foundation
import Testing
import Wire

@testable import App

@Suite struct RtspServerTests {
  let sps: [UInt8] = [0x67, 0x42, 0xE0, 0x1F, 0xDA, 0x02, 0x80, 0xF6, 0x9B]
  let pps: [UInt8] = [0x68, 0xCE, 0x3C, 0x80]

  func keyframe(_ size: Int = 3000) -> [UInt8] {
    [0, 0, 0, 1] + sps + [0, 0, 0, 1] + pps + [0, 0, 0, 1, 0x65] + [UInt8](repeating: 0x11, count: size)
  }

  func interFrame(_ size: Int = 3000) -> [UInt8] { [0, 0, 0, 1, 0x41] + [UInt8](repeating: 0x22, count: size) }

  func frame(_ h: CoreHarness, _ au: [UInt8], key: Bool, at now: UInt64) -> [(bytes: [UInt8], to: Destination)] {
    au.withUnsafeBytes { h.core.handleFrame($0, captureTimeNs: now, isKeyframe: key, now: now) }
    return h.drain()
  }

  /// An RTSP connection and what the core answered to `text` on it (the bytes written since).
  func rtsp(_ h: CoreHarness, _ id: ConnectionID, _ text: String, now: UInt64) -> String {
    let before = h.written[id]?.count ?? 0
    h.send(Array(text.utf8), on: id, now: now)
    let all = h.written[id] ?? []
    return String(decoding: all[before...], as: UTF8.self)
  }

  func connect(_ h: CoreHarness, from: SocketAddress = loopback, now: UInt64) -> ConnectionID {
    let id = h.nextConnection
    h.nextConnection += 1
    h.core.handleConnection(.acceptedRtsp(id, peer: from), now: now)
    h.drain()
    return id
  }

  func header(_ response: String, _ name: String) -> String? {
    for line in response.components(separatedBy: "\r\n") where line.lowercased().hasPrefix(name.lowercased() + ":") {
      return line.dropFirst(name.count + 1).trimmingCharacters(in: .whitespaces)
    }
    return nil
  }

  /// SETUP and PLAY with `transport`; the session id.
  func play(_ h: CoreHarness, _ id: ConnectionID, transport: String, now: UInt64) -> String {
    let setup = rtsp(h, id, "SETUP rtsp://cam:8554/stream/trackID=0 RTSP/1.0\r\nCSeq: 2\r\nTransport: \(transport)\r\n\r\n",
      now: now)
    #expect(setup.hasPrefix("RTSP/1.0 200 OK"), "\(setup)")
    let session = header(setup, "Session")!.components(separatedBy: ";")[0]
    let play = rtsp(h, id, "PLAY rtsp://cam:8554/stream/ RTSP/1.0\r\nCSeq: 3\r\nSession: \(session)\r\n\r\n", now: now)
    #expect(play.hasPrefix("RTSP/1.0 200 OK"), "\(play)")
    #expect(header(play, "RTP-Info")?.hasPrefix("url=rtsp://cam:8554/stream/trackID=0;seq=") == true)
    return session
  }

  @Test func aTcpClientGetsInterleavedRtpFromTheNextKeyframe() throws {
    let h = try makeCore()
    let id = connect(h, now: 1_000)
    let options = rtsp(h, id, "OPTIONS rtsp://cam:8554/stream RTSP/1.0\r\nCSeq: 1\r\n\r\n", now: 1_000)
    #expect(options.hasPrefix("RTSP/1.0 200 OK\r\nCSeq: 1\r\n") && options.contains("DESCRIBE"))
    _ = play(h, id, transport: "RTP/AVP/TCP;unicast;interleaved=4-5", now: 2_000)
    #expect(h.captures.contains(.keyframe))
    #expect(h.captures.contains(.consumers(1)), "a playing RTSP client is a consumer: the encoder runs")
    #expect(frame(h, interFrame(), key: false, at: 3_000).isEmpty, "inter frames wait for the keyframe")
    let sent = frame(h, keyframe(), key: true, at: 4_000)
    #expect(sent.count >= 3)
    for p in sent {
      #expect(p.to == .rtspConnection(id))
      #expect(p.bytes[0] == UInt8(ascii: "$") && p.bytes[1] == 4)
      #expect(Int(p.bytes[2]) << 8 | Int(p.bytes[3]) == p.bytes.count - 4)
      #expect(p.bytes[4] >> 6 == 2 && p.bytes[5] & 0x7F == 96, "RTP version 2, payload type 96")
    }
    #expect(sent.last!.bytes[5] & 0x80 != 0, "the marker on the frame's last packet")
    #expect(frame(h, interFrame(), key: false, at: 5_000).count >= 2, "then every frame")
    let status = h.statusJSON(now: 6_000)
    #expect(status.contains("\"playing\":1") && status.contains("\"transport\":\"TCP\""))
  }

  @Test func describeCarriesTheStreamsParameterSetsOnceAKeyframeWent() throws {
    let h = try makeCore()
    let first = connect(h, now: 1_000)
    _ = play(h, first, transport: "RTP/AVP/TCP;unicast;interleaved=0-1", now: 1_000)
    _ = frame(h, keyframe(), key: true, at: 2_000)
    let id = connect(h, now: 3_000)
    let d = rtsp(h, id, "DESCRIBE rtsp://cam:8554/stream RTSP/1.0\r\nCSeq: 2\r\nAccept: application/sdp\r\n\r\n", now: 3_000)
    #expect(d.hasPrefix("RTSP/1.0 200 OK") && header(d, "Content-Base") == "rtsp://cam:8554/stream/")
    let sprop = Data(sps).base64EncodedString() + "," + Data(pps).base64EncodedString()
    #expect(d.contains("a=rtpmap:96 H264/90000") && d.contains("packetization-mode=1") && d.contains(sprop), "\(d)")
  }

  @Test func aUdpClientGetsDatagramsAndSenderReportsAndIsReapedWhenSilent() throws {
    let h = try makeCore { $0.rtsp.timeoutSeconds = 20 }
    let id = connect(h, now: 1_000)
    let setup = rtsp(h, id, "SETUP rtsp://cam:8554/stream/trackID=0 RTSP/1.0\r\nCSeq: 2\r\n"
      + "Transport: RTP/AVP;unicast;client_port=5000-5001\r\n\r\n", now: 1_000)
    #expect(header(setup, "Transport")?.contains("client_port=5000-5001;server_port=8554-8555") == true, "\(setup)")
    let session = header(setup, "Session")!
    #expect(session.hasSuffix(";timeout=20"))
    _ = rtsp(h, id, "PLAY rtsp://cam:8554/stream/ RTSP/1.0\r\nCSeq: 3\r\nSession: \(session)\r\n\r\n", now: 1_000)
    let sent = frame(h, keyframe(), key: true, at: 2_000)
    #expect(!sent.isEmpty && sent.allSatisfy { $0.to == .rtspUdp(loopback.withPort(5000), .rtp) })
    let reports = h.poll(now: 2_001, unixNs: 1_700_000_000_000_000_000)
    #expect(reports.count == 1 && reports[0].to == .rtspUdp(loopback.withPort(5001), .rtcp) && reports[0].bytes[1] == 200)
    // a receiver report from its RTCP port keeps the session; silence past the timeout ends it
    let rr: [UInt8] = [0x80, 201, 0, 1, 0, 0, 0, 7]
    rr.withUnsafeBytes { h.core.handleRtspDatagram($0, from: loopback.withPort(5001), now: 15_000_000_000) }
    h.poll(now: 30_000_000_000)
    #expect(!h.closed.contains(id))
    h.poll(now: 35_000_000_001)
    #expect(h.closed.contains(id))
    #expect(h.logs.contains { $0.message.contains("RTSP_SESSION_TIMEOUT") })
    #expect(h.core.status.metrics.rtspReaped == 1)
    #expect(h.captures.last == .consumers(0))
  }

  @Test func aClientOverItsBacklogSkipsToTheNextKeyframe() throws {
    let h = try makeCore()
    let id = connect(h, now: 1_000)
    _ = play(h, id, transport: "RTP/AVP/TCP;unicast;interleaved=0-1", now: 1_000)
    var t: UInt64 = 2_000
    _ = frame(h, keyframe(), key: true, at: t)
    // the connection never drains: after the backlog limit (256 KB) frames are skipped
    var skippedAt = 0
    for i in 0..<200 {
      t += 33_000_000
      if frame(h, interFrame(4000), key: false, at: t).isEmpty { skippedAt = i; break }
    }
    #expect(skippedAt > 50 && skippedAt < 70, "about 256 KB of 4 KB frames: \(skippedAt)")
    h.captures.removeAll()
    h.core.handleConnection(.flushed(id), now: t)
    h.drain()
    #expect(h.captures == [.keyframe], "drained: a keyframe to go on with")
    #expect(frame(h, interFrame(), key: false, at: t + 1).isEmpty, "inter frames wait for it")
    #expect(!frame(h, keyframe(), key: true, at: t + 2).isEmpty)
    let s = h.statusJSON(now: t + 3)
    #expect(s.contains("\"frames_skipped\":1"), "\(s)")
  }

  @Test func aClientThatStopsReadingIsClosedAfterTheTimeout() throws {
    let h = try makeCore { $0.rtsp.timeoutSeconds = 10 }
    let id = connect(h, now: 1_000)
    _ = play(h, id, transport: "RTP/AVP/TCP;unicast;interleaved=0-1", now: 1_000)
    var t: UInt64 = 2_000
    _ = frame(h, keyframe(), key: true, at: t)
    for _ in 0..<80 {
      t += 33_000_000
      _ = frame(h, interFrame(4000), key: false, at: t)
    }
    h.poll(now: t + 5_000_000_000)
    #expect(!h.closed.contains(id))
    h.poll(now: t + 11_000_000_000)
    #expect(h.closed.contains(id) && h.logs.contains { $0.message.contains("RTSP_STALLED") })
  }

  @Test func credentialsAreCheckedAndFailuresCountedLikeHttp() throws {
    let h = try makeCore { $0.auth.users = [UserCredential(name: "viewer", verifier: .plain(password: "pw"))] }
    let id = connect(h, now: 1_000)
    #expect(rtsp(h, id, "OPTIONS * RTSP/1.0\r\nCSeq: 1\r\n\r\n", now: 1_000).hasPrefix("RTSP/1.0 200"),
      "OPTIONS needs no credentials")
    let none = rtsp(h, id, "DESCRIBE rtsp://cam:8554/stream RTSP/1.0\r\nCSeq: 2\r\n\r\n", now: 1_000)
    #expect(none.hasPrefix("RTSP/1.0 401") && header(none, "WWW-Authenticate")?.hasPrefix("Basic realm=\"rtcam\"") == true)
    #expect(h.core.status.metrics.authFailures == 0, "no credentials is no failure")
    let wrong = "Basic " + Data("viewer:nope".utf8).base64EncodedString()
    #expect(rtsp(h, id, "DESCRIBE rtsp://cam:8554/stream RTSP/1.0\r\nCSeq: 3\r\nAuthorization: \(wrong)\r\n\r\n",
      now: 1_000).hasPrefix("RTSP/1.0 401"))
    #expect(h.core.status.metrics.authFailures == 1)
    let right = "Basic " + Data("viewer:pw".utf8).base64EncodedString()
    #expect(rtsp(h, id, "DESCRIBE rtsp://cam:8554/stream RTSP/1.0\r\nCSeq: 4\r\nAuthorization: \(right)\r\n\r\n",
      now: 1_000).hasPrefix("RTSP/1.0 200"))
    // the same per-address failure window as HTTP: after 10 failures, 503 with Retry-After
    for i in 0..<10 {
      _ = rtsp(h, id, "DESCRIBE rtsp://cam:8554/stream RTSP/1.0\r\nCSeq: \(10 + i)\r\nAuthorization: \(wrong)\r\n\r\n", now: 2_000)
    }
    let blocked = rtsp(h, id, "DESCRIBE rtsp://cam:8554/stream RTSP/1.0\r\nCSeq: 30\r\nAuthorization: \(right)\r\n\r\n",
      now: 3_000)
    #expect(blocked.hasPrefix("RTSP/1.0 503") && header(blocked, "Retry-After") != nil, "\(blocked)")
    let web = h.handle(request("GET", "/status", authorization: right), now: 3_000)
    #expect(web.status == 429, "HTTP counts the RTSP failures too")
  }

  @Test func connectionsPerAddressAreLimited() throws {
    let h = try makeCore { $0.limits.connectionsPerAddress = 2 }
    let a = connect(h, now: 1)
    let b = connect(h, now: 2)
    let c = connect(h, now: 3)
    #expect(h.closed == [c] && !h.closed.contains(a) && !h.closed.contains(b))
    _ = connect(h, from: SocketAddress(ip: [127, 0, 0, 2], port: 1), now: 4)
    #expect(h.closed == [c], "another address is not affected")
  }

  @Test func badInputGetsAnErrorAndTheConnectionClosed() throws {
    let h = try makeCore()
    let id = connect(h, now: 1)
    let r = rtsp(h, id, "GARBAGE\r\n\r\n", now: 2)
    #expect(r.hasPrefix("RTSP/1.0 400") && h.closed == [id])
    let other = connect(h, now: 3)
    _ = play(h, other, transport: "RTP/AVP/TCP;unicast;interleaved=0-1", now: 3)
    h.send([UInt8(ascii: "$"), 0, 0, 4, 1, 2, 3, 4], on: other, now: 4)
    #expect(h.closed == [id, other], "an RTP frame from the client is not RTCP: closed")
    #expect(h.core.status.metrics.rtspBadRequests == 2)
  }

  /// A frame to an interleaved and a UDP client allocates nothing in the core (the packets are
  /// each client's reused buffer; the loop copies interleaved bytes into the connection's output).
  @Test func aFrameToRtspClientsAllocatesNothing() throws {
    let h = try makeCore()
    let tcp = connect(h, now: 1)
    _ = play(h, tcp, transport: "RTP/AVP/TCP;unicast;interleaved=0-1", now: 1)
    let udp = connect(h, from: SocketAddress(ip: [127, 0, 0, 3], port: 9), now: 1)
    _ = play(h, udp, transport: "RTP/AVP;unicast;client_port=6000-6001", now: 1)
    let key = keyframe()
    let inter = interFrame(6000)
    var t: UInt64 = 10
    for i in 0..<20 {
      t += 33_000_000
      let au = i % 10 == 0 ? key : inter
      au.withUnsafeBytes { h.core.handleFrame($0, captureTimeNs: t, isKeyframe: i % 10 == 0, now: t) }
      h.drain()
      h.core.handleConnection(.flushed(tcp), now: t)
      h.drain()
    }
    var packets = 0
    var i = 0
    while i < 30 {
      t += 33_000_000
      let isKey = i % 10 == 0
      let au = isKey ? key : inter
      alloc_counter_begin()
      au.withUnsafeBytes { h.core.handleFrame($0, captureTimeNs: t, isKeyframe: isKey, now: t) }
      while true {
        let o = h.core.pollOutput()
        if case .timeout = o { break }
        if case .transmit = o { packets += 1 }
      }
      h.core.handleConnection(.flushed(tcp), now: t)
      while true { if case .timeout = h.core.pollOutput() { break } }
      let n = alloc_counter_end()
      #expect(n == 0, "allocations for frame \(i)")
      i += 1
    }
    #expect(packets >= 30 * 2 * 2)
  }
}

extension RtspServerTests {
  /// RTSP cannot ask for a keyframe: while a client plays, one comes at least every
  /// --rtsp-keyframe-interval (asked again a second later if the encoder has not answered).
  @Test func aKeyframeComesAtTheIntervalWhileRtspClientsPlay() throws {
    let h = try makeCore { $0.rtsp.keyframeIntervalSeconds = 2 }
    #expect(h.core.rtspKeyframeDue == nil, "nobody plays: no interval")
    let id = connect(h, now: 1_000)
    _ = play(h, id, transport: "RTP/AVP/TCP;unicast;interleaved=0-1", now: 1_000)
    _ = frame(h, keyframe(), key: true, at: 1_000_000_000)
    h.captures.removeAll()
    h.poll(now: 2_900_000_000)
    #expect(!h.captures.contains(.keyframe))
    #expect(h.nextDeadline == 3_000_000_000)
    h.poll(now: 3_000_000_000)
    #expect(h.captures == [.keyframe])
    h.poll(now: 3_500_000_000)
    #expect(h.captures == [.keyframe], "a second for the encoder to answer")
    h.poll(now: 4_000_000_000)
    #expect(h.captures == [.keyframe, .keyframe])
    _ = frame(h, keyframe(), key: true, at: 4_100_000_000)
    h.captures.removeAll()
    h.poll(now: 6_000_000_000)
    #expect(h.captures.isEmpty, "two seconds from the last keyframe")
    h.core.handleConnection(.gone(id), now: 6_000_000_000)
    h.drain()
    #expect(h.core.rtspKeyframeDue == nil)
  }
}

import DTLS
import Foundation
import HTTP
import ICE
import Peer
import SDP
import Testing
import TestSupport
import Wire
@testable import App

/// The server's routes and session table, driven without sockets.
@Suite struct ServerCoreTests {
  func makeCore(maxViewers: Int = 8) throws -> CoreHarness {
    try AppTests.makeCore(seed: "server-core-tests") { $0.maxViewers = maxViewers }
  }

  @Test func viewerPageIsServed() throws {
    let core = try makeCore()
    let r = core.handle(request("GET", "/"), now: 2_000)
    #expect(r.status == 200)
    #expect(r.header("Content-Type")?.hasPrefix("text/html") == true)
    let page = String(decoding: r.body, as: UTF8.self)
    #expect(page.contains("RTCPeerConnection") && page.contains("/whep") && page.contains("jitterBufferTarget"))
  }

  @Test func whepOfferFromChromiumCreatesASession() throws {
    let core = try makeCore()
    let offer = try fixture("chromium-156-recvonly-offer.sdp")
    let r = core.handle(request("POST", "/whep", contentType: "application/sdp", body: offer), now: 2_000)
    #expect(r.status == 201)
    #expect(r.header("Content-Type") == "application/sdp")
    let location = try #require(r.header("Location"))
    #expect(location.hasPrefix("/whep/"))
    let id = String(location.dropFirst("/whep/".count))
    #expect(core.sessions[id]?.phase == .checking)
    let answer = String(decoding: r.body, as: UTF8.self)
    #expect(answer.contains("a=ice-lite"))
    #expect(answer.contains("a=setup:active"))
    #expect(answer.contains("profile-level-id=42e01f"))
    #expect(answer.contains("a=candidate:1 1 udp ") && answer.contains(" 127.0.0.1 8189 typ host"))
    // /status lists it
    let status = try json(core.handle(request("GET", "/status"), now: 3_000))
    let sessions = try #require(status["sessions"]?.arrayValue)
    #expect(sessions.count == 1)
    #expect(sessions.first?["id"]?.stringValue == id)
    #expect(sessions.first?["state"]?.stringValue == "checking")
    #expect(sessions.first?["send_failures"]?.intValue == 0)
    // hang up
    let del = core.handle(request("DELETE", location), now: 4_000)
    #expect(del.status == 200)
    #expect(core.sessions.isEmpty)
    let again = core.handle(request("DELETE", location), now: 5_000)
    #expect(again.status == 404)
    #expect(try json(again)["error"]?.stringValue == "SESSION_NOT_FOUND")
  }

  /// draft-ietf-wish-whep (after WHIP, RFC 9725) as players use it: CORS preflight, 201 with
  /// Location exposed to scripts, no ICE-server Link header while none is configured, PATCH is
  /// 405 with Allow (rtcam is ICE-lite: no trickle), OPTIONS and DELETE on the resource.
  @Test func whepResourceDetails() throws {
    let core = try makeCore()
    let pre = core.handle(request("OPTIONS", "/whep"), now: 1_500)
    #expect(pre.status == 204 || pre.status == 200)
    #expect(pre.header("Access-Control-Allow-Origin") == "*")
    #expect(pre.header("Access-Control-Allow-Methods")?.contains("POST") == true)
    #expect(pre.header("Access-Control-Allow-Headers")?.contains("Content-Type") == true)
    #expect(pre.header("Access-Control-Allow-Headers")?.contains("Authorization") == true)
    #expect(pre.header("Accept-Post") == "application/sdp")

    for file in ["gstreamer-1.22-webrtcbin-recvonly-offer.sdp", "aiortc-1.16-recvonly-offer.sdp",
                 "safari-17-recvonly-offer-reconstructed.sdp"] {
      let offer = try fixture(file)
      let r = core.handle(request("POST", "/whep", contentType: "application/sdp", body: offer), now: 2_000)
      #expect(r.status == 201, "\(file)")
      #expect(r.header("Content-Type") == "application/sdp")
      #expect(r.header("Access-Control-Allow-Origin") == "*")
      #expect(r.header("Access-Control-Expose-Headers")?.contains("Location") == true)
      #expect(r.header("Link") == nil)
      let location = try #require(r.header("Location"))
      #expect(location.hasPrefix("/whep/"))

      let resPre = core.handle(request("OPTIONS", location), now: 2_100)
      #expect(resPre.header("Access-Control-Allow-Methods")?.contains("DELETE") == true)
      let patch = core.handle(request("PATCH", location, contentType: "application/trickle-ice-sdpfrag",
        body: "a=end-of-candidates\r\n"), now: 2_200)
      #expect(patch.status == 405)
      #expect(patch.header("Allow") == "DELETE, OPTIONS")
      #expect(patch.header("Access-Control-Allow-Origin") == "*")
      let id = String(location.dropFirst("/whep/".count))
      #expect(core.sessions[id] != nil, "PATCH leaves the session alone")
      let del = core.handle(request("DELETE", location), now: 2_300)
      #expect(del.status == 200)
      #expect(del.header("Access-Control-Allow-Origin") == "*")
      #expect(core.sessions[id] == nil)
    }
  }

  @Test func jsonOfferForm() throws {
    let core = try makeCore()
    let offer = try fixture("chromium-156-recvonly-offer.sdp")
    var w = JsonWriter()
    w.beginObject(); w.key("type"); w.string("offer"); w.key("sdp"); w.string(offer); w.endObject()
    let r = core.handle(request("POST", "/offer", contentType: "application/json", body: w.text), now: 2_000)
    #expect(r.status == 200)
    let j = try json(r)
    #expect(j["type"]?.stringValue == "answer")
    #expect(j["sdp"]?.stringValue?.hasPrefix("v=0\r\n") == true)
    let id = try #require(j["session"]?.stringValue)
    #expect(core.sessions[id] != nil)
  }

  @Test func firefoxWithoutH264GetsAClearClientError() throws {
    let core = try makeCore()
    let offer = try fixture("firefox-esr-153-recvonly-offer-no-h264.sdp")
    let r = core.handle(request("POST", "/whep", contentType: "application/sdp", body: offer), now: 2_000)
    #expect(r.status == 422)
    let j = try json(r)
    #expect(j["error"]?.stringValue == "NO_H264")
    #expect(j["message"]?.stringValue?.contains("OpenH264") == true)
    #expect(core.sessions.isEmpty)
  }

  @Test func badRequestsGetJSONErrors() throws {
    let core = try makeCore()
    let cases: [(HttpRequest, Int, String)] = [
      (request("POST", "/whep", contentType: "text/plain", body: "v=0"), 415, "UNSUPPORTED_MEDIA_TYPE"),
      (request("POST", "/whep", contentType: "application/sdp", body: "hello"), 400, "SDP_MALFORMED"),
      (request("POST", "/offer", contentType: "application/json", body: "{"), 400, "BAD_JSON"),
      (request("POST", "/offer", contentType: "application/json", body: "{\"type\":\"offer\"}"), 400, "BAD_OFFER"),
      (request("POST", "/offer", contentType: "application/json", body: "{\"type\":\"answer\",\"sdp\":\"v=0\"}"), 400, "BAD_OFFER"),
      (request("GET", "/whep"), 405, "METHOD_NOT_ALLOWED"),
      (request("PUT", "/"), 405, "METHOD_NOT_ALLOWED"),
      (request("GET", "/nope"), 404, "NOT_FOUND"),
      (request("DELETE", "/whep/doesnotexist"), 404, "SESSION_NOT_FOUND"),
      (request("PATCH", "/whep/x"), 405, "TRICKLE_NOT_SUPPORTED"),
    ]
    for (req, status, code) in cases {
      let r = core.handle(req, now: 2_000)
      #expect(r.status == status, "\(req.method) \(req.path)")
      #expect(try json(r)["error"]?.stringValue == code, "\(req.method) \(req.path)")
      #expect(try json(r)["message"]?.stringValue?.isEmpty == false)
    }
  }

  @Test func viewerLimitIsEnforced() throws {
    let core = try makeCore(maxViewers: 2)
    let offer = try fixture("chromium-156-recvonly-offer.sdp")
    for _ in 0..<2 {
      #expect(core.handle(request("POST", "/whep", contentType: "application/sdp", body: offer), now: 2_000).status == 201)
    }
    let r = core.handle(request("POST", "/whep", contentType: "application/sdp", body: offer), now: 2_000)
    #expect(r.status == 503)
    #expect(try json(r)["error"]?.stringValue == "TOO_MANY_VIEWERS")
    #expect(core.sessions.count == 2)
  }

  @Test func sessionsWithoutIceExpire() throws {
    let core = try makeCore()
    let offer = try fixture("chromium-156-recvonly-offer.sdp")
    _ = core.handle(request("POST", "/whep", contentType: "application/sdp", body: offer), now: 2_000)
    #expect(core.sessions.count == 1)
    let deadline = try #require(core.nextDeadline)
    core.poll(now: deadline - 1, unixNs: 0)
    #expect(core.sessions.count == 1)
    core.poll(now: deadline, unixNs: 0)
    #expect(core.sessions.isEmpty)
  }

  /// A viewer that passed ICE and then went silent is reaped when its consent lapses (30 s after
  /// its last check), and routing forgets it: its address and ufrag lead nowhere afterwards.
  @Test func silentViewersAreReaped() throws {
    let core = try makeCore()
    let offer = try fixture("chromium-156-recvonly-offer.sdp")
    let r = core.handle(request("POST", "/whep", contentType: "application/sdp", body: offer), now: 2_000)
    let answer = String(decoding: r.body, as: UTF8.self)
    func value(_ prefix: String) -> String {
      String(answer.split(separator: "\r\n").first { $0.hasPrefix(prefix) }!.dropFirst(prefix.count))
    }
    let ufrag = value("a=ice-ufrag:")
    let pwd = value("a=ice-pwd:")
    let browser = SocketAddress(ip: [127, 0, 0, 1], port: 50_123)
    var tid: UInt8 = 0
    func check(at now: UInt64) -> [SocketAddress] {
      tid &+= 1
      var m = StunMessage(method: Stun.binding, cls: .request, transactionID: [tid, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11])
      m.append(Stun.username, Array((ufrag + ":Lo4s").utf8))
      m.append(Stun.priority, [0x6e, 0x7f, 0x1e, 0xff])
      m.append(Stun.iceControlling, [1, 2, 3, 4, 5, 6, 7, 8])
      m.append(Stun.useCandidate, [])
      return core.receiveDatagram(m.encode(integrityKey: Array(pwd.utf8), fingerprint: true), from: browser, now: now)
        .compactMap { if case .viewer(let a) = $0.to { return a } else { return nil } }
    }
    let s: UInt64 = 1_000_000_000
    // the check is answered and the DTLS ClientHello goes to the browser
    let first = check(at: s)
    #expect(first.count >= 2 && first.allSatisfy { $0 == browser })
    let id = try #require(core.sessions.ids.first)
    #expect(core.sessions[id]?.phase == .handshaking)
    // a check 20 s later keeps it
    _ = check(at: 21 * s)
    core.poll(now: 50 * s, unixNs: 0)
    #expect(core.sessions[id] != nil)
    // then silence: reaped 30 s after the last check
    core.poll(now: 51 * s - 1, unixNs: 0)
    #expect(core.sessions[id] != nil)
    core.poll(now: 51 * s, unixNs: 0)
    #expect(core.sessions.isEmpty)
    let status = try json(.json(200, core.statusJSON(now: 52 * s)))
    #expect(status["sessions"]?.arrayValue?.isEmpty == true)
    // its ufrag and address route nowhere now
    #expect(check(at: 52 * s).isEmpty)
    #expect(core.receiveDatagram([0x80, 0xC9, 0, 1, 0, 0, 0, 1], from: browser, now: 52 * s).isEmpty)
  }

  @Test func strayDatagramsAreIgnored() throws {
    let core = try makeCore()
    let from = SocketAddress(ip: [127, 0, 0, 1], port: 5000)
    for first in [0, 1, 20, 22, 63, 64, 127, 128, 200, 255] {
      #expect(core.receiveDatagram([UInt8(first)] + [UInt8](repeating: 0x42, count: 40), from: from, now: 2_000).isEmpty)
    }
    #expect(core.receiveDatagram([], from: from, now: 2_000).isEmpty)
  }

  /// Source faults and recovery as /status shows them; a source that failed for good is logged
  /// once, a camera being retried logs through its own supervisor.
  @Test func sourceStatesInStatus() throws {
    let core = try AppTests.makeCore(seed: "server-core-tests",
      source: SourceStatus(spec: "v4l2:/dev/video0", format: SourceFormat(width: 640, height: 480, fps: 30)))
    func logged() -> [(LogLevel, String)] { core.drain(); return core.logs.map { ($0.level, $0.message) } }
    func source() throws -> JsonValue { try #require(try json(.json(200, core.statusJSON(now: 1)))["source"]) }
    #expect(try source()["state"]?.stringValue == "starting")
    #expect(try source()["error"]?.isNull == true)

    core.core.handleSource(.retrying(.capture(.cameraNotFound("no camera at /dev/video0"))))
    #expect(try source()["state"]?.stringValue == "failed")
    #expect(try source()["error"]?.stringValue == "CAMERA_NOT_FOUND")
    #expect(try source()["message"]?.stringValue == "no camera at /dev/video0")
    #expect(logged().isEmpty)

    core.core.handleSource(.running(SourceFormat(width: 320, height: 240, fps: 25)))
    #expect(try source()["state"]?.stringValue == "running")
    #expect(try source()["error"]?.isNull == true)
    #expect(try source()["width"]?.intValue == 320 && source()["fps"]?.intValue == 25)

    core.core.handleSource(.failed(.encoder(.initFailed(-1))))
    core.core.handleSource(.failed(.encoder(.initFailed(-1))))
    #expect(try source()["error"]?.stringValue == "ENCODER_INIT_FAILED")
    #expect(try source()["width"]?.intValue == 320, "the last known format stays")
    let errors = logged().filter { $0.0 == .error }
    #expect(errors.count == 1)
    #expect(errors.first?.1.contains("ENCODER_INIT_FAILED") == true)

    core.core.handleSource(.stopped)
    #expect(try source()["state"]?.stringValue == "stopped")
  }

  @Test func statusIsValidJSON() throws {
    let core = try AppTests.makeCore(seed: "server-core-tests", source: SourceStatus(spec: "testsrc"))
    core.core.handleSource(.failed(.capture(.badFormat("bad \"quote\""))))
    let j = try parseJson(Array(core.statusJSON(now: 5_000_000_000).utf8))
    #expect(j["source"]?["spec"]?.stringValue == "testsrc")
    #expect(j["source"]?["error"]?.stringValue == "FORMAT_UNSUPPORTED")
    #expect(j["source"]?["message"]?.stringValue == "bad \"quote\"")
    #expect(j["encoder"]?["codec"]?.stringValue?.contains("42e01f") == true)
    #expect(j["encoder"]?["preset"]?.stringValue == "balanced")
    #expect(j["sessions"]?.arrayValue?.isEmpty == true)
  }

  @Test func statusShowsThePreset() throws {
    let core = try AppTests.makeCore(seed: "server-core-tests") { $0.preset = .speed }
    let j = try parseJson(Array(core.statusJSON(now: 5_000_000_000).utf8))
    #expect(j["encoder"]?["preset"]?.stringValue == "speed")
  }
}

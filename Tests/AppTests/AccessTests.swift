import DTLS
import HTTP
import Testing
import TestSupport
import Wire

@testable import App

/// Access control and per-address limits in front of the routes, with a fake clock.
@Suite struct AccessTests {
  static let s: UInt64 = 1_000_000_000
  let alice = SocketAddress(ip: [192, 0, 2, 10], port: 50_000)
  let bob = SocketAddress(ip: [192, 0, 2, 20], port: 50_001)

  func makeCore(_ configure: (inout ServeOptions) -> Void) throws -> CoreHarness {
    try AppTests.makeCore(seed: "access-tests", now: 0, configure)
  }

  func basic(_ user: String, _ password: String) -> String { "Basic " + Base64.encode(Array((user + ":" + password).utf8)) }

  func code(_ r: HttpResponse) -> String? { try? parseJson(r.body)["error"]?.stringValue }

  @Test func everyRouteNeedsBasicCredentials() throws {
    let core = try makeCore { $0.auth.users = [UserCredential(name: "cam", verifier: .plain(password: "s3cret"))] }
    let offer = try fixture("chromium-156-recvonly-offer.sdp")
    let routes: [(String, String, String?, String)] = [
      ("GET", "/", nil, ""), ("GET", "/status", nil, ""), ("GET", "/favicon.ico", nil, ""),
      ("POST", "/whep", "application/sdp", offer), ("POST", "/offer", "application/json", "{}"),
      ("DELETE", "/whep/abc", nil, ""), ("GET", "/nope", nil, ""),
    ]
    for (m, p, ct, body) in routes {
      let none = core.handle(request(m, p, contentType: ct, body: body), from: alice, now: 1)
      #expect(none.status == 401, "\(m) \(p)")
      #expect(code(none) == "AUTH_REQUIRED")
      #expect(none.header("WWW-Authenticate") == "Basic realm=\"rtcam\", charset=\"UTF-8\"")
      let wrong = core.handle(request(m, p, authorization: basic("cam", "nope"), contentType: ct, body: body),
        from: bob, now: 1)
      #expect(wrong.status == 401 && code(wrong) == "AUTH_FAILED", "\(m) \(p)")
      let right = core.handle(request(m, p, authorization: basic("cam", "s3cret"), contentType: ct, body: body),
        from: alice, now: 1)
      #expect(right.status != 401 && right.status != 429, "\(m) \(p): \(right.status)")
    }
    // CORS preflights carry no credentials and pass
    #expect(core.handle(request("OPTIONS", "/whep"), from: alice, now: 1).status == 204)
    // the right answers really are the routes'
    #expect(core.handle(request("GET", "/", authorization: basic("cam", "s3cret")), from: alice, now: 1).status == 200)
    #expect(core.sessions.count == 1)
  }

  @Test func bearerTokensOnTheOfferEndpoints() throws {
    let core = try makeCore { $0.auth.addToken("tok-123") }
    let offer = try fixture("gstreamer-1.22-webrtcbin-recvonly-offer.sdp")
    // tokens only: the page and /status stay open, offers need a token
    #expect(core.handle(request("GET", "/status"), from: alice, now: 1).status == 200)
    let none = core.handle(request("POST", "/whep", contentType: "application/sdp", body: offer), from: alice, now: 1)
    #expect(none.status == 401 && none.header("WWW-Authenticate") == "Bearer realm=\"rtcam\"")
    let wrong = core.handle(request("POST", "/whep", authorization: "Bearer tok-124", contentType: "application/sdp", body: offer),
      from: alice, now: 1)
    #expect(wrong.status == 401 && code(wrong) == "AUTH_FAILED")
    let right = core.handle(request("POST", "/whep", authorization: "bearer tok-123", contentType: "application/sdp", body: offer),
      from: alice, now: 1)
    #expect(right.status == 201)
    let location = try #require(right.header("Location"))
    // the WHEP resource takes the token too
    #expect(core.handle(request("DELETE", location), from: alice, now: 2).status == 401)
    #expect(core.handle(request("DELETE", location, authorization: "Bearer tok-123"), from: alice, now: 2).status == 200)
  }

  @Test func usersAndTokensTogether() throws {
    let core = try makeCore {
      $0.auth.users = [UserCredential(name: "cam", verifier: .plain(password: "pw"))]
      $0.auth.addToken("tok")
    }
    // a token is not a login for the page
    #expect(core.handle(request("GET", "/", authorization: "Bearer tok"), from: alice, now: 1).status == 401)
    let offer = try fixture("aiortc-1.16-recvonly-offer.sdp")
    let r = core.handle(request("POST", "/whep", contentType: "application/sdp", body: offer), from: alice, now: 1)
    #expect(r.headers.filter { $0.0 == "WWW-Authenticate" }.map(\.1) == [
      "Basic realm=\"rtcam\", charset=\"UTF-8\"", "Bearer realm=\"rtcam\"",
    ])
  }

  @Test func repeatedFailuresAreLimitedPerAddress() throws {
    let core = try makeCore { $0.auth.users = [UserCredential(name: "cam", verifier: .plain(password: "pw"))] }
    for i in 0..<10 {
      let r = core.handle(request("GET", "/status", authorization: basic("cam", "guess\(i)")), from: alice, now: 5 * Self.s)
      #expect(r.status == 401)
    }
    // the 11th, even with the right password, waits for the minute to pass
    let blocked = core.handle(request("GET", "/status", authorization: basic("cam", "pw")), from: alice, now: 6 * Self.s)
    #expect(blocked.status == 429 && code(blocked) == "TOO_MANY_AUTH_FAILURES")
    #expect(blocked.header("Retry-After") == "59")
    // another address is not affected
    #expect(core.handle(request("GET", "/status", authorization: basic("cam", "pw")), from: bob, now: 6 * Self.s).status == 200)
    // nor is the same host on another port... it is: the limit is per host
    let otherPort = SocketAddress(ip: alice.ip, port: 1234)
    #expect(core.handle(request("GET", "/status", authorization: basic("cam", "pw")), from: otherPort, now: 6 * Self.s).status == 429)
    // a minute after the first failure it works again
    #expect(core.handle(request("GET", "/status", authorization: basic("cam", "pw")), from: alice, now: 65 * Self.s).status == 200)
    // missing credentials (a browser's first try) are not failures
    for _ in 0..<20 { _ = core.handle(request("GET", "/"), from: bob, now: 70 * Self.s) }
    #expect(core.handle(request("GET", "/", authorization: basic("cam", "pw")), from: bob, now: 70 * Self.s).status == 200)
  }

  @Test func offersAndViewersArePerAddress() throws {
    let core = try makeCore {
      $0.maxViewers = 8
      $0.limits.viewersPerAddress = 2
      $0.limits.offersPerMinute = 5
    }
    let offer = try fixture("chromium-156-recvonly-offer.sdp")
    func post(_ from: SocketAddress, _ now: UInt64) -> HttpResponse {
      core.handle(request("POST", "/whep", contentType: "application/sdp", body: offer), from: from, now: now)
    }
    #expect(post(alice, 1).status == 201)
    #expect(post(SocketAddress(ip: alice.ip, port: 9), 2).status == 201)
    let third = post(alice, 3)
    #expect(third.status == 429 && code(third) == "TOO_MANY_VIEWERS_FROM_ADDRESS")
    #expect(post(bob, 4).status == 201, "another address still gets a viewer slot")
    // offers per minute, whatever their outcome
    #expect(post(alice, 5).status == 429)
    #expect(post(alice, 6).status == 429)
    let limited = post(alice, 7)
    #expect(limited.status == 429 && code(limited) == "TOO_MANY_OFFERS")
    #expect(limited.header("Retry-After") != nil)
    #expect(core.sessions.count == 3)
  }

  @Test func passwordHashLines() throws {
    let salt: [UInt8] = Array("0123456789abcdef".utf8)
    let line = try #require(PasswordHashLine.make(user: "cam", password: "correct horse", salt: salt, iterations: 1_000))
    #expect(line.hasPrefix("cam:pbkdf2-sha256:1000:"))
    let cred = try PasswordHashLine.parse(line)
    #expect(cred.name == "cam")
    #expect(cred.verifier.verify(Array("correct horse".utf8)))
    #expect(!cred.verifier.verify(Array("correct horse ".utf8)))
    for bad in ["cam", "cam:md5:1000:AAAAAAAAAAA=:AAAAAAAAAAAAAAAAAAAAAA==", "cam:pbkdf2-sha256:10:MDEyMzQ1Njc4OWFiY2RlZg==:AAAAAAAAAAAAAAAAAAAAAA==",
                "a:b:pbkdf2-sha256:1000:x:y", ":pbkdf2-sha256:1000:MDEyMzQ1Njc4OWFiY2RlZg==:AAAAAAAAAAAAAAAAAAAAAA==",
                "cam:pbkdf2-sha256:1000:!!!!:AAAAAAAAAAAAAAAAAAAAAA=="] {
      #expect(throws: CredentialError.self, "\(bad)") { try PasswordHashLine.parse(bad) }
    }
    // RFC 7914 §11: PBKDF2-HMAC-SHA256 (P="passwd", S="salt", c=1, dkLen=64)
    #expect(Digest.pbkdf2SHA256(password: Array("passwd".utf8), salt: Array("salt".utf8), iterations: 1, length: 64)
      == Hex.decode("55ac046e56e3089fec1691c22544b605f94185216dde0465e68b9d57c20dacbc49ca9cccf179b645991664b39d77ef317c71b845b1e30bd509112041d3a19783"))
  }

  @Test func hashedUsersLogInAndAreCached() throws {
    let line = try #require(PasswordHashLine.make(user: "cam", password: "pw", salt: Array("saltsaltsalt".utf8), iterations: 1_000))
    var a = Authenticator(config: { var c = AuthConfig(); c.users = [try! PasswordHashLine.parse(line)]; return c }())
    #expect(a.authorize(basic("cam", "pw"), offerEndpoint: false) == .allowed(user: "cam"))
    #expect(a.verified.count == 1)
    #expect(a.authorize(basic("cam", "pw"), offerEndpoint: false) == .allowed(user: "cam"))
    #expect(a.authorize(basic("cam", "px"), offerEndpoint: false) == .rejected)
    #expect(a.authorize(basic("eve", "pw"), offerEndpoint: false) == .rejected)
    #expect(a.verified.count == 1)
  }

  @Test func authorizationHeaderParsing() {
    #expect(parseAuthorization("Basic " + Base64.encode(Array("u:p:q".utf8))) == .basic(user: "u", password: Array("p:q".utf8)))
    #expect(parseAuthorization("BASIC " + Base64.encode(Array("u:".utf8))) == .basic(user: "u", password: []))
    #expect(parseAuthorization("Bearer abc.DEF-_~+/=") == .bearer(Array("abc.DEF-_~+/=".utf8)))
    for bad in ["", "Basic", "Basic ", "Basic !!!!", "Basic " + Base64.encode(Array("nocolon".utf8)),
                "Basic " + Base64.encode(Array(":p".utf8)), "Bearer a b", "Digest x", "Bearer ",
                "Basic " + String(repeating: "A", count: 5000)] {
      #expect(parseAuthorization(bad) == .malformed, "\(bad.prefix(20))")
    }
  }

  @Test func base64RoundTripsAndIsStrict() {
    var rng = TestPRNG(state: 77)
    for n in 0..<40 {
      let b = rng.bytes(n)
      #expect(Base64.decode(Base64.encode(b)) == b)
    }
    #expect(Base64.encode(Array("foobar".utf8)) == "Zm9vYmFy")
    #expect(Base64.encode(Array("fo".utf8)) == "Zm8=")
    for bad in ["Zm9", "Zm9v YmFy", "Zm=v", "Zm9=", "Zh==", "====", "Zm8=Zm8="] {
      #expect(Base64.decode(bad) == nil, "\(bad)")
    }
  }

  @Test func windowCounterIsBounded() {
    var w = WindowCounter(limit: 2, windowNs: 10, maxKeys: 3)
    for i in 0..<10 { w.record(SocketAddress(ip: [10, 0, 0, UInt8(i)], port: 0), now: UInt64(i)) }
    #expect(w.trackedKeys == 3)
    let k = SocketAddress(ip: [10, 0, 0, 9], port: 0)
    #expect(w.blockedFor(k, now: 9) == nil)
    w.record(k, now: 10)
    #expect(w.blockedFor(k, now: 10) == 9)
    #expect(w.blockedFor(k, now: 19) == nil)
  }
}

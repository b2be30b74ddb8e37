// fuzz-target: auth
// fuzz-modules: Wire
// fuzz-sources: Sources/App/Auth.swift
// fuzz-summary: HTTP Basic/Bearer Authorization parser, Authenticator, auth-file hash lines, Base64
//
// Sources/App/Auth.swift imports only Wire, so it is compiled into this target's module (App
// itself is not built). Input: any bytes, used as an Authorization header value, as an
// --auth-file line and as Base64 text / raw bytes.
// Invariants:
// - parseAuthorization: values over 4096 bytes are malformed; Basic gives a non-empty user
//   without ':', and "Basic " + Base64(user:password) parses back to the same; Bearer
//   gives non-empty visible ASCII and parses back; the scheme is case-insensitive and blanks
//   around the credentials do not matter;
// - Base64: decode(encode(b)) == b, and whatever decodes re-encodes to exactly its text;
// - Authenticator: no header is `.missing`, never allowed; a user is allowed only with its own
//   password (plain and PBKDF2), a token only on the offer endpoints; asking twice gives the
//   same answer (the verified cache); with auth off everything is allowed;
// - PasswordHashLine.parse: an accepted line has a valid user name, iterations in range, salt
//   8-64 and hash 16-64 bytes, and written back out parses to the same credential.
import Wire

let alicePassword = Array("correct horse".utf8)
let bobPassword = Array("battery:staple".utf8)
let bobSalt = Array("saltsalt".utf8)
let token = "tok-123_abc.DEF~+/="

func makeConfig() -> AuthConfig {
  var c = AuthConfig()
  c.users.append(UserCredential(name: "alice", verifier: .plain(password: "correct horse")))
  // Two iterations keep the fuzzer fast; the verifier does not care how many.
  let hash = Digest.pbkdf2SHA256(password: bobPassword, salt: bobSalt, iterations: 2)!
  c.users.append(UserCredential(name: "bob", verifier: .pbkdf2(iterations: 2, salt: bobSalt, hash: hash)))
  c.addToken(token)
  return c
}

func checkAuthenticator(_ header: String?) {
  let config = makeConfig()
  var a = Authenticator(config: config)
  let parsed = header.map(parseAuthorization)
  var first: [Bool: AuthDecision] = [:]
  for offer in [false, true, false, true] {
    let d = a.authorize(header, offerEndpoint: offer)
    if let before = first[offer] {
      invariant(before == d, "asking again (verified cache) gives another answer")
    }
    first[offer] = d
    switch d {
    case .missing:
      invariant(header == nil || header!.isEmpty, "credentials present but .missing")
    case .allowed(let user):
      guard let p = parsed else { invariant(false, "allowed without credentials"); return }
      switch p {
      case .basic(let u, let pw):
        invariant(user == u, "allowed as another user")
        invariant((u == "alice" && pw == alicePassword) || (u == "bob" && pw == bobPassword), "allowed with a wrong password")
      case .bearer(let t):
        invariant(user == nil && offer && t == Array(token.utf8), "token allowed where it should not be")
      case .malformed:
        invariant(false, "malformed credentials allowed")
      }
    case .rejected:
      guard let p = parsed else { invariant(false, "rejected without credentials"); return }
      if case .basic(let u, let pw) = p {
        invariant(!((u == "alice" && pw == alicePassword) || (u == "bob" && pw == bobPassword)), "right password rejected")
      }
      if case .bearer(let t) = p { invariant(!(offer && t == Array(token.utf8)), "right token rejected") }
    }
  }
  var open = Authenticator(config: AuthConfig())
  invariant(open.authorize(header, offerEndpoint: true) == .allowed(user: nil), "auth off but not allowed")
  invariant(!a.challenges(offerEndpoint: true).isEmpty, "no challenge")
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
  let bytes = fuzzInput(data, size)
  let text = String(decoding: bytes, as: UTF8.self)

  // Base64 both ways.
  let encoded = Base64.encode(bytes)
  invariant(Base64.decode(encoded) == bytes, "Base64 does not round-trip " + fuzzHex(bytes))
  if let decoded = Base64.decode(text) {
    invariant(Base64.encode(decoded) == text, "Base64 text " + String(text.prefix(80)) + " is not canonical")
  }

  // Authorization header values.
  let h = parseAuthorization(text)
  if text.utf8.count > 4096 { invariant(h == .malformed, "over 4096 bytes accepted") }
  switch h {
  case .basic(let user, let password):
    invariant(!user.isEmpty && !user.utf8.contains(UInt8(ascii: ":")), "Basic user " + user)
    let credentials = Base64.encode(Array(user.utf8) + [UInt8(ascii: ":")] + password)
    invariant(parseAuthorization("Basic " + credentials) == h, "Basic credentials do not round-trip")
    invariant(parseAuthorization("bAsIc  " + credentials + " ") == h, "Basic scheme case or spaces matter")
  case .bearer(let t):
    invariant(!t.isEmpty && t.allSatisfy { $0 > 0x20 && $0 < 0x7F }, "Bearer token with blanks or controls")
    invariant(parseAuthorization("Bearer " + String(decoding: t, as: UTF8.self)) == h, "Bearer does not round-trip")
    invariant(parseAuthorization("BEARER " + String(decoding: t, as: UTF8.self)) == h, "Bearer scheme case matters")
  case .malformed:
    break
  }
  checkAuthenticator(text)
  checkAuthenticator(nil)
  if bytes.count > 6 {
    // the same bytes as Basic credentials (they decode to themselves)
    checkAuthenticator("Basic " + Base64.encode(bytes))
  }

  // --auth-file lines.
  if let c = try? PasswordHashLine.parse(text) {
    invariant((try? PasswordHashLine.checkUserName(c.name)) != nil, "accepted a bad user name")
    guard case .pbkdf2(let iterations, let salt, let hash) = c.verifier else {
      invariant(false, "hash line without PBKDF2")
      return 0
    }
    invariant(PasswordHashLine.iterationRange.contains(iterations), "iterations out of range")
    invariant((8...64).contains(salt.count) && (16...64).contains(hash.count), "salt or hash size")
    let line = c.name + ":" + PasswordHashLine.scheme + ":" + String(iterations) + ":" + Base64.encode(salt) + ":"
      + Base64.encode(hash)
    invariant((try? PasswordHashLine.parse(line)) == c, "hash line does not round-trip")
  }
  return 0
}

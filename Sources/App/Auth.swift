// Access control without I/O: who may watch (HTTP Basic users, Bearer tokens for the offer
// endpoints as WHIP/WHEP players send them), password hashes, and the check of one request.
import Wire

/// How a user's password is checked.
public enum PasswordVerifier: Equatable, Sendable {
  /// From `--auth USER:PASSWORD`: the SHA-256 of the password (the password itself is not kept).
  case plain(sha256: [UInt8])
  /// From an `--auth-file` line: PBKDF2-HMAC-SHA256 with its salt and iteration count.
  case pbkdf2(iterations: Int, salt: [UInt8], hash: [UInt8])

  public static func plain(password: String) -> PasswordVerifier {
    .plain(sha256: Digest.sha256(Array(password.utf8)))
  }

  /// Constant-time check of a password.
  public func verify(_ password: [UInt8]) -> Bool {
    switch self {
    case .plain(let digest):
      return Digest.constantTimeEqual(Digest.sha256(password), digest)
    case .pbkdf2(let iterations, let salt, let hash):
      guard let h = Digest.pbkdf2SHA256(password: password, salt: salt, iterations: iterations, length: hash.count)
      else { return false }
      return Digest.constantTimeEqual(h, hash)
    }
  }
}

public struct UserCredential: Equatable, Sendable {
  public var name: String
  public var verifier: PasswordVerifier

  public init(name: String, verifier: PasswordVerifier) {
    self.name = name
    self.verifier = verifier
  }
}

/// Why a configured credential is unusable (a bad --auth value or auth-file line).
public struct CredentialError: Error, Equatable, Sendable {
  public var message: String
  public init(_ message: String) { self.message = message }
}

/// The password hash line format of `--auth-file` and `rtcam passwd`:
/// `USER:pbkdf2-sha256:ITERATIONS:SALT:HASH`, salt and hash in Base64.
public enum PasswordHashLine {
  public static let scheme = "pbkdf2-sha256"
  /// What `rtcam passwd` uses: about 50 ms on a Raspberry Pi 4 (the result is cached per client,
  /// see `Authenticator`), far more than an offline guesser wants to pay per try.
  public static let defaultIterations = 100_000
  /// Bounds on what a file may ask for: below, a hash is too cheap to guess against; above, one
  /// login could stall the network loop for seconds.
  public static let iterationRange = 1_000...1_000_000

  public static func make(user: String, password: String, salt: [UInt8], iterations: Int = defaultIterations)
    -> String?
  {
    guard let hash = Digest.pbkdf2SHA256(password: Array(password.utf8), salt: salt, iterations: iterations)
    else { return nil }
    return user + ":" + scheme + ":" + String(iterations) + ":" + Base64.encode(salt) + ":" + Base64.encode(hash)
  }

  /// Parses one line (blank lines and lines starting with '#' are the caller's to skip).
  public static func parse(_ line: String) throws(CredentialError) -> UserCredential {
    let parts = line.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
    guard parts.count == 5 else {
      throw CredentialError("expected USER:\(scheme):ITERATIONS:SALT:HASH")
    }
    try checkUserName(parts[0])
    guard parts[1] == scheme else { throw CredentialError("unknown hash scheme '\(parts[1])' (want \(scheme))") }
    guard let iterations = parseDecimal(parts[2], max: UInt64(iterationRange.upperBound)),
      iterationRange.contains(iterations)
    else {
      throw CredentialError("iterations must be \(iterationRange.lowerBound)...\(iterationRange.upperBound)")
    }
    guard let salt = Base64.decode(parts[3]), salt.count >= 8, salt.count <= 64 else {
      throw CredentialError("salt must be 8-64 bytes of Base64")
    }
    guard let hash = Base64.decode(parts[4]), hash.count >= 16, hash.count <= 64 else {
      throw CredentialError("hash must be 16-64 bytes of Base64")
    }
    return UserCredential(name: parts[0], verifier: .pbkdf2(iterations: iterations, salt: salt, hash: hash))
  }

  /// A user name: 1-64 visible ASCII characters without ':' (RFC 7617 forbids ':' in it).
  public static func checkUserName(_ name: String) throws(CredentialError) {
    guard !name.isEmpty, name.utf8.count <= 64,
      name.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F && $0 != UInt8(ascii: ":") })
    else { throw CredentialError("user name must be 1-64 visible ASCII characters without ':'") }
  }
}

/// Who may use which routes. Off (everything open) when it holds no users and no tokens.
public struct AuthConfig: Equatable, Sendable {
  /// HTTP Basic users: with any, every route needs one of them (or, on the offer endpoints, a token).
  public var users: [UserCredential] = []
  /// SHA-256 of each Bearer token accepted on the offer endpoints.
  public var tokenDigests: [[UInt8]] = []
  public var realm = "rtcam"

  public init() {}

  public var isEnabled: Bool { !users.isEmpty || !tokenDigests.isEmpty }

  public mutating func addToken(_ token: String) { tokenDigests.append(Digest.sha256(Array(token.utf8))) }
}

/// The outcome of checking one request.
public enum AuthDecision: Equatable, Sendable {
  /// Allowed: no credentials needed, or these were right (the user, or nil for a token).
  case allowed(user: String?)
  /// Credentials are needed and none came.
  case missing
  /// Credentials came and are wrong or malformed (counts toward the per-address failure limit).
  case rejected
}

/// Checks requests against an `AuthConfig`. Verified Basic credentials are remembered (their
/// SHA-256, a bounded table) so a PBKDF2 hash costs its iterations once per client, not per
/// request: the viewer page makes several requests per visit.
public struct Authenticator: Sendable {
  public let config: AuthConfig
  var verified: [[UInt8]: String] = [:]
  /// Bound on remembered credentials; the table is cleared when full (a few re-verifications).
  let maxVerified = 64

  public init(config: AuthConfig) {
    self.config = config
  }

  /// Does `route` need credentials, and which kinds count: Basic (users) everywhere when users are
  /// configured; Bearer tokens on the offer endpoints only.
  public func requirement(offerEndpoint: Bool) -> (needed: Bool, acceptsToken: Bool) {
    let acceptsToken = offerEndpoint && !config.tokenDigests.isEmpty
    let needed = !config.users.isEmpty || acceptsToken
    return (needed, acceptsToken)
  }

  /// Checks the Authorization header of a request to a route.
  public mutating func authorize(_ authorization: String?, offerEndpoint: Bool) -> AuthDecision {
    let (needed, acceptsToken) = requirement(offerEndpoint: offerEndpoint)
    guard needed else { return .allowed(user: nil) }
    guard let header = authorization, !header.isEmpty else { return .missing }
    switch parseAuthorization(header) {
    case .basic(let user, let password):
      guard let u = config.users.first(where: { $0.name == user }) else {
        // spend about the time of a real check, so user names cannot be probed by timing
        _ = config.users.first?.verifier.verify(password)
        return .rejected
      }
      let key = Digest.sha256(Array(header.utf8))
      if verified[key] == user { return .allowed(user: user) }
      guard u.verifier.verify(password) else { return .rejected }
      if verified.count >= maxVerified { verified.removeAll() }
      verified[key] = user
      return .allowed(user: user)
    case .bearer(let token):
      guard acceptsToken else { return .rejected }
      let digest = Digest.sha256(token)
      var match = false
      for t in config.tokenDigests where Digest.constantTimeEqual(t, digest) { match = true }
      return match ? .allowed(user: nil) : .rejected
    case .malformed:
      return .rejected
    }
  }

  /// The `WWW-Authenticate` challenges for a 401 on a route.
  public func challenges(offerEndpoint: Bool) -> [String] {
    var out: [String] = []
    if !config.users.isEmpty { out.append("Basic realm=\"" + config.realm + "\", charset=\"UTF-8\"") }
    if offerEndpoint && !config.tokenDigests.isEmpty { out.append("Bearer realm=\"" + config.realm + "\"") }
    return out
  }
}

/// An Authorization header value, parsed (RFC 7617 Basic, RFC 6750 Bearer).
public enum AuthorizationHeader: Equatable, Sendable {
  case basic(user: String, password: [UInt8])
  case bearer([UInt8])
  case malformed
}

/// Parses `Basic base64(user:password)` or `Bearer token`; the scheme is case-insensitive.
/// Bounded: values over 4 KB are malformed (the HTTP parser bounds headers anyway).
public func parseAuthorization(_ value: String) -> AuthorizationHeader {
  let bytes = Array(value.utf8)
  guard bytes.count <= 4096, let space = bytes.firstIndex(of: UInt8(ascii: " ")) else { return .malformed }
  let scheme = String(decoding: bytes[..<space], as: UTF8.self).asciiLowercased
  var rest = bytes[(space + 1)...]
  while rest.first == UInt8(ascii: " ") { rest = rest.dropFirst() }
  while rest.last == UInt8(ascii: " ") { rest = rest.dropLast() }
  guard !rest.isEmpty else { return .malformed }
  switch scheme {
  case "basic":
    guard let decoded = Base64.decode(String(decoding: rest, as: UTF8.self)),
      let colon = decoded.firstIndex(of: UInt8(ascii: ":"))
    else { return .malformed }
    let user = String(decoding: decoded[..<colon], as: UTF8.self)
    guard !user.isEmpty else { return .malformed }
    return .basic(user: user, password: Array(decoded[(colon + 1)...]))
  case "bearer":
    // RFC 6750 b64token: visible ASCII, no spaces
    guard rest.allSatisfy({ $0 > 0x20 && $0 < 0x7F }) else { return .malformed }
    return .bearer(Array(rest))
  default:
    return .malformed
  }
}

// ICE-lite agent (RFC 8445 section 2.5 / 7.3) with consent freshness (RFC 7675), sans-IO.
import Wire

/// Our ICE credentials (a=ice-ufrag / a=ice-pwd).
public struct IceCredentials: Equatable, Sendable {
  /// 8 ice-chars (48 random bits; RFC 8445 asks for at least 24).
  public var ufrag: String
  /// 24 ice-chars (144 random bits; RFC 8445 asks for at least 128).
  public var password: String

  public init(ufrag: String, password: String) {
    self.ufrag = ufrag
    self.password = password
  }

  /// Deterministic from caller-supplied random bytes: bytes 0..<8 make the ufrag and
  /// 8..<32 the password, one ice-char (ALPHA / DIGIT / "+" / "/") per byte, using the
  /// byte's low 6 bits (64 symbols, so uniform bytes give uniform characters). Pass at least
  /// 32 bytes; missing bytes are filled with a fixed pattern (not secret) rather than trapping.
  public init(random: [UInt8]) {
    let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)
    var chars: [UInt8] = []
    for i in 0..<32 {
      let b = i < random.count ? random[i] : UInt8(truncatingIfNeeded: i &* 37 &+ 11)
      chars.append(alphabet[Int(b & 63)])
    }
    ufrag = String(decoding: chars[0..<8], as: UTF8.self)
    password = String(decoding: chars[8..<32], as: UTF8.self)
  }
}

/// Something the caller should act on.
public enum IceEvent: Equatable, Sendable {
  /// First nomination, or the nominated pair moved to a new address: send media there.
  case selected(SocketAddress)
}

/// The result of handling one datagram.
public struct IceOutput: Sendable {
  /// Datagram to send back to the request's source.
  public var response: [UInt8]?
  public var event: IceEvent?
  /// Why a datagram was rejected (for logs); nil if fine or merely ignored.
  public var error: StunError?

  public init(response: [UInt8]? = nil, event: IceEvent? = nil, error: StunError? = nil) {
    self.response = response
    self.event = event
    self.error = error
  }
}

/// The ICE-lite side of one viewer: answers the browser's connectivity checks, follows its
/// nomination, and tracks consent. We are lite, so always in the controlled role, and never
/// send checks ourselves.
///
/// Request handling (in this order):
/// - Anything that does not parse as STUN (bad framing, bad FINGERPRINT) is dropped with an
///   error and no response: it cannot be authenticated, and answering junk only helps scanners.
/// - Success/error responses and indications are ignored (no response, no error).
/// - A request without USERNAME or MESSAGE-INTEGRITY is dropped (`.missingCredentials`): it
///   cannot be authenticated at all, and a 400 could be larger than such a request.
/// - USERNAME not exactly "localUfrag:remoteUfrag" → 401 without MESSAGE-INTEGRITY.
/// - MESSAGE-INTEGRITY not valid with our password → 401 without MESSAGE-INTEGRITY.
///   (The request carried USERNAME and MESSAGE-INTEGRITY, so it is at least 52 bytes, and the
///   48-byte 401 is no amplification.)
/// From here the request is authenticated, and every response carries MESSAGE-INTEGRITY
/// (keyed with our password) and FINGERPRINT:
/// - method other than Binding → 400;
/// - unknown comprehension-required attributes → 420 with UNKNOWN-ATTRIBUTES;
/// - PRIORITY, ICE-CONTROLLING, ICE-CONTROLLED or USE-CANDIDATE of the wrong size → 400;
/// - ICE-CONTROLLED (the peer also thinks it is controlled) → 487 Role Conflict. RFC 8445
///   7.3.1.1 compares tie-breakers, but a lite agent must stay controlled against a full
///   agent, so we always answer 487 (as if our tie-breaker were the largest) and the browser
///   switches to controlling.
/// - otherwise Binding success with XOR-MAPPED-ADDRESS = source; USE-CANDIDATE makes the
///   source the selected address (`.selected` is emitted only when it changes).
///
/// Consent: `lastConsentAt` is refreshed by each successful (authenticated, answered with a
/// success) request — from any source until something is nominated, then only from the
/// selected address, so checks on other pairs do not keep a dead selected path alive — and by
/// authenticated SRTCP from the selected address (`authenticatedMedia`).
public struct IceLiteAgent: Sendable {
  public let local: IceCredentials
  public let remoteUfrag: String
  /// Kept for completeness; a lite agent sends no checks, so it never uses it.
  public let remotePassword: String
  /// Consent lapses after this many ns without a refreshing request (RFC 7675: 30 s).
  public var consentTimeout: UInt64 = 30_000_000_000

  /// The nominated source address: where media goes.
  public private(set) var selected: SocketAddress?
  /// ns of the last authenticated request that refreshed consent (see type docs).
  public private(set) var lastConsentAt: UInt64?
  /// Source of the most recent authenticated request answered with success (e.g. where a
  /// DTLS client sends its first flight before nomination).
  public private(set) var lastAuthenticatedSource: SocketAddress?
  /// Number of requests answered with success.
  public private(set) var successCount: Int = 0

  let expectedUsername: [UInt8]
  let key: [UInt8]
  /// `key` prepared for MACs that allocate nothing (the in-place consent-check path).
  let hmac: HmacSHA1Key

  public init(local: IceCredentials, remoteUfrag: String, remotePassword: String) {
    self.local = local
    self.remoteUfrag = remoteUfrag
    self.remotePassword = remotePassword
    expectedUsername = Array(local.ufrag.utf8) + [UInt8(ascii: ":")] + Array(remoteUfrag.utf8)
    key = Array(local.password.utf8)
    hmac = HmacSHA1Key(key: key)
  }

  /// Handles one STUN datagram from `from` at `now` (ns).
  public mutating func receive(_ datagram: [UInt8], from: SocketAddress, now: UInt64) -> IceOutput {
    let request: StunMessage
    do throws(StunError) {
      request = try StunMessage.parse(datagram)
    } catch {
      return IceOutput(error: error)
    }
    guard request.cls == .request else { return IceOutput() }
    guard let username = request.attribute(Stun.username), request.has(Stun.messageIntegrity) else {
      return IceOutput(error: .missingCredentials)
    }
    guard username == expectedUsername else {
      return IceOutput(response: errorResponse(request, 401, "Unauthorized", authenticated: false), error: .wrongUsername)
    }
    guard StunMessage.verifyIntegrity(datagram, key: key) else {
      return IceOutput(response: errorResponse(request, 401, "Unauthorized", authenticated: false), error: .badIntegrity)
    }

    // Authenticated.
    guard request.method == Stun.binding else {
      return IceOutput(response: errorResponse(request, 400, "Bad Request", authenticated: true),
                       error: .unsupportedMethod(request.method))
    }
    var unknown: [UInt16] = []
    for a in request.attributes where a.type < 0x8000 && !Stun.isKnownRequired(a.type) && !unknown.contains(a.type) {
      unknown.append(a.type)
    }
    if !unknown.isEmpty {
      return IceOutput(response: errorResponse(request, 420, "Unknown Attribute", unknown: unknown, authenticated: true),
                       error: .unknownAttributes(unknown))
    }
    if let bad = badLength(request) {
      return IceOutput(response: errorResponse(request, 400, "Bad Request", authenticated: true),
                       error: .malformed(bad))
    }
    if request.has(Stun.iceControlled) {
      return IceOutput(response: errorResponse(request, 487, "Role Conflict", authenticated: true), error: .roleConflict)
    }

    var reply = StunMessage(method: Stun.binding, cls: .success, transactionID: request.transactionID)
    guard reply.appendXorMappedAddress(from) else {
      return IceOutput(error: .malformed("source address"))
    }
    var out = IceOutput(response: reply.encode(integrityKey: key, fingerprint: true))
    out.event = recordSuccess(from: from, now: now, useCandidate: request.useCandidate)
    return out
  }

  /// The state change of a request answered with success (both paths); the event, if any.
  mutating func recordSuccess(from: SocketAddress, now: UInt64, useCandidate: Bool) -> IceEvent? {
    successCount += 1
    lastAuthenticatedSource = from
    var event: IceEvent? = nil
    if useCandidate && selected != from {
      selected = from
      event = .selected(from)
    }
    if selected == nil || selected == from {
      lastConsentAt = now
    }
    return event
  }

  /// Liveness from authenticated media: the session layer calls this for each SRTCP packet that
  /// passed authentication, with its source. It refreshes consent only if that source is the
  /// nominated address, and returns whether it did.
  ///
  /// RFC 7675 grants consent through Binding Requests only, but some viewers never send them after
  /// nomination (GStreamer 1.22's webrtcbin sends only Binding Indications every 25 s unless told
  /// otherwise). Their receiver reports, protected with keys only the DTLS peer holds and arriving
  /// on the selected path, prove just as well that the viewer is there and wants the stream; a
  /// viewer that vanishes sends neither, so it is still reaped `consentTimeout` after its last one.
  public mutating func authenticatedMedia(from: SocketAddress, now: UInt64) -> Bool {
    guard let s = selected, s == from else { return false }
    lastConsentAt = max(lastConsentAt ?? now, now)
    return true
  }

  /// True once consent has lapsed: `consentTimeout` since the last refreshing request, or,
  /// if none has arrived yet, since `startedAt`.
  public func consentExpired(now: UInt64, startedAt: UInt64) -> Bool {
    let since = lastConsentAt ?? startedAt
    return now >= since && now - since >= consentTimeout
  }

  /// The first known ICE attribute of the wrong size, if any.
  func badLength(_ m: StunMessage) -> String? {
    if let v = m.attribute(Stun.priority), v.count != 4 { return "PRIORITY length" }
    if let v = m.attribute(Stun.iceControlling), v.count != 8 { return "ICE-CONTROLLING length" }
    if let v = m.attribute(Stun.iceControlled), v.count != 8 { return "ICE-CONTROLLED length" }
    if let v = m.attribute(Stun.useCandidate), !v.isEmpty { return "USE-CANDIDATE length" }
    return nil
  }

  func errorResponse(_ request: StunMessage, _ code: Int, _ reason: String, unknown: [UInt16] = [],
                     authenticated: Bool) -> [UInt8] {
    var reply = StunMessage(method: request.method, cls: .error, transactionID: request.transactionID)
    reply.append(Stun.errorCode, StunMessage.errorCodeValue(code, reason: reason))
    if !unknown.isEmpty {
      var w = ByteWriter(capacity: unknown.count * 2)
      for t in unknown { w.u16(t) }
      reply.append(Stun.unknownAttributes, w.bytes)
    }
    return reply.encode(integrityKey: authenticated ? key : nil, fingerprint: true)
  }
}

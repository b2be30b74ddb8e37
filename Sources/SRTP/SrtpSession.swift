import CRTCam
import Synchronization
import Wire

/// Why an SRTP operation failed.
public enum SrtpError: Error, Equatable, Sendable {
  /// The packet failed authentication (tampered, or keyed differently): the operation.
  case authenticationFailed(String)
  /// The packet was already received, or is older than the replay window: the operation.
  case replayed(String)
  /// libsrtp2 returned another error: the operation and its `srtp_err_status_t`.
  case libsrtp(String, Int32)
  /// A key was not 16 bytes or a salt not 14 bytes.
  case badKeyLength
  /// The in-place buffer cannot hold the packet plus its authentication trailer.
  case bufferTooSmall(needed: Int, capacity: Int)
  /// Too short to be RTP/RTCP (or a length outside the buffer).
  case malformed

  /// The error for a failed libsrtp2 call, sorted into the cases callers tell apart.
  static func failed(_ operation: String, _ status: srtp_err_status_t) -> SrtpError {
    switch status {
    case srtp_err_status_auth_fail: return .authenticationFailed(operation)
    case srtp_err_status_replay_fail, srtp_err_status_replay_old: return .replayed(operation)
    default: return .libsrtp(operation, Int32(bitPattern: status.rawValue))
    }
  }

  /// Stable identifier for logs and status pages.
  public var code: String {
    switch self {
    case .authenticationFailed: return "SRTP_AUTH_FAILED"
    case .replayed: return "SRTP_REPLAY"
    case .libsrtp: return "SRTP_ERROR"
    case .badKeyLength: return "SRTP_BAD_KEY"
    case .bufferTooSmall: return "SRTP_BUFFER_TOO_SMALL"
    case .malformed: return "SRTP_MALFORMED"
    }
  }

  /// The packet failed authentication (tampered, or keyed differently).
  public var isAuthFailure: Bool {
    if case .authenticationFailed = self { return true }
    return false
  }

  /// The packet was already received (or is older than the replay window).
  public var isReplay: Bool {
    if case .replayed = self { return true }
    return false
  }
}

/// 0 = not started, 1 = initialising, 2 = done.
private let srtpInitState = Atomic<Int>(0)

/// Initialises libsrtp2 (srtp_init). Safe to call any number of times from any thread;
/// `SrtpSession.init` calls it too.
public func srtpInitialize() throws(SrtpError) {
  while true {
    if srtpInitState.load(ordering: .acquiring) == 2 { return }
    let (won, _) = srtpInitState.compareExchange(expected: 0, desired: 1, ordering: .acquiringAndReleasing)
    if won {
      let status = srtp_init()
      guard status == srtp_err_status_ok else {
        srtpInitState.store(0, ordering: .releasing)
        throw SrtpError.failed("srtp_init", status)
      }
      srtpInitState.store(2, ordering: .releasing)
      return
    }
    sched_yield()  // another thread is initialising
  }
}

/// The SRTP state of one association: outbound packets are protected with the local master
/// key and salt, inbound ones checked with the remote pair (SRTP_AES128_CM_HMAC_SHA1_80 for
/// RTP and RTCP, any SSRC, 1024-packet replay window). Retransmissions may reuse a sequence
/// number (`allow_repeat_tx`), as RTX-less NACK handling resends the original packet.
///
/// Not thread-safe: use a session from one thread at a time.
public final class SrtpSession {
  /// Room to leave after a packet for in-place protection (10-byte RTP tag; RTCP adds a
  /// 4-byte index to its tag). Buffers need `length + trailerCapacity` bytes.
  public static let trailerCapacity = 16
  public static let keyLength = 16
  public static let saltLength = 14
  static let rtpHeaderLength = 12
  static let rtcpHeaderLength = 8

  private var tx: srtp_t? = nil
  private var rx: srtp_t? = nil

  /// - Parameters: 16-byte master keys and 14-byte master salts, e.g. from
  ///   `DTLS.SrtpKeyMaterial` (local = what this side sends with).
  public init(localKey: [UInt8], localSalt: [UInt8], remoteKey: [UInt8], remoteSalt: [UInt8]) throws(SrtpError) {
    guard localKey.count == SrtpSession.keyLength, remoteKey.count == SrtpSession.keyLength,
      localSalt.count == SrtpSession.saltLength, remoteSalt.count == SrtpSession.saltLength
    else { throw .badKeyLength }
    try srtpInitialize()
    tx = try SrtpSession.create(key: localKey + localSalt, direction: ssrc_any_outbound)
    rx = try SrtpSession.create(key: remoteKey + remoteSalt, direction: ssrc_any_inbound)
  }

  deinit {
    if let tx { _ = srtp_dealloc(tx) }
    if let rx { _ = srtp_dealloc(rx) }
  }

  private static func create(key: [UInt8], direction: srtp_ssrc_type_t) throws(SrtpError) -> srtp_t {
    var keyBytes = key
    var session: srtp_t? = nil
    let status = keyBytes.withUnsafeMutableBufferPointer { k -> srtp_err_status_t in
      var policy = srtp_policy_t()
      // SRTP_AES128_CM_HMAC_SHA1_80 (RFC 5764 section 4.1.2) for both RTP and RTCP.
      srtp_crypto_policy_set_rtp_default(&policy.rtp)
      srtp_crypto_policy_set_rtcp_default(&policy.rtcp)
      policy.ssrc.type = direction
      policy.ssrc.value = 0
      policy.key = k.baseAddress
      policy.window_size = 1024
      policy.allow_repeat_tx = 1
      policy.next = nil
      return srtp_create(&session, &policy)  // copies the key
    }
    for i in 0..<keyBytes.count { keyBytes[i] = 0 }
    guard status == srtp_err_status_ok, let session else {
      throw SrtpError.failed("srtp_create", status)
    }
    return session
  }

  // MARK: - Outbound (in place)

  /// Protects the RTP packet in `buffer[0..<length]` in place and returns the SRTP length.
  /// `buffer.count` must be at least `length + trailerCapacity`.
  public func protectRtp(_ buffer: UnsafeMutableRawBufferPointer, length: Int) throws(SrtpError) -> Int {
    try SrtpSession.check(buffer, length, minimum: SrtpSession.rtpHeaderLength)
    guard let tx, let base = buffer.baseAddress else { throw .malformed }
    var len = Int32(length)
    let status = srtp_protect(tx, base, &len)
    guard status == srtp_err_status_ok else { throw SrtpError.failed("srtp_protect", status) }
    return Int(len)
  }

  /// Protects the RTCP compound packet in `buffer[0..<length]` in place (SRTCP, encrypted)
  /// and returns the SRTCP length. `buffer.count` must be at least `length + trailerCapacity`.
  public func protectRtcp(_ buffer: UnsafeMutableRawBufferPointer, length: Int) throws(SrtpError) -> Int {
    try SrtpSession.check(buffer, length, minimum: SrtpSession.rtcpHeaderLength)
    guard let tx, let base = buffer.baseAddress else { throw .malformed }
    var len = Int32(length)
    let status = srtp_protect_rtcp(tx, base, &len)
    guard status == srtp_err_status_ok else {
      throw SrtpError.failed("srtp_protect_rtcp", status)
    }
    return Int(len)
  }

  // MARK: - Inbound

  /// Verifies and decrypts an SRTCP packet from the peer in place; returns the plain length.
  public func unprotectRtcp(_ buffer: UnsafeMutableRawBufferPointer, length: Int) throws(SrtpError) -> Int {
    // header + 4-byte SRTCP index + 10-byte tag
    guard length >= SrtpSession.rtcpHeaderLength + 14, length <= buffer.count, length <= Int(Int32.max),
      let rx, let base = buffer.baseAddress
    else { throw .malformed }
    var len = Int32(length)
    let status = srtp_unprotect_rtcp(rx, base, &len)
    guard status == srtp_err_status_ok else {
      throw SrtpError.failed("srtp_unprotect_rtcp", status)
    }
    return Int(len)
  }

  /// Verifies and decrypts an SRTP packet from the peer in place; returns the plain length.
  public func unprotectRtp(_ buffer: UnsafeMutableRawBufferPointer, length: Int) throws(SrtpError) -> Int {
    guard length >= SrtpSession.rtpHeaderLength + 10, length <= buffer.count, length <= Int(Int32.max),
      let rx, let base = buffer.baseAddress
    else { throw .malformed }
    var len = Int32(length)
    let status = srtp_unprotect(rx, base, &len)
    guard status == srtp_err_status_ok else { throw SrtpError.failed("srtp_unprotect", status) }
    return Int(len)
  }

  private static func check(_ buffer: UnsafeMutableRawBufferPointer, _ length: Int, minimum: Int) throws(SrtpError) {
    guard length >= minimum, length <= Int(Int32.max) - trailerCapacity else { throw .malformed }
    guard buffer.count >= length + trailerCapacity else {
      throw .bufferTooSmall(needed: length + trailerCapacity, capacity: buffer.count)
    }
  }
}

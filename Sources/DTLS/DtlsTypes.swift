// DTLS-SRTP roles, events and the exported SRTP key material.
import CRTCam
import Wire

/// SRTP master keys exported from a DTLS-SRTP handshake (RFC 5764 section 4.2), already split
/// into what this side sends with (`local`) and what it receives with (`remote`).
public struct SrtpKeyMaterial: Equatable, Sendable {
  /// 16-byte master key for packets this side protects.
  public var localKey: [UInt8]
  /// 14-byte master salt for packets this side protects.
  public var localSalt: [UInt8]
  /// 16-byte master key for packets the peer protects.
  public var remoteKey: [UInt8]
  /// 14-byte master salt for packets the peer protects.
  public var remoteSalt: [UInt8]
  /// Negotiated DTLS-SRTP protection profile (0x0001 = SRTP_AES128_CM_HMAC_SHA1_80).
  public var profile: UInt16

  public init(localKey: [UInt8], localSalt: [UInt8], remoteKey: [UInt8], remoteSalt: [UInt8], profile: UInt16) {
    self.localKey = localKey
    self.localSalt = localSalt
    self.remoteKey = remoteKey
    self.remoteSalt = remoteSalt
    self.profile = profile
  }

  /// SRTP_AES128_CM_HMAC_SHA1_80, the only profile rtcam negotiates.
  public static let aes128CmHmacSha1_80: UInt16 = 0x0001
  /// "EXTRACTOR-dtls_srtp" output length for that profile: 2 * (16 + 14).
  public static let exporterLength = 60

  /// Splits the 60 exporter bytes (client key | server key | client salt | server salt).
  /// The DTLS client sends with the client half.
  public init?(exported: [UInt8], isClient: Bool, profile: UInt16 = SrtpKeyMaterial.aes128CmHmacSha1_80) {
    guard exported.count == SrtpKeyMaterial.exporterLength else { return nil }
    let clientKey = Array(exported[0..<16])
    let serverKey = Array(exported[16..<32])
    let clientSalt = Array(exported[32..<46])
    let serverSalt = Array(exported[46..<60])
    if isClient {
      self.init(localKey: clientKey, localSalt: clientSalt, remoteKey: serverKey, remoteSalt: serverSalt, profile: profile)
    } else {
      self.init(localKey: serverKey, localSalt: serverSalt, remoteKey: clientKey, remoteSalt: clientSalt, profile: profile)
    }
  }
}

/// Which side of the handshake an endpoint plays. rtcam answers `a=setup:actpass` with
/// `a=setup:active` and is the client; `.server` exists so tests can stand in for a browser.
public enum DtlsRole: Equatable, Sendable {
  case client
  case server
}

/// What an endpoint reports (`DtlsOutput.event`).
public enum DtlsEvent: Equatable, Sendable {
  /// Handshake complete, peer certificate matches the expected fingerprint, SRTP profile
  /// negotiated: install these keys. Reported at most once.
  case connected(SrtpKeyMaterial)
  /// The association failed (reported at most once; no keys are reported after it).
  case failed(DtlsError)
  /// The peer closed the association with close_notify.
  case closed
  /// Application data from the peer (diagnostics and tests; media goes through SRTP).
  case data([UInt8])
}

/// What a `DtlsEndpoint` asks of its caller (`pollOutput`).
public enum DtlsOutput: Equatable, Sendable {
  /// A datagram for the peer.
  case transmit([UInt8])
  case event(DtlsEvent)
  /// Nothing more now; call `handleTimeout` at this time (nil: no timer runs).
  case timeout(UInt64?)
}

/// One DTLS 1.2 association (mbedTLS) over in-memory datagram queues. It never touches
/// sockets or clocks: feed it datagrams with `receive`, drive retransmissions with
/// `handleTimeout` at `nextTimeout`, and carry out what `pollOutput` returns.
///
/// Not thread-safe: use an endpoint from one thread at a time.

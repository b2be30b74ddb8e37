/// Why an offer cannot be answered. Every parser and negotiation failure is one of these; nothing
/// in this module traps on bad input.
public enum SdpError: Error, Equatable, Sendable {
  /// The text is not SDP we understand; the message says which line and what.
  case malformed(String)
  /// More than 64 KiB, more than 4096 lines or more than 16 m-sections.
  case tooLarge
  /// No active video m-section that rtcam can send to (none at all, port 0, the browser only
  /// wants to send or is inactive, or a transport other than UDP/TLS/RTP/SAVPF).
  case noVideo
  /// Video is offered but without a usable H.264 format (packetization-mode=1 and a profile
  /// whose decoder handles constrained baseline).
  case noH264
  /// The video m-section has no valid a=ice-ufrag / a=ice-pwd (neither media- nor session-level).
  case missingIceCredentials
  /// No a=fingerprint, or not a sha-256 one (32 bytes).
  case missingFingerprint
  /// The offer's a=setup value cannot work with rtcam as the DTLS client ("" when absent).
  case unsupportedSetup(String)
  /// The video m-section lacks a=rtcp-mux.
  case noRtcpMux

  /// Stable upper-case code for HTTP error bodies.
  public var code: String {
    switch self {
    case .malformed: return "SDP_MALFORMED"
    case .tooLarge: return "SDP_TOO_LARGE"
    case .noVideo: return "NO_VIDEO"
    case .noH264: return "NO_H264"
    case .missingIceCredentials: return "MISSING_ICE_CREDENTIALS"
    case .missingFingerprint: return "MISSING_FINGERPRINT"
    case .unsupportedSetup: return "UNSUPPORTED_SETUP"
    case .noRtcpMux: return "NO_RTCP_MUX"
    }
  }

  /// One plain sentence for people.
  public var message: String {
    switch self {
    case .malformed(let what):
      return "The SDP offer is malformed: " + what + "."
    case .tooLarge:
      return "The SDP offer is too large (limits: 64 KiB, 4096 lines, 16 media sections)."
    case .noVideo:
      return "The SDP offer has no active video section that can receive video (add a recvonly video transceiver)."
    case .noH264:
      return "The browser offered no usable H.264 video (packetization-mode=1, constrained baseline); Firefox needs its OpenH264 plugin enabled to play this camera."
    case .missingIceCredentials:
      return "The SDP offer has no valid ICE credentials (a=ice-ufrag and a=ice-pwd)."
    case .missingFingerprint:
      return "The SDP offer has no sha-256 DTLS fingerprint (a=fingerprint:sha-256)."
    case .unsupportedSetup(let value):
      if value.isEmpty {
        return "The SDP offer has no a=setup attribute; rtcam needs a=setup:actpass or a=setup:passive."
      }
      return "The SDP offer's a=setup:" + value + " is not supported; rtcam is the DTLS client and needs a=setup:actpass or a=setup:passive."
    case .noRtcpMux:
      return "The SDP offer does not allow RTP/RTCP multiplexing (a=rtcp-mux), which rtcam requires."
    }
  }
}

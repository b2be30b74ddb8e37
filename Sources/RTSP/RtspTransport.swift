// RTSP Transport header (RFC 2326 section 12.39): the client's choices, the one rtcam takes and
// the answer. RTP over the RTSP connection (interleaved) or unicast UDP; no multicast.
import Wire

/// How one client gets its RTP and RTCP.
public enum RtspTransport: Equatable, Sendable {
  /// `RTP/AVP/TCP;unicast;interleaved=RTP-RTCP`: on the RTSP connection, these channels.
  case interleaved(rtp: UInt8, rtcp: UInt8)
  /// `RTP/AVP;unicast;client_port=RTP-RTCP`: datagrams to these ports of the client's address.
  case udp(rtp: Int, rtcp: Int)

  /// The Transport header of the SETUP response: what was taken, the server's ports for UDP
  /// (where RTCP comes from and goes to) and the stream's SSRC (8 hex digits).
  public func answer(serverPorts: (rtp: Int, rtcp: Int), ssrc: UInt32) -> String {
    let hex = String(ssrc, radix: 16, uppercase: true)
    let id = String(repeating: "0", count: max(0, 8 - hex.utf8.count)) + hex
    switch self {
    case .interleaved(let a, let b):
      return "RTP/AVP/TCP;unicast;interleaved=" + String(a) + "-" + String(b) + ";ssrc=" + id
    case .udp(let a, let b):
      return "RTP/AVP;unicast;client_port=" + String(a) + "-" + String(b) + ";server_port="
        + String(serverPorts.rtp) + "-" + String(serverPorts.rtcp) + ";ssrc=" + id
    }
  }

  /// The first of the client's comma-separated choices rtcam supports, or nil (461).
  public static func choose(_ header: String) -> RtspTransport? {
    for choice in header.splitASCII(UInt8(ascii: ",")) {
      if let t = parse(choice) { return t }
    }
    return nil
  }

  /// One transport spec: "RTP/AVP[/UDP|/TCP]" and its parameters.
  static func parse(_ spec: String) -> RtspTransport? {
    let params = spec.splitASCII(UInt8(ascii: ";")).map { trimOWS($0) }
    guard let proto = params.first?.asciiLowercased else { return nil }
    let tcp: Bool
    switch proto {
    case "rtp/avp", "rtp/avp/udp": tcp = false
    case "rtp/avp/tcp": tcp = true
    default: return nil
    }
    var interleaved: (Int, Int)? = nil
    var ports: (Int, Int)? = nil
    for p in params.dropFirst() {
      let kv = p.splitASCII(UInt8(ascii: "="), maxSplits: 1)
      let key = kv[0].asciiLowercased
      let value = kv.count > 1 ? kv[1] : ""
      switch key {
      case "multicast": return nil
      case "interleaved":
        guard let r = range(value, max: 255) else { return nil }
        interleaved = r
      case "client_port":
        guard let r = range(value, max: 65_535), r.0 > 0 else { return nil }
        ports = r
      default: continue  // unicast, mode=play, ttl, ssrc, ...: nothing to check
      }
    }
    if tcp {
      let (a, b) = interleaved ?? (0, 1)
      return .interleaved(rtp: UInt8(a), rtcp: UInt8(b))
    }
    guard let (a, b) = ports else { return nil }
    return .udp(rtp: a, rtcp: b)
  }

  /// "a-b" or "a" (then b = a + 1), both within 0...max and different.
  static func range(_ s: String, max: Int) -> (Int, Int)? {
    let parts = s.splitASCII(UInt8(ascii: "-"))
    guard parts.count <= 2, let a = parseDecimal(parts[0], max: UInt64(max)) else { return nil }
    if parts.count == 1 { return a + 1 <= max ? (a, a + 1) : nil }
    guard let b = parseDecimal(parts[1], max: UInt64(max)), b != a else { return nil }
    return (a, b)
  }
}

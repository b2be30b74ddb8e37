// Copy-in/copy-out forms of SrtpSession's in-place calls, for tests and the browser-side role
// they play (rtcam itself protects and unprotects in its own buffers).
import SRTP

extension SrtpSession {
  /// `protectRtp(_:length:)` on a copy of `packet`; returns the SRTP packet.
  public func protectRtp(_ packet: [UInt8]) throws(SrtpError) -> [UInt8] {
    var buf = packet + [UInt8](repeating: 0, count: SrtpSession.trailerCapacity)
    let result = buf.withUnsafeMutableBytes { b in Result { () throws(SrtpError) -> Int in try protectRtp(b, length: packet.count) } }
    return Array(buf[0..<(try result.get())])
  }

  /// `protectRtcp(_:length:)` on a copy of `packet`; returns the SRTCP packet.
  public func protectRtcp(_ packet: [UInt8]) throws(SrtpError) -> [UInt8] {
    var buf = packet + [UInt8](repeating: 0, count: SrtpSession.trailerCapacity)
    let result = buf.withUnsafeMutableBytes { b in Result { () throws(SrtpError) -> Int in try protectRtcp(b, length: packet.count) } }
    return Array(buf[0..<(try result.get())])
  }

  /// Verifies and decrypts a copy of an SRTCP packet; returns the plain RTCP.
  public func unprotectRtcp(_ datagram: [UInt8]) throws(SrtpError) -> [UInt8] {
    var buf = datagram
    let result = buf.withUnsafeMutableBytes { b in Result { () throws(SrtpError) -> Int in try unprotectRtcp(b, length: datagram.count) } }
    return Array(buf[0..<(try result.get())])
  }

  /// Verifies and decrypts a copy of an SRTP packet; returns the plain RTP.
  public func unprotectRtp(_ datagram: [UInt8]) throws(SrtpError) -> [UInt8] {
    var buf = datagram
    let result = buf.withUnsafeMutableBytes { b in Result { () throws(SrtpError) -> Int in try unprotectRtp(b, length: datagram.count) } }
    return Array(buf[0..<(try result.get())])
  }
}

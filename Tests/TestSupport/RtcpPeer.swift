// RTCP the other end sends, which rtcam itself does not: BYE (RFC 3550 section 6.6).
import RTP
import Wire

/// Appends a BYE packet for `ssrc` (sent when a stream ends).
public func writeBye(ssrc: UInt32, into w: inout ByteWriter) {
  w.u8(0x81)
  w.u8(RtcpType.bye)
  w.u16(1)
  w.u32(ssrc)
}

// RTCP the other end sends or computes, which rtcam itself does not: BYE and the compact NTP
// time of report blocks (RFC 3550 sections 6.4.1 and 6.6).
import RTP
import Wire

/// The middle 32 bits of an NTP timestamp, as used by report blocks (LSR) and DLSR arithmetic.
public func ntpCompact(_ ntp: UInt64) -> UInt32 {
  UInt32(truncatingIfNeeded: ntp >> 16)
}

/// Appends a BYE packet for `ssrc` (sent when a stream ends).
public func writeBye(ssrc: UInt32, into w: inout ByteWriter) {
  w.u8(0x81)
  w.u8(RtcpType.bye)
  w.u16(1)
  w.u32(ssrc)
}

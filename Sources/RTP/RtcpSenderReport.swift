// Writing RTCP: the sender report with its SDES CNAME (RFC 3550 sections 6.4.1 and 6.5).
import Wire

/// Appends a compound RTCP packet: a sender report without report blocks followed by an SDES
/// packet with one CNAME chunk (CNAME truncated to 255 bytes). Ready for SRTCP protection.
public func writeSenderReport(
  ssrc: UInt32, ntpTime: UInt64, rtpTimestamp: UInt32, packetCount: UInt32, octetCount: UInt32,
  cname: String, into w: inout ByteWriter
) {
  // SR: V=2, RC=0, PT=200, length 6 (7 words).
  w.u8(0x80)
  w.u8(RtcpType.senderReport)
  w.u16(6)
  w.u32(ssrc)
  w.u64(ntpTime)
  w.u32(rtpTimestamp)
  w.u32(packetCount)
  w.u32(octetCount)

  // SDES: V=2, SC=1, PT=202; chunk = SSRC, CNAME item, then a null item padded to 32 bits.
  let nameLength = min(cname.utf8.count, 255)
  let itemsLength = 2 + nameLength
  let padding = 4 - itemsLength % 4  // 1...4 zero bytes: terminates the item list
  let words = (4 + itemsLength + padding) / 4
  w.u8(0x81)
  w.u8(RtcpType.sdes)
  w.u16(UInt16(words))
  w.u32(ssrc)
  w.u8(1)  // CNAME
  w.u8(UInt8(nameLength))
  for c in cname.utf8.prefix(nameLength) { w.u8(c) }
  w.zeros(padding)
}

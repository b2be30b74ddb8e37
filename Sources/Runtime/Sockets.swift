// C socket addresses <-> the cores' SocketAddress, and interface listing.
import CRTCam
import Wire

/// Converts between the cores' SocketAddress and the C socket address.
/// No allocation: the address bytes go through a 16-byte stack value (this runs per datagram).
func socketAddress(_ a: rtc_addr) -> SocketAddress {
  var copy = a
  var bytes: (UInt64, UInt64) = (0, 0)
  return withUnsafeMutableBytes(of: &bytes) { b in
    let n = rtc_addr_bytes(&copy, b.baseAddress!.assumingMemoryBound(to: UInt8.self))
    return SocketAddress(bytes: UnsafeRawBufferPointer(rebasing: b[0..<Int(max(0, min(n, 16)))]),
      port: UInt16(truncatingIfNeeded: rtc_addr_port(&copy)))
  }
}

func cAddress(_ a: SocketAddress, forIPv6Socket v6: Bool) -> rtc_addr? {
  var out = rtc_addr()
  let text = (v6 && a.isIPv4) ? "::ffff:" + a.ipString : a.ipString
  guard rtc_addr_parse(text, a.port, &out) == 0 else { return nil }
  return out
}


/// Gathers interface addresses from rtc_list_interface_addrs's callback.
final class AddressCollector { var list: [SocketAddress] = [] }

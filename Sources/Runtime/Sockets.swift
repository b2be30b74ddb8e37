// C socket addresses <-> the cores' SocketAddress, and interface listing.
import CRTCam
import Wire

/// Converts between the cores' SocketAddress and the C socket address.
func socketAddress(_ a: rtc_addr) -> SocketAddress {
  var copy = a
  var bytes = [UInt8](repeating: 0, count: 16)
  let n = bytes.withUnsafeMutableBufferPointer { rtc_addr_bytes(&copy, $0.baseAddress) }
  return SocketAddress(ip: Array(bytes[0..<Int(max(0, n))]), port: UInt16(truncatingIfNeeded: rtc_addr_port(&copy)))
}

func cAddress(_ a: SocketAddress, forIPv6Socket v6: Bool) -> rtc_addr? {
  var out = rtc_addr()
  let text = (v6 && a.isIPv4) ? "::ffff:" + a.ipString : a.ipString
  guard rtc_addr_parse(text, a.port, &out) == 0 else { return nil }
  return out
}

func errnoText(_ e: Int32) -> String { String(cString: strerror(e)) }

/// Gathers interface addresses from rtc_list_interface_addrs's callback.
final class AddressCollector { var list: [SocketAddress] = [] }

/// A transport address (IP + port) as plain bytes, so that protocol cores stay free of
/// socket types. The event loop converts it to and from `sockaddr`.
public struct SocketAddress: Hashable, Sendable {
  /// 4 bytes for IPv4, 16 for IPv6.
  public var ip: [UInt8]
  public var port: UInt16

  public init(ip: [UInt8], port: UInt16) {
    self.ip = ip
    self.port = port
  }

  public var isIPv4: Bool { ip.count == 4 }

  /// Parses dotted IPv4 ("127.0.0.1"); IPv6 text is parsed by the event loop (inet_pton).
  public init?(ipv4 text: String, port: UInt16) {
    let parts = text.splitASCII(UInt8(ascii: "."))
    guard parts.count == 4 else { return nil }
    var b: [UInt8] = []
    for p in parts {
      guard p.utf8.count <= 3, let v = parseDecimal(p, max: 255) else { return nil }
      b.append(UInt8(v))
    }
    self.init(ip: b, port: port)
  }

  /// "1.2.3.4" or RFC 5952-ish "2001:db8::1" (zero runs compressed).
  public var ipString: String {
    if ip.count == 4 {
      return "\(ip[0]).\(ip[1]).\(ip[2]).\(ip[3])"
    }
    guard ip.count == 16 else { return "?" }
    var groups: [UInt16] = []
    for i in 0..<8 { groups.append(UInt16(ip[2 * i]) << 8 | UInt16(ip[2 * i + 1])) }
    // longest run of zero groups (length >= 2)
    var bestStart = -1, bestLen = 0, i = 0
    while i < 8 {
      if groups[i] == 0 {
        var j = i
        while j < 8 && groups[j] == 0 { j += 1 }
        if j - i > bestLen && j - i >= 2 { bestStart = i; bestLen = j - i }
        i = j
      } else { i += 1 }
    }
    var out = ""
    var k = 0
    while k < 8 {
      if k == bestStart {
        out += "::"
        k += bestLen
        continue
      }
      if !out.isEmpty && !out.hasSuffix(":") { out += ":" }
      out += hex16(groups[k])
      k += 1
    }
    return out
  }

  /// "1.2.3.4:5" or "[::1]:5".
  public var description: String {
    ip.count == 16 ? "[\(ipString)]:\(port)" : "\(ipString):\(port)"
  }
}

func hex16(_ v: UInt16) -> String {
  if v == 0 { return "0" }
  let d = Array("0123456789abcdef".utf8)
  var out: [UInt8] = []
  var started = false
  for shift in stride(from: 12, through: 0, by: -4) {
    let n = Int((v >> UInt16(shift)) & 15)
    if n != 0 || started { out.append(d[n]); started = true }
  }
  return String(decoding: out, as: UTF8.self)
}

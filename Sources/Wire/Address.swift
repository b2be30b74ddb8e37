/// A transport address (IP + port) as plain bytes, so that protocol cores stay free of
/// socket types. The event loop converts it to and from `sockaddr`.
///
/// A fixed-size value (no heap storage), so the receive path can make, compare and hash one per
/// datagram without allocating: the address bytes live in two integers, big-endian.
public struct SocketAddress: Hashable, Sendable {
  /// Address bytes 0-7 and 8-15 (an IPv4 address uses the first 4 bytes of `high`).
  var high: UInt64
  var low: UInt64
  /// 4 for IPv4, 16 for IPv6, 0 for an address of another length (invalid).
  let length: UInt8
  public var port: UInt16

  public init(ip: [UInt8], port: UInt16) {
    self = ip.withUnsafeBytes { SocketAddress(bytes: $0, port: port) }
  }

  /// From 4 (IPv4) or 16 (IPv6) address bytes; any other count gives an invalid address whose
  /// `ip` is empty.
  public init(bytes: UnsafeRawBufferPointer, port: UInt16) {
    var h: UInt64 = 0
    var l: UInt64 = 0
    let n = bytes.count == 4 || bytes.count == 16 ? bytes.count : 0
    for i in 0..<n {
      let b = UInt64(bytes[i])
      if i < 8 { h |= b << UInt64(56 - 8 * i) } else { l |= b << UInt64(56 - 8 * (i - 8)) }
    }
    high = h
    low = l
    length = UInt8(n)
    self.port = port
  }

  /// The same address with another port (no allocation): the host key of per-address limits.
  public func withPort(_ port: UInt16) -> SocketAddress {
    var a = self
    a.port = port
    return a
  }

  /// The address bytes: 4 for IPv4, 16 for IPv6 (allocates; not for the per-packet path).
  public var ip: [UInt8] {
    var out: [UInt8] = []
    out.reserveCapacity(Int(length))
    for i in 0..<Int(length) {
      out.append(UInt8(truncatingIfNeeded: (i < 8 ? high >> UInt64(56 - 8 * i) : low >> UInt64(56 - 8 * (i - 8)))))
    }
    return out
  }

  /// The address bytes (as `ip`) in a buffer on the stack, for the per-packet path.
  public func withIPBytes<R>(_ body: (UnsafeRawBufferPointer) -> R) -> R {
    var b = (high.bigEndian, low.bigEndian)
    return withUnsafeBytes(of: &b) { body(UnsafeRawBufferPointer(rebasing: $0[0..<Int(length)])) }
  }

  public var isIPv4: Bool { length == 4 }

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
    let ip = self.ip
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
    length == 16 ? "[\(ipString)]:\(port)" : "\(ipString):\(port)"
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

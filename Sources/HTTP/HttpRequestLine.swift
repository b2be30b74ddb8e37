// The request line (RFC 9112 section 3): method, request target in origin, absolute or asterisk
// form (section 3.2), and the HTTP version.
import Wire

extension HttpConnection {
  mutating func parseRequestLine(_ start: Int, _ end: Int) -> HttpError? {
    var sp: [Int] = []
    var i = start
    while i < end {
      let c = buf[i]
      if c == 32 {
        sp.append(i)
        if sp.count > 2 { return .badRequest("malformed request line") }
      } else if c <= 32 || c >= 127 {
        return .badRequest("invalid character in request line")
      }
      i += 1
    }
    guard sp.count == 2 else { return .badRequest("malformed request line") }
    let m = buf[start..<sp[0]]
    let t = Array(buf[(sp[0] + 1)..<sp[1]])
    let v = buf[(sp[1] + 1)..<end]
    guard !m.isEmpty, !t.isEmpty, !v.isEmpty else { return .badRequest("malformed request line") }
    // version
    let vs = String(decoding: v, as: UTF8.self)
    if vs != "HTTP/1.1" && vs != "HTTP/1.0" {
      let bytes = Array(v)
      if bytes.count > 5 && String(decoding: bytes[0..<5], as: UTF8.self) == "HTTP/"
        && bytes[5...].allSatisfy({ ($0 >= 48 && $0 <= 57) || $0 == 46 })
      {
        return HttpError(status: 505, code: "VERSION_NOT_SUPPORTED", message: "only HTTP/1.0 and HTTP/1.1 are supported")
      }
      return .badRequest("malformed HTTP version")
    }
    guard m.allSatisfy(isTchar) else { return .badRequest("invalid method") }
    let ms = String(decoding: m, as: UTF8.self)
    if ms == "CONNECT" {
      return HttpError(status: 501, code: "NOT_IMPLEMENTED", message: "CONNECT is not supported")
    }
    // target forms
    if t[0] == UInt8(ascii: "/") {
      guard !t.contains(UInt8(ascii: "#")) else { return .badRequest("fragment in request target") }
      let parts = splitTarget(t)
      path = parts.path
      query = parts.query
    } else if t.count == 1 && t[0] == UInt8(ascii: "*") {
      guard ms == "OPTIONS" else { return .badRequest("asterisk-form target is only valid for OPTIONS") }
      path = "*"
      query = nil
    } else {
      guard let parts = parseAbsoluteForm(t) else { return .badRequest("invalid request target") }
      path = parts.path
      query = parts.query
    }
    method = ms
    target = String(decoding: t, as: UTF8.self)
    version = vs
    return nil
  }

  /// "http://host[:port][/path][?query]" (scheme http or https, case-insensitive) -> path, query.
  func parseAbsoluteForm(_ t: [UInt8]) -> (path: String, query: String?)? {
    guard let colon = t.firstIndex(of: UInt8(ascii: ":")) else { return nil }
    let scheme = String(decoding: t[0..<colon], as: UTF8.self).asciiLowercased
    guard scheme == "http" || scheme == "https" else { return nil }
    let rest = t[(colon + 1)...]
    guard rest.count >= 2, rest.first == UInt8(ascii: "/"), rest.dropFirst().first == UInt8(ascii: "/") else { return nil }
    let afterSlashes = rest.dropFirst(2)
    guard !t.contains(UInt8(ascii: "#")) else { return nil }
    var hostEnd = afterSlashes.endIndex
    for i in afterSlashes.indices where afterSlashes[i] == UInt8(ascii: "/") || afterSlashes[i] == UInt8(ascii: "?") {
      hostEnd = i
      break
    }
    guard hostEnd > afterSlashes.startIndex else { return nil }  // empty host
    if hostEnd == t.count { return ("/", nil) }
    var pathAndQuery = Array(t[hostEnd...])
    if pathAndQuery[0] == UInt8(ascii: "?") { pathAndQuery.insert(UInt8(ascii: "/"), at: 0) }
    return splitTarget(pathAndQuery)
  }
}

// Reading small configuration files (the --config file, auth and token files, TLS keys) whole, bounded.
import App
import CRTCam

/// Why a file could not be read; the message names the file.
public struct FileReadError: Error, Equatable, Sendable {
  public var message: String
  public init(message: String) { self.message = message }
}

/// Reads a regular file of at most `maxBytes` (a configuration file, not a stream).
public func readSmallFile(_ path: String, maxBytes: Int = 1 << 20) throws(FileReadError) -> [UInt8] {
  let fd = rtc_open(path, O_RDONLY | O_CLOEXEC, 0)
  guard fd >= 0 else { throw FileReadError(message: "cannot open \(path): \(errnoText(rtc_errno()))") }
  defer { close(fd) }
  var st = stat()
  guard fstat(fd, &st) == 0, (st.st_mode & UInt32(S_IFMT)) == UInt32(S_IFREG) else {
    throw FileReadError(message: "\(path) is not a regular file")
  }
  guard Int(st.st_size) <= maxBytes else {
    throw FileReadError(message: "\(path) is larger than \(maxBytes) bytes")
  }
  var out: [UInt8] = []
  var chunk = [UInt8](repeating: 0, count: 4096)
  while true {
    let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
    if n == 0 { break }
    if n < 0 {
      if rtc_errno() == EINTR { continue }
      throw FileReadError(message: "cannot read \(path): \(errnoText(rtc_errno()))")
    }
    out.append(contentsOf: chunk[0..<n])
    guard out.count <= maxBytes else { throw FileReadError(message: "\(path) is larger than \(maxBytes) bytes") }
  }
  return out
}

/// Reads one line from standard input (without its newline), at most `maxBytes`.
public func readLineFromStdin(maxBytes: Int = 4096) -> String? {
  var out: [UInt8] = []
  var byte: UInt8 = 0
  while out.count < maxBytes {
    let n = read(0, &byte, 1)
    if n <= 0 { return out.isEmpty ? nil : String(decoding: out, as: UTF8.self) }
    if byte == 10 { break }
    out.append(byte)
  }
  if out.last == 13 { out.removeLast() }
  return String(decoding: out, as: UTF8.self)
}

/// Writes a small file whole (created with `mode`, replaced if it exists), making its directory
/// if needed. For the state directory: the self-signed HTTPS identity.
public func writeSmallFile(_ path: String, _ bytes: [UInt8], mode: Int32 = 0o600) throws(FileReadError) {
  if let slash = path.utf8.lastIndex(of: UInt8(ascii: "/")), slash != path.utf8.startIndex {
    let dir = String(path[..<slash])
    if mkdir(dir, 0o700) != 0 && rtc_errno() != EEXIST {
      throw FileReadError(message: "cannot create \(dir): \(errnoText(rtc_errno()))")
    }
  }
  let fd = rtc_open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode)
  guard fd >= 0 else { throw FileReadError(message: "cannot write \(path): \(errnoText(rtc_errno()))") }
  defer { close(fd) }
  let n = bytes.withUnsafeBytes { rtc_write_all(fd, $0.baseAddress, $0.count) }
  guard n == 0 || n == bytes.count else { throw FileReadError(message: "cannot write \(path): \(errnoText(rtc_errno()))") }
}

/// Whether a path exists.
public func fileExists(_ path: String) -> Bool { access(path, F_OK) == 0 }

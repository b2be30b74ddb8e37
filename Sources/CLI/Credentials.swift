// The command line's side of access control: `rtcam passwd`, tokens, and reading the
// --auth-file / --token-file files into the options.
import App
import Runtime
import Wire

/// `rtcam passwd USER [--iterations N]`.
func parsePasswdOptions(_ args: [String]) throws(OptionError) -> Command {
  var user: String? = nil
  var iterations = PasswordHashLine.defaultIterations
  var reader = ArgumentReader(args, command: .passwd)
  while let a = try reader.next() {
    switch a {
    case .option(let spec, let v):
      guard spec.key == .iterations else { throw OptionError("unknown option '" + spec.name + "' for passwd") }
      iterations = try spec.number(v)
    case .unknown(_, let argument): throw OptionError("unknown option '" + argument + "' for passwd")
    case .word(let w):
      guard user == nil else { throw OptionError("passwd takes one user name") }
      do { try PasswordHashLine.checkUserName(w) } catch { throw OptionError("passwd: " + error.message) }
      user = w
    }
  }
  guard let u = user else { throw OptionError("usage: rtcam passwd USER [--iterations N] (the password is read from standard input)") }
  return .passwd(user: u, iterations: iterations)
}

/// A Bearer token rtcam accepts: 8-256 visible ASCII characters (RFC 6750 b64token and more).
func isValidToken(_ t: String) -> Bool {
  t.utf8.count >= 8 && t.utf8.count <= 256 && t.utf8.allSatisfy { $0 > 0x20 && $0 < 0x7F }
}

/// Reads the --auth-file and --token-file files into the options' AuthConfig. `read` returns a
/// file's bytes (the runtime's reader; a test's table). Errors name the file and the line.
public func loadCredentialFiles(_ o: inout ServeOptions, read: (String) throws(FileReadError) -> [UInt8])
  throws(OptionError)
{
  for path in o.authFiles {
    let bytes: [UInt8]
    do { bytes = try read(path) } catch { throw OptionError("--auth-file: " + error.message) }
    var n = 0
    for (index, raw) in bytes.split(separator: 10, omittingEmptySubsequences: false).enumerated() {
      let line = trimmedLine(raw)
      if line.isEmpty || line.hasPrefix("#") { continue }
      do { o.auth.users.append(try PasswordHashLine.parse(line)) } catch {
        throw OptionError("--auth-file " + path + " line " + String(index + 1) + ": " + error.message)
      }
      n += 1
    }
    guard n > 0 else { throw OptionError("--auth-file " + path + " holds no user (make lines with `rtcam passwd USER`)") }
  }
  for path in o.tokenFiles {
    let bytes: [UInt8]
    do { bytes = try read(path) } catch { throw OptionError("--token-file: " + error.message) }
    var n = 0
    for (index, raw) in bytes.split(separator: 10, omittingEmptySubsequences: false).enumerated() {
      let line = trimmedLine(raw)
      if line.isEmpty || line.hasPrefix("#") { continue }
      guard isValidToken(line) else {
        throw OptionError("--token-file " + path + " line " + String(index + 1) + ": a token must be 8-256 visible ASCII characters")
      }
      o.auth.addToken(line)
      n += 1
    }
    guard n > 0 else { throw OptionError("--token-file " + path + " holds no token") }
  }
}

/// A line's text without surrounding spaces, tabs and a CR (files written on Windows).
func trimmedLine(_ s: ArraySlice<UInt8>) -> String {
  var b = Array(s)
  while let l = b.last, l == 13 || l == 32 || l == 9 { b.removeLast() }
  while let f = b.first, f == 32 || f == 9 { b.removeFirst() }
  return String(decoding: b, as: UTF8.self)
}

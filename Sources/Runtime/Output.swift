// Process output: lines to stdout/stderr (one write each) and exiting.
import CRTCam

/// Exits the process with `code` after flushing stdout.
public func exitProcess(_ code: Int32) -> Never {
  fflush(nil)
  exit(code)
}

/// Writes a line to stdout (unbuffered: one write per line).
public func writeOut(_ line: String) {
  var bytes = Array(line.utf8)
  bytes.append(10)
  _ = rtc_write_all(1, bytes, bytes.count)
}

/// Writes a line to stderr.
public func writeErr(_ line: String) {
  var bytes = Array(line.utf8)
  bytes.append(10)
  _ = rtc_write_all(2, bytes, bytes.count)
}

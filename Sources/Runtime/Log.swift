import App
import CRTCam
import Synchronization
import Wire

/// Process-wide log threshold (LogLevel's raw value), set at start-up; read by both threads.
let logThresholdLevel = Atomic<Int>(LogLevel.info.rawValue)

/// Sets the level below which `log` writes nothing.
public func setLogThreshold(_ level: LogLevel) {
  logThresholdLevel.store(level.rawValue, ordering: .relaxed)
}

/// Whether a line at `level` would be written.
public func logs(_ level: LogLevel) -> Bool { level.rawValue <= logThresholdLevel.load(ordering: .relaxed) }

/// One line to stderr: "2026-11-21T19:42:31.123Z info  message". Each line is a single write(2),
/// so lines from the two threads never interleave. The message is built only if it is written.
/// Inlined where it is called, so the message is built there and the rest (`writeLogLine`) is
/// one function: a copy of the whole body per call site (what the optimizer made of the closure,
/// 60 copies, 40 KB of the aarch64 binary) is gone.
@inline(__always)
public func log(_ level: LogLevel, _ message: @autoclosure () -> String) {
  guard logs(level) else { return }
  writeLogLine(level, message())
}

/// Writes one log line at `level` (already checked).
@inline(never)
public func writeLogLine(_ level: LogLevel, _ message: String) {
  var tag = level.name
  while tag.utf8.count < 5 { tag += " " }
  writeErr(utcTimestamp(rtc_realtime_ns()) + " " + tag + " " + message)
}

/// ISO 8601 UTC with milliseconds.
public func utcTimestamp(_ unixNs: UInt64) -> String {
  // time_t is 32-bit on armhf (Debian 12's ABI): clamped rather than trapping after 2038.
  var secs = time_t(clamping: unixNs / 1_000_000_000)
  var tm = tm()
  gmtime_r(&secs, &tm)
  func pad(_ v: Int32, _ w: Int) -> String {
    var s = String(v)
    while s.utf8.count < w { s = "0" + s }
    return s
  }
  let ms = Int32((unixNs / 1_000_000) % 1000)
  return pad(tm.tm_year + 1900, 4) + "-" + pad(tm.tm_mon + 1, 2) + "-" + pad(tm.tm_mday, 2) + "T"
    + pad(tm.tm_hour, 2) + ":" + pad(tm.tm_min, 2) + ":" + pad(tm.tm_sec, 2) + "." + pad(ms, 3) + "Z"
}

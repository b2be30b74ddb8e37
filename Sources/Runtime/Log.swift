import App
import CRTCam
import Wire

/// Process-wide log threshold (set once at start-up, before threads start).
nonisolated(unsafe) public var logThreshold = LogLevel.info

/// One line to stderr: "2026-11-21T19:42:31.123Z info  message". Each line is a single write(2),
/// so lines from the two threads never interleave.
public func log(_ level: LogLevel, _ message: String) {
  guard level <= logThreshold else { return }
  var tag = level.name
  while tag.utf8.count < 5 { tag += " " }
  writeErr(utcTimestamp(rtc_realtime_ns()) + " " + tag + " " + message)
}

/// ISO 8601 UTC with milliseconds.
public func utcTimestamp(_ unixNs: UInt64) -> String {
  var secs = time_t(unixNs / 1_000_000_000)
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

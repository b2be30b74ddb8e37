import CRTCam
import Wire

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

/// Entry point shared by the device and host builds. Returns the process exit code.
public func runCommandLine(_ argv: [String]) -> Int32 {
  let args = Array(argv.dropFirst())
  for a in args {
    if a == "--version" || a == "-V" {
      writeOut("rtcam \(rtcamVersion) (\(buildArch), \(buildFlavor))")
      return 0
    }
    if a == "--help" || a == "-h" {
      writeOut(helpText)
      return 0
    }
  }
  if let first = args.first {
    writeErr("rtcam: unknown option '\(first)' (see rtcam --help)")
    return 2
  }
  writeOut(helpText)
  return 0
}

public let helpText = """
rtcam \(rtcamVersion) — a WebRTC camera in one static binary

Usage: rtcam [options]

Options:
  -h, --help       show this help and exit
  -V, --version    print the version and target architecture and exit
"""

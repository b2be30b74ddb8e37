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
  let command: Command
  do {
    command = try parseCommandLine(Array(argv.dropFirst()))
  } catch {
    writeErr("rtcam: \(error.message) (see rtcam --help)")
    return 2
  }
  switch command {
  case .help:
    writeOut(helpText)
    return 0
  case .version:
    writeOut("rtcam \(rtcamVersion) (\(buildArch), \(buildFlavor))")
    return 0
  case .serve(let options):
    return serve(options)
  case .probe(let options):
    return runProbe(options)
  case .devices(let json):
    return runDevices(json: json)
  }
}

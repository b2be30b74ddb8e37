import App
import CRTCam
import Runtime
import Wire

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

// The command line for pipe sources (`exec:COMMAND`, `rpicam`, `stdin:`): checking the command,
// `--rpicam-args`, and `rtcam probe` with them.
import App
import CRTCam
import Capture
import Runtime
import Wire

/// `--rpicam-args "ARGS"`: split like an exec: command.
func rpicamArgsOption(_ s: String) throws(OptionError) -> [String] {
  do { return try splitCommandLine(s) } catch { throw OptionError("--rpicam-args: " + error.message + " in '" + s + "'") }
}

/// Why an `exec:` source is not accepted, or nil when it is (or it is not exec:).
func execSourceProblem(_ s: String) -> String? {
  guard s.hasPrefix("exec:") else { return nil }
  let command = String(s.dropFirst(5))
  do {
    if try splitCommandLine(command).isEmpty { return "--source exec: needs a command, e.g. exec:my-camera --raw" }
  } catch {
    return "--source exec: " + error.message + " in '" + command + "'"
  }
  return nil
}

/// `rtcam probe` with a pipe source: starts it, captures and encodes the frames, stops it.
func probePipeSource(_ spec: SourceSpec, _ o: ProbeOptions, _ r: inout ProbeReport) {
  var po = PipeSourceOptions(width: o.width, height: o.height, fps: o.fps)
  r.format = FourCC.yu12.text
  do {
    var src: ProcessSource
    switch spec {
    case .exec(let command):
      src = try ProcessSource(name: spec.description, argv: (try? splitCommandLine(command)) ?? [], options: po)
    case .rpicam:
      po.rawLumaStride = rpicamLumaStride(width: o.width, pisp: runsOnPiSP())
      let argv = rpicamCommand(width: o.width, height: o.height, fps: o.fps, extra: o.rpicamArgs)
      src = try ProcessSource(name: "rpicam", argv: argv, options: po)
    default:
      po.frameTimeoutNs = nil
      src = try ProcessSource(standardInput: po)
    }
    probeFrames(&src, o, &r)
  } catch {
    r.fail(error.code, error.message)
  }
}

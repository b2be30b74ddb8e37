import CLI
import Runtime

// The process entry point. Embedded Swift has no `CommandLine`, so the device build takes
// argc/argv from C's main directly; the host build uses the standard library's.
#if hasFeature(Embedded)
@_cdecl("main")
func rtcamMain(_ argc: Int32, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>) -> Int32 {
  var args: [String] = []
  for i in 0..<Int(argc) {
    if let p = argv[i] { args.append(String(cString: p)) }
  }
  exitProcess(runCommandLine(args))
}
#else
@main
struct RTCamMain: Sendable {
  static func main() {
    exitProcess(runCommandLine(CommandLine.arguments))
  }
}
#endif

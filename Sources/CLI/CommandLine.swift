import App
import DTLS
import CRTCam
import Runtime
import Wire

/// Entry point shared by the device and host builds. Returns the process exit code.
public func runCommandLine(_ argv: [String]) -> Int32 {
  let args = Array(argv.dropFirst())
  var config: ConfigFile? = nil
  if let path = configPath(in: args) {
    do { config = ConfigFile(path: path, bytes: try readSmallFile(path, maxBytes: ConfigFile.maxBytes)) } catch {
      writeErr("rtcam: --config: " + error.message)
      return 2
    }
  }
  let command: Command
  do {
    command = try parseCommandLine(args, config: config)
  } catch {
    writeErr("rtcam: " + error.message + " (see rtcam --help)")
    return 2
  }
  switch command {
  case .help:
    writeOut(helpText)
    return 0
  case .reference(let format):
    #if hasFeature(Embedded)
    writeErr("rtcam: help " + format.flag + ": only the host build (swift build) prints it")
    return 2
    #else
    writeOut(format.text)
    return 0
    #endif
  case .version:
    writeOut("rtcam " + rtcamVersion + " (" + buildArch + ", " + buildFlavor + ")")
    return 0
  case .serve(var options):
    do { try loadCredentialFiles(&options) { path throws(FileReadError) in try readSmallFile(path, maxBytes: 1 << 16) } } catch {
      writeErr("rtcam: " + error.message)
      return 2
    }
    return serve(options)
  case .passwd(let user, let iterations):
    return runPasswd(user: user, iterations: iterations)
  case .probe(let options):
    return runProbe(options)
  case .devices(let json):
    return runDevices(json: json)
  }
}

/// `rtcam passwd USER`: reads the password (one line) from standard input and prints the
/// `--auth-file` line with a fresh random salt. The password never appears on the command line.
func runPasswd(user: String, iterations: Int) -> Int32 {
  guard let password = readLineFromStdin(), !password.isEmpty else {
    writeErr("rtcam passwd: no password on standard input (e.g. `read -rs P; echo \"$P\" | rtcam passwd " + user + "`)")
    return 2
  }
  let salt: [UInt8]
  do { salt = try DtlsRandom(personalization: "rtcam-passwd").bytes(16) } catch {
    writeErr("rtcam passwd: " + error.code + ": no randomness for the salt")
    return 1
  }
  guard let line = PasswordHashLine.make(user: user, password: password, salt: salt, iterations: iterations) else {
    writeErr("rtcam passwd: hashing failed")
    return 1
  }
  writeOut(line)
  return 0
}

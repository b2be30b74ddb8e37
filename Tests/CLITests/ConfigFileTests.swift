import Foundation
import Testing
import App
@testable import CLI

@Suite struct ConfigFileTests {
  func file(_ text: String, path: String = "/etc/rtcam/rtcam.conf") -> ConfigFile {
    ConfigFile(path: path, bytes: Array(text.utf8))
  }

  func serve(_ text: String, _ args: [String] = ["--config", "/etc/rtcam/rtcam.conf"]) throws -> ServeOptions {
    guard case .serve(let o) = try parseCommandLine(args, config: file(text)) else {
      Issue.record("expected serve")
      return ServeOptions()
    }
    return o
  }

  func message(_ text: String, _ args: [String] = ["--config", "/etc/rtcam/rtcam.conf"]) -> String? {
    do {
      _ = try parseCommandLine(args, config: file(text))
      return nil
    } catch {
      return error.message
    }
  }

  @Test func keysAreTheLongOptions() throws {
    let o = try serve("""
      # rtcam.conf
      source = exec:sh -c 'gen | filter # not a comment'
      size=320x240
      \tfps   =  15\r
      bitrate = 1.5M
      preset = quality

      listen = 127.0.0.1
      http-port = 9000
      udp-port = 9001
      ice-host = 127.0.0.1
      ice-host = ::1
      tls = self-signed
      https-port = 9443
      http-redirect = true
      state-dir = /var/lib/rtcam
      auth-file = /etc/rtcam/users
      token = abcdefgh12
      log-level = debug
      mjpeg-fps = 5
      """)
    #expect(o.source == "exec:sh -c 'gen | filter # not a comment'")
    #expect(o.width == 320 && o.height == 240 && o.fps == 15 && o.bitrate == 1_500_000 && o.preset == .quality)
    #expect(o.listen == "127.0.0.1" && o.httpPort == 9000 && o.udpPort == 9001)
    #expect(o.iceHosts == ["127.0.0.1", "::1"])
    #expect(o.tls == .selfSigned && o.httpsPort == 9443 && o.redirectHTTP)
    #expect(o.authFiles == ["/etc/rtcam/users"] && o.auth.tokenDigests.count == 1)
    #expect(o.logLevel == .debug && o.stills.streamFps == 5)
  }

  @Test func emptyAndCommentOnlyFilesGiveTheDefaults() throws {
    #expect(try serve("") == ServeOptions())
    #expect(try serve("# nothing\n\n   \n  # indented comment\n") == ServeOptions())
    #expect(try serve("http-redirect = false\n") == ServeOptions())
  }

  @Test func theCommandLineOverridesTheFile() throws {
    let text = "http-port = 9000\nfps = 10\nice-host = 10.0.0.1\nice-host = 10.0.0.2\ntoken = file-token-1\n"
    let o = try serve(text, ["serve", "--config", "x", "--http-port", "9100", "--ice-host=192.168.1.2"])
    #expect(o.httpPort == 9100 && o.fps == 10)
    // a repeatable option on the command line replaces the file's lines of that key, not others
    #expect(o.iceHosts == ["192.168.1.2"] && o.auth.tokenDigests.count == 1)
    let p = try serve(text, ["--token", "cmdline-token", "--config=x"])
    #expect(p.iceHosts == ["10.0.0.1", "10.0.0.2"] && p.auth.tokenDigests.count == 1)
    guard case .serve(let alone) = try parseCommandLine(["--token", "cmdline-token"]) else { throw OptionError("") }
    #expect(p.auth.tokenDigests == alone.auth.tokenDigests)
    // the command line's --help still wins
    #expect(try parseCommandLine(["--config", "x", "--help"], config: file("fps = 0\n")) == .help)
  }

  @Test func badLinesNameFileAndLine() {
    let cases: [(String, String)] = [
      ("fps = 10\nframerate = 30\n", "/etc/rtcam/rtcam.conf:2: unknown key 'framerate'"),
      ("# c\nhttp-port = 0\n", "/etc/rtcam/rtcam.conf:2: --http-port must be a whole number from 1 to 65535, not '0'"),
      ("listen = example.com\n", "/etc/rtcam/rtcam.conf:1: --listen must be a numeric IP address"),
      ("\n\nsize 640x480\n", "/etc/rtcam/rtcam.conf:3: expected 'key = value' (there is no '=')"),
      ("--fps = 3\n", "/etc/rtcam/rtcam.conf:1: '--fps' is not a key"),
      ("Fps = 3\n", "/etc/rtcam/rtcam.conf:1: 'Fps' is not a key"),
      (" = 3\n", "/etc/rtcam/rtcam.conf:1: '' is not a key"),
      ("fps = 10\nfps = 20\n", "/etc/rtcam/rtcam.conf:2: fps is set again (first on line 1)"),
      ("http-redirect = yes\n", "/etc/rtcam/rtcam.conf:1: http-redirect must be true or false, not 'yes'"),
      ("http-redirect = true\n", "/etc/rtcam/rtcam.conf:1: --http-redirect needs HTTPS"),
      ("config = /etc/other.conf\n", "/etc/rtcam/rtcam.conf:1: a config file cannot name another config file"),
      ("help = true\n", "/etc/rtcam/rtcam.conf:1: unknown key 'help'"),
      ("serve = 1\n", "/etc/rtcam/rtcam.conf:1: unknown key 'serve'"),
      ("source =\n", "/etc/rtcam/rtcam.conf:1: --source must be"),
      ("token = short\n", "/etc/rtcam/rtcam.conf:1: --token must be"),
      ("auth = cam:\n", "/etc/rtcam/rtcam.conf:1: --auth: the password must not be empty"),
      ("fps = 1\0\n", "/etc/rtcam/rtcam.conf:1: control character 0"),
      ("fps = 30\nrpicam-args = --hflip\n", "/etc/rtcam/rtcam.conf:2: --rpicam-args goes with --source rpicam"),
      ("udp-port = 8080\n", "/etc/rtcam/rtcam.conf:1: --http-port and --udp-port must differ"),
      ("tls-cert = /a.pem\n", "/etc/rtcam/rtcam.conf:1: --tls-cert and --tls-key go together"),
    ]
    for (text, want) in cases {
      let got = message(text)
      #expect(got?.hasPrefix(want) == true, "\(text.debugDescription): \(got ?? "parsed")")
    }
    // a clash between the file and the command line points at the file's line
    #expect(message("udp-port = 9001\n", ["--config", "x", "--http-port", "9001"])
      == "/etc/rtcam/rtcam.conf:1: --http-port and --udp-port must differ")
    // an error that comes from the command line alone carries no file:line
    #expect(message("fps = 10\n", ["--config", "x", "--http-port", "8189"]) == "--http-port and --udp-port must differ")
    #expect(message("fps = 10\n", ["--config", "x", "--fps", "0"])?.hasPrefix("--fps must be") == true)
    #expect(message("", ["--config", "x", "--bogus"]) == "unknown option '--bogus'")
    // a secret on a line without '=' is not repeated in the message
    #expect(message("auth cam:hunter2-secret\n")?.contains("hunter2") == false)
  }

  @Test func invalidUtf8IsRefused() {
    let bytes: [UInt8] = Array("fps = 10\nsource = y4m:/tmp/".utf8) + [0xff, 0xfe] + [10]
    do {
      _ = try parseConfigLines(ConfigFile(path: "c", bytes: bytes))
      Issue.record("parsed")
    } catch {
      #expect(error.message == "c:2: the line is not valid UTF-8")
    }
  }

  @Test func sizeAndLineLengthAreBounded() throws {
    let long = "source = exec:" + String(repeating: "x", count: ConfigFile.maxLineBytes) + "\n"
    #expect(message(long)?.hasPrefix("/etc/rtcam/rtcam.conf:1: the line is longer than 8192 bytes") == true)
    // a 4096-byte exec: command (the longest value rtcam takes) fits in a line
    let command = "exec:" + String(repeating: "a", count: 4091)
    #expect(try serve("source = " + command + "\n").source == command)
    let big = String(repeating: "# padding padding padding padding padding padding padding padding\n", count: 1100)
    #expect(big.utf8.count > ConfigFile.maxBytes)
    #expect(message(big) == "/etc/rtcam/rtcam.conf is larger than 65536 bytes")
  }

  @Test func configOptionItself() {
    #expect(message("", ["--config"]) == "option --config needs a value")
    #expect(message("", ["--config", "a", "--config", "b"]) == "--config may be given once")
    #expect(message("", ["--config="]) == "--config needs a file name")
    #expect(configPath(in: ["--fps", "3", "--config", "/etc/rtcam/rtcam.conf"]) == "/etc/rtcam/rtcam.conf")
    #expect(configPath(in: ["serve", "--config=/c"]) == "/c")
    #expect(configPath(in: ["probe", "--config", "/c"]) == nil)
    #expect(configPath(in: ["--fps", "3"]) == nil)
    // without the file's contents the parser refuses rather than ignoring --config
    #expect(throws: OptionError.self) { try parseCommandLine(["--config", "/c"]) }
    #expect(helpText.contains("--config PATH"))
  }

  /// The commented default config in board/ must parse and equal the built-in defaults.
  @Test func boardConfigIsTheDefaults() throws {
    let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../board/rtcam.conf")
    let text = try String(contentsOf: url, encoding: .utf8)
    #expect(try serve(text) == ServeOptions())
    // each `# key = value` line shows the default: with all of them uncommented, still the defaults
    var uncommented: [String] = []
    var settings = 0
    for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
      if line.hasPrefix("# "), line.dropFirst(2).first?.isLowercase == true, line.contains(" = ") {
        uncommented.append(String(line.dropFirst(2)))
        settings += 1
      } else {
        uncommented.append(String(line))
      }
    }
    #expect(settings >= 19)
    #expect(try serve(uncommented.joined(separator: "\n")) == ServeOptions())
    #expect(text.contains("#   source = v4l2:/dev/video0"))
  }

  /// The whole CLI: a config file on disk, read by the runtime's reader, a bad line → exit 2.
  @Test func runCommandLineReadsTheFile() throws {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("rtcam-config-\(getpid())")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: dir) }
    let bad = dir.appendingPathComponent("bad.conf")
    try "fps = 30\nwidth = 640\n".write(to: bad, atomically: true, encoding: .utf8)
    #expect(runCommandLine(["rtcam", "--config", bad.path]) == 2)
    #expect(runCommandLine(["rtcam", "--config", dir.appendingPathComponent("missing.conf").path]) == 2)
    #expect(runCommandLine(["rtcam", "--config", dir.path]) == 2)  // a directory, not a file
    let good = dir.appendingPathComponent("good.conf")
    try "fps = 30\n".write(to: good, atomically: true, encoding: .utf8)
    #expect(runCommandLine(["rtcam", "--config", good.path, "--version"]) == 0)
  }
}

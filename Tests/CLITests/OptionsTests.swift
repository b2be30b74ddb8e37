import Testing
import App
import Runtime
@testable import CLI

@Suite struct OptionsTests {
  func serve(_ args: [String]) throws -> ServeOptions {
    guard case .serve(let o) = try parseCommandLine(args) else {
      Issue.record("expected serve for \(args)")
      return ServeOptions()
    }
    return o
  }

  func message(_ args: [String]) -> String? {
    do {
      _ = try parseCommandLine(args)
      return nil
    } catch {
      return error.message
    }
  }

  @Test func defaults() throws {
    let o = try serve([])
    #expect(o.width == 640 && o.height == 480 && o.fps == 30 && o.bitrate == 800_000)
    #expect(o.listen == "::" && o.httpPort == 8080 && o.udpPort == 8189)
    #expect(o.iceHosts.isEmpty && o.source == nil && o.maxViewers == 8)
  }

  @Test func everyOptionParses() throws {
    let o = try serve(["serve", "--source", "y4m:/tmp/a.y4m", "--size", "320x240", "--fps", "15",
      "--bitrate", "1.5M", "--listen", "127.0.0.1", "--http-port", "9000", "--udp-port=9001",
      "--ice-host", "127.0.0.1", "--ice-host", "::1", "--max-viewers", "3", "--log-level", "debug"])
    #expect(o.source == "y4m:/tmp/a.y4m")
    #expect(o.width == 320 && o.height == 240 && o.fps == 15 && o.bitrate == 1_500_000)
    #expect(o.listen == "127.0.0.1" && o.httpPort == 9000 && o.udpPort == 9001)
    #expect(o.iceHosts == ["127.0.0.1", "::1"] && o.maxViewers == 3 && o.logLevel == .debug)
  }

  @Test func helpAndVersion() throws {
    #expect(try parseCommandLine(["--help"]) == .help)
    #expect(try parseCommandLine(["-h"]) == .help)
    #expect(try parseCommandLine(["--version"]) == .version)
    #expect(try parseCommandLine(["--fps", "10", "-V"]) == .version)
  }

  @Test func badInputNamesTheProblem() {
    #expect(message(["--bogus"]) == "unknown option '--bogus'")
    #expect(message(["frobnicate"]) == "unknown command 'frobnicate'")
    #expect(message(["--fps"]) == "option --fps needs a value")
    #expect(message(["--fps", "0"])?.contains("--fps must be a whole number from 1 to 120") == true)
    #expect(message(["--fps", "abc"]) != nil)
    #expect(message(["--size", "641x480"])?.contains("--size") == true)
    #expect(message(["--size", "640"])?.contains("--size") == true)
    #expect(message(["--bitrate", "1"])?.contains("--bitrate") == true)
    #expect(message(["--bitrate", "5G"])?.contains("--bitrate") == true)
    #expect(message(["--bitrate", "3000000k"])?.contains("--bitrate") == true)
    #expect(message(["--http-port", "70000"])?.contains("--http-port") == true)
    #expect(message(["--http-port", "99999999999999999999999"])?.contains("--http-port") == true)
    #expect(message(["--listen", "example.com"])?.contains("--listen") == true)
    #expect(message(["--ice-host", "1.2.3"])?.contains("--ice-host") == true)
    #expect(message(["--source", "camera"])?.contains("--source") == true)
    #expect(message(["--http-port", "9000", "--udp-port", "9000"]) == "--http-port and --udp-port must differ")
    #expect(message(["--log-level", "loud"])?.contains("--log-level") == true)
  }

  @Test func bitrateSuffixes() {
    #expect(parseBitrate("800000") == 800_000)
    #expect(parseBitrate("800k") == 800_000)
    #expect(parseBitrate("2M") == 2_000_000)
    #expect(parseBitrate("1.25m") == 1_250_000)
    #expect(parseBitrate("1.5") == nil)
    #expect(parseBitrate("k") == nil)
    // 64-bit arithmetic: "3000000k" is 3 * 10^9, more than a 32-bit Int (armv7) holds; there it
    // is nil (then "--bitrate" is rejected with exit 2), never an overflow trap
    #expect(parseBitrate("3000000k") == (Int.bitWidth == 64 ? 3_000_000_000 : nil))
    #expect(parseBitrate("2147.483648m") == (Int.bitWidth == 64 ? 2_147_483_648 : nil))
    #expect(parseBitrate("99999999999.999999m") == (Int.bitWidth == 64 ? 99_999_999_999_999_999 : nil))
  }

  @Test func presetOption() throws {
    #expect(try serve([]).preset == .balanced)
    #expect(try serve(["--preset", "speed"]).preset == .speed)
    #expect(try serve(["--preset=quality"]).preset == .quality)
    #expect(try serve(["serve", "--preset", "balanced"]).preset == .balanced)
    #expect(message(["--preset", "fast"]) == "--preset must be speed, balanced or quality, not 'fast'")
    #expect(message(["--preset", "Speed"]) != nil)
    #expect(message(["--preset"]) == "option --preset needs a value")
    #expect(helpText.contains("--preset P") && helpText.contains("(speed, balanced or quality; default balanced)"))
  }

  @Test func helpMentionsEveryOption() {
    for opt in ["--source", "--size", "--fps", "--bitrate", "--preset", "--listen", "--http-port", "--udp-port",
                "--ice-host", "--max-viewers", "--log-level", "--help", "--version"] {
      #expect(helpText.contains(opt), "help lacks \(opt)")
    }
  }
}

@Suite struct AccessOptionsTests {
  func serve(_ args: [String]) throws -> ServeOptions {
    guard case .serve(let o) = try parseCommandLine(args) else { throw OptionError("not serve") }
    return o
  }

  @Test func authAndTokenOptions() throws {
    let o = try serve(["--auth", "cam:pa:ss", "--auth", "viewer:x", "--token", "abcdefgh12", "--auth-file", "/etc/rtcam/users",
                       "--token-file", "/etc/rtcam/tokens", "--max-connections-per-ip", "8", "--max-viewers-per-ip", "2",
                       "--auth-failures-per-minute", "5", "--offers-per-minute", "12"])
    #expect(o.auth.users.map(\.name) == ["cam", "viewer"])
    #expect(o.auth.users[0].verifier.verify(Array("pa:ss".utf8)))
    #expect(o.auth.tokenDigests.count == 1)
    #expect(o.authFiles == ["/etc/rtcam/users"] && o.tokenFiles == ["/etc/rtcam/tokens"])
    #expect(o.limits.connectionsPerAddress == 8 && o.limits.viewersPerAddress == 2)
    #expect(o.limits.authFailuresPerMinute == 5 && o.limits.offersPerMinute == 12)
    #expect(!(try serve([])).auth.isEnabled)
  }

  @Test func badAccessOptionsNameThemselves() {
    let cases: [([String], String)] = [
      (["--auth", "nocolon"], "--auth"), (["--auth", ":pw"], "--auth"), (["--auth", "cam:"], "--auth"),
      (["--token", "short"], "--token"), (["--token", "has space in it"], "--token"),
      (["--max-viewers-per-ip", "0"], "--max-viewers-per-ip"), (["--offers-per-minute", "x"], "--offers-per-minute"),
    ]
    for (args, name) in cases {
      do {
        _ = try parseCommandLine(args)
        Issue.record("\(args) parsed")
      } catch {
        #expect(error.message.contains(name), "\(args): \(error.message)")
      }
    }
  }

  @Test func passwdCommand() throws {
    #expect(try parseCommandLine(["passwd", "cam"]) == .passwd(user: "cam", iterations: PasswordHashLine.defaultIterations))
    #expect(try parseCommandLine(["passwd", "cam", "--iterations", "2000"]) == .passwd(user: "cam", iterations: 2000))
    #expect(throws: OptionError.self) { try parseCommandLine(["passwd"]) }
    #expect(throws: OptionError.self) { try parseCommandLine(["passwd", "a:b"]) }
    #expect(throws: OptionError.self) { try parseCommandLine(["passwd", "cam", "--iterations", "5"]) }
  }

  @Test func credentialFilesAreReadWithClearErrors() throws {
    let line = try #require(PasswordHashLine.make(user: "cam", password: "pw", salt: Array("saltsaltsalt".utf8), iterations: 1000))
    let files: [String: String] = [
      "/users": "# rtcam users\n\n" + line + "\r\n",
      "/tokens": "tok-aaaaaaaa\n# comment\ntok-bbbbbbbb\n",
      "/bad-users": line + "\ncam:plain:pw\n",
      "/empty": "# nothing\n",
    ]
    let read: (String) throws(FileReadError) -> [UInt8] = { path throws(FileReadError) in
      guard let t = files[path] else { throw FileReadError(message: "cannot open \(path): No such file or directory") }
      return Array(t.utf8)
    }
    var o = ServeOptions()
    o.authFiles = ["/users"]
    o.tokenFiles = ["/tokens"]
    try loadCredentialFiles(&o, read: read)
    #expect(o.auth.users.map(\.name) == ["cam"] && o.auth.tokenDigests.count == 2)
    #expect(o.auth.users[0].verifier.verify(Array("pw".utf8)))
    for (file, want) in [("/bad-users", "/bad-users line 2"), ("/empty", "holds no user"), ("/missing", "cannot open /missing")] {
      var p = ServeOptions()
      p.authFiles = [file]
      do {
        try loadCredentialFiles(&p, read: read)
        Issue.record("\(file) loaded")
      } catch {
        #expect(error.message.contains(want), "\(error.message)")
      }
    }
  }
}

@Suite struct PipeSourceOptionsTests {
  func parsed(_ args: [String]) throws -> Command { try parseCommandLine(args) }
  func message(_ args: [String]) -> String? {
    do { _ = try parseCommandLine(args); return nil } catch { return error.message }
  }

  @Test func execRpicamAndStdinSources() throws {
    guard case .serve(let o) = try parsed(["--source", "exec:gen --size 640x480 'a b'"]) else { throw OptionError("not serve") }
    #expect(o.source == "exec:gen --size 640x480 'a b'")
    guard case .serve(let r) = try parsed(["--source=rpicam", "--rpicam-args", "--hflip --awb 'indoor'"]) else { throw OptionError("") }
    #expect(r.source == "rpicam" && r.rpicamArgs == ["--hflip", "--awb", "indoor"])
    guard case .serve(let s) = try parsed(["--source", "stdin:"]) else { throw OptionError("") }
    #expect(s.source == "stdin:")
    guard case .probe(let p) = try parsed(["probe", "--source", "rpicam", "--rpicam-args=--vflip", "--frames", "5"]) else {
      throw OptionError("")
    }
    #expect(p.source == "rpicam" && p.rpicamArgs == ["--vflip"] && p.frames == 5)
  }

  @Test func badCommandsNameTheProblem() {
    #expect(message(["--source", "exec:gen 'x"]) == "--source exec: unterminated ' quote in 'gen 'x'")
    #expect(message(["--source", "exec:"])?.hasPrefix("--source exec: needs a command") == true)
    #expect(message(["--source", "exec:  "])?.hasPrefix("--source exec: needs a command") == true)
    #expect(message(["--source", "pipe:gen"])?.contains("exec:COMMAND, rpicam or stdin:") == true)
    #expect(message(["--rpicam-args", "--hflip"]) == "--rpicam-args goes with --source rpicam")
    #expect(message(["--source", "rpicam", "--rpicam-args", "\"x"])?.hasPrefix("--rpicam-args: unterminated") == true)
    #expect(message(["probe", "--source", "testsrc", "--rpicam-args", "-n"]) == "--rpicam-args goes with --source rpicam")
  }

  @Test func helpTellsAboutThem() {
    for word in ["exec:COMMAND", "rpicam", "stdin:", "--rpicam-args", "SOURCE_EXITED", "SOURCE_NOT_FOUND", "SOURCE_SHORT_FRAME",
                 "--codec yuv420", "END_OF_STREAM"] {
      #expect(helpText.contains(word), "help lacks \(word)")
    }
  }
}

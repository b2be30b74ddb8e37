import Testing
@testable import Capture

@Suite struct CommandSplitTests {
  func split(_ s: String) -> [String]? { try? splitCommandLine(s) }
  func error(_ s: String) -> CommandSplitError? {
    do { _ = try splitCommandLine(s); return nil } catch { return error }
  }

  @Test func blanksSeparateWords() {
    #expect(split("rpicam-vid  -t 0\t-n\n-o -") == ["rpicam-vid", "-t", "0", "-n", "-o", "-"])
    #expect(split("") == [] && split("   ") == [])
    #expect(split("  lead trail  ") == ["lead", "trail"])
  }

  @Test func quotesAndBackslashes() {
    #expect(split(#"'a b' "c d" e\ f"#) == ["a b", "c d", "e f"])
    #expect(split("a'b c'd") == ["ab cd"])  // quotes join with what is next to them
    #expect(split("'' x \"\"") == ["", "x", ""])  // empty words
    #expect(split(#"'it''s'"#) == ["its"])
    // in single quotes everything is literal, backslashes and double quotes included
    #expect(split(#"'a\"b\\c'"#) == [#"a\"b\\c"#])
    // in double quotes \" and \\ are escapes, other backslashes stay
    #expect(split(#""a\"b\\c\d $HOME""#) == [#"a"b\c\d $HOME"#])
    // outside quotes a backslash makes the next character literal
    #expect(split(#"a\'b \"c\\"#) == [#"a'b"#, #""c\"#])
    // no shell: pipes, globs and variables are plain words
    #expect(split("gen | cat *.y4m $X > out") == ["gen", "|", "cat", "*.y4m", "$X", ">", "out"])
    // a shell when asked for one: the script is one word
    #expect(split(#"sh -c 'printf "%s" x | cat'"#) == ["sh", "-c", #"printf "%s" x | cat"#])
    #expect(split("caméra --nom 'été'") == ["caméra", "--nom", "été"])
  }

  @Test func mistakesAreReported() {
    #expect(error("gen 'open") == .unterminatedQuote("'"))
    #expect(error(#"gen "open"#) == .unterminatedQuote("\""))
    #expect(error(#"gen "a\""#) == .unterminatedQuote("\""))
    #expect(error(#"gen \"#) == .trailingBackslash)
    #expect(error(String(repeating: "a", count: maxCommandBytes + 1)) == .tooLong(maxCommandBytes))
    #expect(split(String(repeating: "a", count: maxCommandBytes)) != nil)
    #expect(error(String(repeating: "a ", count: maxCommandWords + 1)) == .tooManyWords(maxCommandWords))
    #expect(split(String(repeating: "a ", count: maxCommandWords))?.count == maxCommandWords)
    #expect(CommandSplitError.unterminatedQuote("'").message == "unterminated ' quote")
  }

  @Test func sourceSpecs() {
    #expect(SourceSpec.parse("exec:gen --size 640x480") == .exec("gen --size 640x480"))
    #expect(SourceSpec.parse("exec:sh -c 'gen | cat'") == .exec("sh -c 'gen | cat'"))
    #expect(SourceSpec.parse("rpicam") == .rpicam)
    #expect(SourceSpec.parse("stdin:") == .stdin && SourceSpec.parse("stdin") == .stdin)
    for bad in ["exec:", "exec:   ", "exec:gen 'x", "exec", "rpicam:", "stdin:x", "pipe:gen"] {
      #expect(SourceSpec.parse(bad) == nil, "\(bad)")
    }
    for spec in [SourceSpec.exec("gen -x"), .rpicam, .stdin, .testPattern, .y4m("/a.y4m"), .v4l2("/dev/video0")] {
      #expect(SourceSpec.parse(spec.description) == spec)
    }
  }

  @Test func theRpicamCommand() {
    #expect(rpicamCommand(width: 1280, height: 720, fps: 25, extra: ["--hflip", "--awb", "indoor"]) == [
      "rpicam-vid", "-t", "0", "-n", "--width", "1280", "--height", "720", "--framerate", "25", "--codec", "yuv420",
      "--hflip", "--awb", "indoor", "-o", "-",
    ])
    // rows: 64-byte aligned before the Pi 5, 128 (chroma 64) on the Pi 5; multiples of 128 never padded
    for w in [640, 1280, 1920, 768, 1024] {
      #expect(rpicamLumaStride(width: w, pisp: false) == w && rpicamLumaStride(width: w, pisp: true) == w)
    }
    #expect(rpicamLumaStride(width: 800, pisp: false) == 832 && rpicamLumaStride(width: 800, pisp: true) == 896)
    #expect(rpicamLumaStride(width: 1296, pisp: false) == 1344 && rpicamLumaStride(width: 1296, pisp: true) == 1408)
    #expect(rpicamLumaStride(width: 320, pisp: false) == 320 && rpicamLumaStride(width: 320, pisp: true) == 384)
  }

  @Test func pathLookup() {
    #expect(executableCandidates("gen", path: "/opt/bin::/usr/bin") == ["/opt/bin/gen", "./gen", "/usr/bin/gen"])
    #expect(executableCandidates("./tools/gen", path: "/usr/bin") == ["./tools/gen"])
    #expect(executableCandidates("gen", path: nil) == ["/usr/local/bin/gen", "/usr/bin/gen", "/bin/gen"])
    #expect(signalName(9) == "SIGKILL" && signalName(15) == "SIGTERM" && signalName(40) == "signal 40")
  }
}

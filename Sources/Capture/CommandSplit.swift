// Splitting a command given as one string (`--source exec:COMMAND`, `--rpicam-args`) into argv,
// with the quoting people type in a shell, but without a shell: no variables, globs, pipes or
// redirections (write `exec:sh -c '...'` for those).

/// Why a command string cannot be split.
public enum CommandSplitError: Error, Equatable, Sendable {
  case unterminatedQuote(Character)
  case trailingBackslash
  case tooLong(Int)
  case tooManyWords(Int)

  public var message: String {
    switch self {
    case .unterminatedQuote(let q): return "unterminated " + String(q) + " quote"
    case .trailingBackslash: return "a backslash at the end escapes nothing"
    case .tooLong(let max): return "longer than " + String(max) + " bytes"
    case .tooManyWords(let max): return "more than " + String(max) + " words"
    }
  }
}

/// Longest command accepted: a command line, not a script (and so the arguments stay far below
/// the kernel's limit for execve).
public let maxCommandBytes = 4096
/// Most words accepted in one command, for the same reason.
public let maxCommandWords = 256

/// Splits `text` into words: blanks (space, tab, newline) separate words; 'single quotes' keep
/// everything literally; "double quotes" keep everything except that \" and \\ stand for " and \;
/// outside quotes a backslash makes the next character literal. Quotes join with adjacent text
/// (`a'b c'd` is one word `ab cd`), and `''` is an empty word.
public func splitCommandLine(_ text: String) throws(CommandSplitError) -> [String] {
  let bytes = Array(text.utf8)
  guard bytes.count <= maxCommandBytes else { throw .tooLong(maxCommandBytes) }
  var words: [String] = []
  var word: [UInt8] = []
  var inWord = false
  var i = 0
  let sq = UInt8(ascii: "'"), dq = UInt8(ascii: "\""), bs = UInt8(ascii: "\\")
  func isBlank(_ c: UInt8) -> Bool { c == 32 || c == 9 || c == 10 || c == 13 }
  while i < bytes.count {
    let c = bytes[i]
    if isBlank(c) {
      if inWord {
        guard words.count < maxCommandWords else { throw .tooManyWords(maxCommandWords) }
        words.append(String(decoding: word, as: UTF8.self))
        word.removeAll(keepingCapacity: true)
        inWord = false
      }
      i += 1
      continue
    }
    inWord = true
    if c == sq {
      guard let end = bytes[(i + 1)...].firstIndex(of: sq) else { throw .unterminatedQuote("'") }
      word.append(contentsOf: bytes[(i + 1)..<end])
      i = end + 1
    } else if c == dq {
      i += 1
      var closed = false
      while i < bytes.count {
        let d = bytes[i]
        if d == dq { closed = true; i += 1; break }
        if d == bs, i + 1 < bytes.count, bytes[i + 1] == dq || bytes[i + 1] == bs {
          word.append(bytes[i + 1])
          i += 2
          continue
        }
        word.append(d)
        i += 1
      }
      guard closed else { throw .unterminatedQuote("\"") }
    } else if c == bs {
      guard i + 1 < bytes.count else { throw .trailingBackslash }
      word.append(bytes[i + 1])
      i += 2
    } else {
      word.append(c)
      i += 1
    }
  }
  if inWord {
    guard words.count < maxCommandWords else { throw .tooManyWords(maxCommandWords) }
    words.append(String(decoding: word, as: UTF8.self))
  }
  return words
}

/// The `rpicam-vid` command behind `--source rpicam`: runs until stopped (`-t 0`), no preview
/// window (`-n`), the ISP's YUV420 frames unencoded (`--codec yuv420`) on standard output
/// (`-o -`), at the given size and rate; `extra` (from `--rpicam-args`) goes before `-o -`.
public func rpicamCommand(width: Int, height: Int, fps: Int, extra: [String]) -> [String] {
  ["rpicam-vid", "-t", "0", "-n", "--width", String(width), "--height", String(height),
   "--framerate", String(fps), "--codec", "yuv420"] + extra + ["-o", "-"]
}

/// Bytes per luma row in rpicam-vid's YUV420 output, which writes each frame's whole buffer,
/// padding included (chroma rows are half as long; no padding rows were found):
/// - Raspberry Pi 4 and earlier (VideoCore ISP, `bcm2835-isp`): YUV420 rows are aligned to 64 bytes.
/// - Raspberry Pi 5 (PiSP back end, `pisp` true): libcamera aligns each chroma row to 64 bytes and
///   makes the luma row twice that, so luma rows are aligned to 128 bytes.
/// So widths that are a multiple of 128 (640, 1280, 1920, ...) arrive unpadded on every model.
public func rpicamLumaStride(width: Int, pisp: Bool) -> Int {
  if pisp { return ((width / 2) + 63) / 64 * 64 * 2 }
  return (width + 63) / 64 * 64
}

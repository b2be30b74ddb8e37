import CRTCam
import Wire

/// The stream header of a YUV4MPEG2 file: "YUV4MPEG2 W640 H480 F30:1 Ip A1:1 C420jpeg\n".
public struct Y4MHeader: Equatable, Sendable {
  public var width: Int
  public var height: Int
  /// Frame rate as num/den frames per second (30 fps when the header has no F tag).
  public var fpsNum: Int
  public var fpsDen: Int
  /// The C tag without the "C" ("420jpeg"), or "" when absent (which means 4:2:0).
  public var chroma: String

  /// Largest accepted width or height.
  public static let maxDimension = 8192

  public init(width: Int, height: Int, fpsNum: Int, fpsDen: Int, chroma: String) {
    self.width = width
    self.height = height
    self.fpsNum = fpsNum
    self.fpsDen = fpsDen
    self.chroma = chroma
  }

  /// Bytes of one I420 frame (without its "FRAME" line).
  public var frameSize: Int { width * height + 2 * (width / 2) * (height / 2) }

  /// Frame rate rounded to whole frames per second (at least 1).
  public var roundedFps: Int { max(1, (fpsNum + fpsDen / 2) / fpsDen) }

  /// Parses the header line (without or with its trailing newline). Accepts progressive
  /// (Ip, or I? / no I tag) 4:2:0 8-bit (C420jpeg, C420paldv, C420mpeg2, C420, or no C tag) with
  /// even sizes; everything else is `badFormat` with the reason.
  public static func parse(_ line: String) throws(CaptureError) -> Y4MHeader {
    var text = line
    if text.hasSuffix("\n") { text = String(decoding: Array(text.utf8.dropLast()), as: UTF8.self) }
    let tokens = text.splitASCII(UInt8(ascii: " "))
    guard let magic = tokens.first, magic == "YUV4MPEG2" else {
      throw .badFormat("not a Y4M file (no YUV4MPEG2 signature)")
    }
    var width: Int? = nil
    var height: Int? = nil
    var num = 30
    var den = 1
    var chroma = ""
    for token in tokens.dropFirst() {
      guard let tag = token.utf8.first else { continue }  // repeated spaces
      let value = String(decoding: Array(token.utf8.dropFirst()), as: UTF8.self)
      switch tag {
      case UInt8(ascii: "W"):
        guard let v = parseDecimal(value, max: UInt64(maxDimension)), v > 0 else {
          throw .badFormat("Y4M header: bad width W" + value + " (1..." + String(maxDimension) + ")")
        }
        width = v
      case UInt8(ascii: "H"):
        guard let v = parseDecimal(value, max: UInt64(maxDimension)), v > 0 else {
          throw .badFormat("Y4M header: bad height H" + value + " (1..." + String(maxDimension) + ")")
        }
        height = v
      case UInt8(ascii: "F"):
        let parts = value.splitASCII(UInt8(ascii: ":"))
        guard parts.count == 2, let n = parseDecimal(parts[0], max: 1_000_000), let d = parseDecimal(parts[1], max: 1_000_000),
          n > 0, d > 0
        else { throw .badFormat("Y4M header: bad frame rate F" + value + " (need F<num>:<den>)") }
        guard n <= 240 * d else { throw .badFormat("Y4M header: frame rate F" + value + " is above 240 fps") }
        num = n
        den = d
      case UInt8(ascii: "I"):
        guard value == "p" || value == "?" else {
          throw .badFormat("Y4M interlaced video (I" + value + ") is not supported; need progressive (Ip)")
        }
      case UInt8(ascii: "C"):
        guard value == "420jpeg" || value == "420paldv" || value == "420mpeg2" || value == "420" else {
          throw .badFormat(
            "Y4M chroma C" + value + " is not supported; need 4:2:0 8-bit (C420jpeg, C420paldv, C420mpeg2 or C420)")
        }
        chroma = value
      default:
        break  // A (aspect), X (comments/extensions) and unknown tags are ignored
      }
    }
    guard let w = width, let h = height else { throw .badFormat("Y4M header: missing W or H") }
    guard w % 2 == 0, h % 2 == 0 else {
      throw .badFormat("Y4M frame size " + String(w) + "x" + String(h) + " is odd; need even width and height")
    }
    return Y4MHeader(width: w, height: h, fpsNum: num, fpsDen: den, chroma: chroma)
  }
}

/// Open file and frame buffer of a Y4M source; closes the file when the source goes away.
final class Y4MFile {
  let fd: Int32
  let buffer: PlaneStorage
  let path: String

  init(fd: Int32, capacity: Int, path: String) {
    self.fd = fd
    self.buffer = PlaneStorage(count: capacity)
    self.path = path
  }

  deinit { close(fd) }

  /// Reads until `count` bytes are at buffer+offset or end of file; returns how many were read.
  func readFully(at offset: Int, _ count: Int) throws(CaptureError) -> Int {
    var done = 0
    while done < count {
      let n = read(fd, buffer.base + offset + done, count - done)
      if n < 0 {
        let e = rtc_errno()
        if e == EINTR { continue }
        throw .io("read " + path, e)
      }
      if n == 0 { break }
      done += n
    }
    return done
  }

  func seek(_ offset: Int) throws(CaptureError) {
    if lseek(fd, off_t(offset), SEEK_SET) < 0 { throw .io("seek " + path, rtc_errno()) }
  }
}

/// Frames from a YUV4MPEG2 file (4:2:0 8-bit, progressive), played in a loop at the file's own
/// frame rate (F num:den). Each frame is read with read() into one buffer allocated when the file
/// is opened; the returned view points into it. A truncated last frame counts as the end of the
/// file. With `paced` (the default) frames are delivered on absolute monotonic deadlines.
public struct Y4MSource: FrameSource {
  public let path: String
  public let header: Y4MHeader
  public let paced: Bool
  let file: Y4MFile
  /// File offset of the first "FRAME".
  let dataOffset: Int
  let clock: CaptureClock
  var pacer: FramePacer
  var sequence: UInt64 = 0
  /// Complete frames read since the last rewind (0 after a rewind means the file has none).
  var framesThisPass = 0

  /// Longest "FRAME ..." line accepted.
  static let maxFrameHeader = 256
  /// Longest stream header accepted.
  static let maxStreamHeader = 1024

  /// Opens the file and parses its header. Missing file: `fileNotFound` (SOURCE_NOT_FOUND); not a
  /// usable Y4M: `badFormat` (FORMAT_UNSUPPORTED); other failures: `io`.
  public init(path: String, clock: CaptureClock = .system, paced: Bool = true) throws(CaptureError) {
    let fd = path.withCString { rtc_open($0, O_RDONLY, 0) }
    if fd < 0 {
      let e = rtc_errno()
      if e == ENOENT || e == ENOTDIR { throw .fileNotFound(path) }
      throw .io("open " + path, e)
    }
    // the header is read byte by byte (once); frames are then read in one go each
    var line: [UInt8] = []
    var byte: UInt8 = 0
    while true {
      let n = read(fd, &byte, 1)
      if n < 0 {
        let e = rtc_errno()
        if e == EINTR { continue }
        close(fd)
        throw .io("read " + path, e)
      }
      if n == 0 {
        close(fd)
        throw .badFormat(line.isEmpty ? "empty file: " + path : "not a Y4M file (incomplete header): " + path)
      }
      if byte == 10 { break }
      line.append(byte)
      if line.count > Y4MSource.maxStreamHeader {
        close(fd)
        throw .badFormat("not a Y4M file (header line too long): " + path)
      }
    }
    let parsed: Y4MHeader
    do {
      parsed = try Y4MHeader.parse(String(decoding: line, as: UTF8.self))
    } catch {
      close(fd)
      throw error
    }
    self.path = path
    self.header = parsed
    self.paced = paced
    self.clock = clock
    self.dataOffset = line.count + 1
    self.file = Y4MFile(fd: fd, capacity: parsed.frameSize + Y4MSource.maxFrameHeader, path: path)
    self.pacer = FramePacer(num: parsed.fpsNum, den: parsed.fpsDen)
  }

  public var width: Int { header.width }
  public var height: Int { header.height }
  public var fps: Int { header.roundedFps }

  public var description: String {
    "y4m:" + path + " " + String(width) + "x" + String(height) + "@" + String(header.fpsNum) + ":"
      + String(header.fpsDen)
  }

  /// Reads the next frame (rewinding at the end of the file) and returns the offset of its pixels
  /// in the buffer.
  mutating func readFrame() throws(CaptureError) -> Int {
    let frameSize = header.frameSize
    for _ in 0..<2 {
      var got = try file.readFully(at: 0, 6 + frameSize)
      let b = file.buffer.base
      if got >= 5 {
        guard b[0] == 70 && b[1] == 82 && b[2] == 65 && b[3] == 77 && b[4] == 69 else {  // "FRAME"
          throw .badFormat("Y4M: expected FRAME after frame " + String(framesThisPass) + " in " + path)
        }
        var nl = -1
        var i = 5
        while i < min(got, Y4MSource.maxFrameHeader) {
          if b[i] == 10 { nl = i; break }
          i += 1
        }
        if nl < 0 && got >= Y4MSource.maxFrameHeader {
          throw .badFormat("Y4M: FRAME line too long in " + path)
        }
        if nl >= 0 {
          let need = nl + 1 + frameSize
          if got < need { got += try file.readFully(at: got, need - got) }
          if got >= need {
            framesThisPass += 1
            return nl + 1
          }
        }
      }
      // end of file (or a truncated last frame): play again from the first frame
      if framesThisPass == 0 { break }
      framesThisPass = 0
      try file.seek(dataOffset)
    }
    throw .badFormat("Y4M: no complete frame in " + path)
  }

  public mutating func nextFrame() throws(CaptureError) -> FrameView {
    let offset = try readFrame()
    let now = paced ? pacer.wait(clock) : clock.monotonicNs()
    let seq = sequence
    sequence += 1
    let y = UnsafePointer(file.buffer.base + offset)
    let lumaSize = width * height
    let chromaSize = (width / 2) * (height / 2)
    return FrameView(
      width: width, height: height, y: y, u: y + lumaSize, v: y + lumaSize + chromaSize,
      yStride: width, uvStride: width / 2, captureTimeNs: now, sequence: seq)
  }
}

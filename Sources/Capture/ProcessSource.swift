// Frames from a pipe: the standard output of a program (`exec:COMMAND`, `rpicam`) or rtcam's own
// standard input (`stdin:`). Raw I420 frames of a given size, or YUV4MPEG2 when the stream starts
// with its signature. The source's pace is the writer's: it blocks in poll/read, with timeouts.
import CRTCam
import Wire

/// How a pipe source reads its frames.
public struct PipeSourceOptions: Equatable, Sendable {
  /// Size and nominal rate of raw frames (a Y4M stream brings its own).
  public var width: Int
  public var height: Int
  public var fps: Int
  /// Bytes per luma row of raw frames (>= width; chroma rows take half); nil: width (no padding).
  public var rawLumaStride: Int? = nil
  /// How long the first bytes may take (a program starting, a camera powering up).
  public var firstDataTimeoutNs: UInt64 = 10_000_000_000
  /// How long one frame may take once the stream runs; nil waits as long as it takes (standard
  /// input: a pipe from the user may pause, and there is nothing to restart).
  public var frameTimeoutNs: UInt64? = 5_000_000_000
  /// A program gets SIGTERM, then this long before SIGKILL.
  public var stopGraceNs: UInt64 = 2_000_000_000

  public init(width: Int, height: Int, fps: Int) {
    self.width = width
    self.height = height
    self.fps = fps
  }
}

/// Why a read from the pipe returned early.
enum PipeReadError: Error {
  /// The deadline passed after this many bytes.
  case timeout(Int)
  case stopped
  case failed(Int32)
}

/// The pipe, its frame buffer and (for a program) the child; closes and stops them when dropped.
final class PipeStream {
  let fd: Int32
  let child: ChildProcess?
  var buffer: PlaneStorage
  let shouldStop: () -> Bool

  init(fd: Int32, child: ChildProcess?, capacity: Int, shouldStop: @escaping () -> Bool) {
    self.fd = fd
    self.child = child
    self.buffer = PlaneStorage(count: capacity)
    self.shouldStop = shouldStop
  }

  deinit {
    // closed first: a program blocked writing to it gets EPIPE (or SIGPIPE) and can exit
    if child != nil { close(fd) }
    child?.stop()
  }

  /// Reads into buffer+offset until `count` bytes arrived or the stream ended; returns how many
  /// arrived. Waits in poll() in steps of at most 100 ms (so a stop is noticed) until `deadline`
  /// (monotonic ns; nil: no limit). Never allocates.
  func read(at offset: Int, _ count: Int, deadline: UInt64?) throws(PipeReadError) -> Int {
    var done = 0
    while done < count {
      if shouldStop() { throw .stopped }
      let now = rtc_monotonic_ns()
      if let d = deadline, now >= d { throw .timeout(done) }
      let stepNs = min(deadline.map { $0 &- now } ?? 100_000_000, 100_000_000)
      var pfd = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
      let r = poll(&pfd, 1, Int32((stepNs + 999_999) / 1_000_000))
      if r < 0 {
        let e = rtc_errno()
        if e == EINTR { continue }
        throw .failed(e)
      }
      if r == 0 { continue }
      let n = CRTCam.read(fd, buffer.base + offset + done, count - done)
      if n < 0 {
        let e = rtc_errno()
        if e == EINTR || e == EAGAIN || e == EWOULDBLOCK { continue }
        throw .failed(e)
      }
      if n == 0 { break }  // end of stream (POLLHUP with nothing left reads 0 too)
      done += n
    }
    return done
  }
}

/// Frames from a pipe (see the file comment). One frame buffer is allocated when the stream's
/// format is known (at open); `nextFrame` reuses it and allocates nothing.
public struct ProcessSource: FrameSource {
  /// "exec:COMMAND", "rpicam" or "stdin:", for logs.
  public let name: String
  /// The program (argv[0]), or "standard input".
  public let producer: String
  let stream: PipeStream
  let options: PipeSourceOptions
  public let width: Int
  public let height: Int
  public let fps: Int
  /// True when the stream is YUV4MPEG2 (the size and rate come from its header).
  public let isY4M: Bool
  public let lumaStride: Int
  /// Bytes of one frame's pixels (with row padding).
  public let frameSize: Int
  /// Bytes of the first raw frame read while looking for a Y4M signature.
  var pending = 0
  var sequence: UInt64 = 0

  /// Longest Y4M stream header and FRAME line accepted: they are a few dozen bytes in practice,
  /// and a stream that is not Y4M must not make us read forever.
  static let maxStreamHeader = 1024
  static let maxFrameHeader = 256
  static let y4mMagic: [UInt8] = Array("YUV4MPEG2".utf8)

  /// Starts `argv` and reads its first bytes (to tell raw from Y4M). Errors: `commandNotFound`,
  /// `sourceExited` (it ended before sending anything), `shortFrame`, `sourceTimeout`, `badFormat`.
  public init(name: String, argv: [String], options: PipeSourceOptions,
              shouldStop: @escaping () -> Bool = { false }) throws(CaptureError) {
    let (child, fd) = try ChildProcess.start(argv, stopGraceNs: options.stopGraceNs)
    try self.init(name: name, producer: child.program, fd: fd, child: child, options: options, shouldStop: shouldStop)
  }

  /// Reads rtcam's standard input (fd 0, left open when the source is dropped).
  public init(standardInput options: PipeSourceOptions, shouldStop: @escaping () -> Bool = { false }) throws(CaptureError) {
    try self.init(name: "stdin:", producer: "standard input", fd: 0, child: nil, options: options, shouldStop: shouldStop)
  }

  init(name: String, producer: String, fd: Int32, child: ChildProcess?, options: PipeSourceOptions,
       shouldStop: @escaping () -> Bool) throws(CaptureError) {
    let stride = max(options.rawLumaStride ?? options.width, options.width)
    let rawSize = stride * options.height + 2 * (stride / 2) * (options.height / 2)
    let stream = PipeStream(fd: fd, child: child, capacity: rawSize, shouldStop: shouldStop)
    self.name = name
    self.producer = producer
    self.stream = stream
    self.options = options
    // the first bytes: a Y4M signature or the start of a raw frame
    let magic = ProcessSource.y4mMagic
    let deadline = rtc_monotonic_ns() &+ options.firstDataTimeoutNs
    let first = options.firstDataTimeoutNs
    let got = try ProcessSource.reading(producer, frameBytes: rawSize, partial: 0, timeoutNs: first, first: true) {
      () throws(PipeReadError) in try stream.read(at: 0, magic.count, deadline: deadline)
    }
    if got == 0 { throw ProcessSource.ended(stream, producer, frames: 0) }
    var isMagic = got == magic.count
    for i in 0..<got where stream.buffer.base[i] != magic[i] { isMagic = false }
    if !isMagic {
      if got < magic.count { throw ProcessSource.shortEnd(stream, producer, got: got, of: rawSize) }
      width = options.width
      height = options.height
      fps = options.fps
      isY4M = false
      lumaStride = stride
      frameSize = rawSize
      pending = got
      return
    }
    // YUV4MPEG2: the rest of the header line, byte by byte (once)
    var line = magic
    while true {
      let n = try ProcessSource.reading(producer, frameBytes: 0, partial: 0, timeoutNs: first, first: true) {
        () throws(PipeReadError) in try stream.read(at: 0, 1, deadline: deadline)
      }
      if n == 0 { throw CaptureError.badFormat("Y4M stream from " + producer + " ended inside its header") }
      let b = stream.buffer.base[0]
      if b == 10 { break }
      line.append(b)
      if line.count > ProcessSource.maxStreamHeader {
        throw CaptureError.badFormat("Y4M header from " + producer + " is longer than " + String(ProcessSource.maxStreamHeader) + " bytes")
      }
    }
    let header = try Y4MHeader.parse(String(decoding: line, as: UTF8.self))
    width = header.width
    height = header.height
    fps = header.roundedFps
    isY4M = true
    lumaStride = header.width
    frameSize = header.frameSize
    if frameSize + ProcessSource.maxFrameHeader > stream.buffer.count {
      stream.buffer = PlaneStorage(count: frameSize + ProcessSource.maxFrameHeader)
    }
  }

  public var description: String {
    name + " " + String(width) + "x" + String(height) + "@" + String(fps) + (isY4M ? " (Y4M)" : " (raw I420)")
      + (lumaStride != width ? ", rows padded to " + String(lumaStride) + " bytes" : "")
  }

  /// The program's process id (nil for stdin).
  public var pid: Int32? { stream.child?.pid }
  /// Frames delivered so far.
  public var frames: UInt64 { sequence }

  // MARK: errors

  /// Runs one read and turns its failure into a CaptureError that says what was going on:
  /// `partial` bytes of a `frameBytes` frame had arrived before it; `timeoutNs` was its limit.
  /// (Strings are made only on failure: nothing is allocated for a read that works.)
  static func reading(_ producer: String, frameBytes: Int, partial: Int, timeoutNs: UInt64?, first: Bool,
                      _ body: () throws(PipeReadError) -> Int) throws(CaptureError) -> Int {
    do { return try body() } catch {
      switch error {
      case .stopped: throw .stopped
      case .failed(let e): throw .io("read from " + producer, e)
      case .timeout(let done):
        let limit = seconds(timeoutNs ?? 0)
        if partial + done > 0 && frameBytes > 0 {
          throw .shortFrame(producer + " stalled for " + limit, got: partial + done, of: frameBytes)
        }
        if first { throw .sourceTimeout(producer + " sent nothing within " + limit + " of starting") }
        throw .sourceTimeout(producer + " sent no frame for " + limit)
      }
    }
  }

  /// Waits for the next frame (up to `frameTimeoutNs`) and returns it. The end of the stream
  /// between frames is `sourceExited` for a program (how it ended) and `endOfStream` for stdin;
  /// inside a frame it is `shortFrame`, and so is a stall inside a frame.
  public mutating func nextFrame() throws(CaptureError) -> FrameView {
    let s = stream
    let limit = options.frameTimeoutNs
    let deadline = limit.map { rtc_monotonic_ns() &+ $0 }
    let b = s.buffer.base
    if isY4M {
      // "FRAME", optional parameters, newline; then the pixels, read over it
      let n = try ProcessSource.reading(producer, frameBytes: 6 + frameSize, partial: 0, timeoutNs: limit, first: false) {
        () throws(PipeReadError) in try s.read(at: 0, 6, deadline: deadline)
      }
      if n == 0 { throw ProcessSource.ended(s, producer, frames: sequence) }
      if n < 6 { throw ProcessSource.shortEnd(s, producer, got: n, of: 6 + frameSize) }
      guard b[0] == 70 && b[1] == 82 && b[2] == 65 && b[3] == 77 && b[4] == 69 else {  // "FRAME"
        throw .badFormat("Y4M: expected FRAME after frame " + String(sequence) + " from " + producer)
      }
      var i = 5
      while b[i] != 10 {
        i += 1
        guard i < ProcessSource.maxFrameHeader else {
          throw .badFormat("Y4M: FRAME line longer than " + String(ProcessSource.maxFrameHeader) + " bytes from " + producer)
        }
        let m = try ProcessSource.reading(producer, frameBytes: i + frameSize, partial: i, timeoutNs: limit, first: false) {
          () throws(PipeReadError) in try s.read(at: i, 1, deadline: deadline)
        }
        if m == 0 { throw ProcessSource.shortEnd(s, producer, got: i, of: i + frameSize) }
      }
    }
    let start = pending
    let got = try ProcessSource.reading(producer, frameBytes: frameSize, partial: start, timeoutNs: limit, first: false) {
      () throws(PipeReadError) in try s.read(at: start, frameSize - start, deadline: deadline)
    }
    pending = 0
    let total = start + got
    if total == 0 && !isY4M { throw ProcessSource.ended(s, producer, frames: sequence) }
    if total < frameSize { throw ProcessSource.shortEnd(s, producer, got: total, of: frameSize) }
    let seq = sequence
    sequence += 1
    let y = UnsafePointer(b)
    let chromaStride = lumaStride / 2
    let u = y + lumaStride * height
    return FrameView(
      width: width, height: height, y: y, u: u, v: u + chromaStride * (height / 2),
      yStride: lumaStride, uvStride: chromaStride, captureTimeNs: rtc_monotonic_ns(), sequence: seq)
  }

  /// The stream ended between frames: a program's exit (reaped, up to 1 s) or the end of stdin.
  static func ended(_ stream: PipeStream, _ producer: String, frames: UInt64) -> CaptureError {
    guard let child = stream.child else { return .endOfStream }
    let after = frames == 0 ? " before sending a frame" : " after " + String(frames) + " frames"
    if child.waitExit(upToNs: 1_000_000_000) { return .sourceExited(producer + " " + child.endDescription + after) }
    return .sourceExited(producer + " closed its output" + after + " (still running; stopped)")
  }

  /// The stream ended inside a frame.
  static func shortEnd(_ stream: PipeStream, _ producer: String, got: Int, of: Int) -> CaptureError {
    guard let child = stream.child else { return .shortFrame("standard input ended", got: got, of: of) }
    let how = child.waitExit(upToNs: 1_000_000_000) ? child.endDescription : "closed its output"
    return .shortFrame(producer + " " + how, got: got, of: of)
  }
}

func seconds(_ ns: UInt64) -> String { formatFixed(Int(clamping: ns / 10_000_000), decimals: 2) + " s" }

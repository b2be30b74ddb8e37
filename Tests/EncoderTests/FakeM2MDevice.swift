import CRTCam
import Capture

@testable import Encoder

/// A scripted memory-to-memory H.264 encoder: it does what the kernel's stateful encoder
/// interface says (buffers go round between the queues, a drain ends with a buffer marked LAST,
/// FORCE_KEY_FRAME makes the next frame an IDR) and writes a small Annex-B access unit per raw
/// frame: SPS (with a profile other than the one rtcam signals, as hardware may write), PPS and
/// an IDR slice for a keyframe, a non-IDR slice otherwise. From `failAfter` frames on it fails
/// the way it is told. Nothing is allocated per frame (fixed arrays, mapped memory made once).
final class FakeM2MDevice: M2MDevice {
  enum Failure {
    /// Frames go in, nothing comes out (a stuck encoder).
    case stall
    /// Every call fails with ENODEV and poll reports an error (the node went away).
    case vanish
  }

  let path: String
  var steps: [M2MStep] = []
  var controls: [M2MControl] = []
  /// Setup steps to refuse, with the errno.
  var refuse: (M2MStep) -> Int32? = { _ in nil }
  /// A coded-format answer other than asked (vicodec asked for H.264 answers FWHT).
  var answerCodedFormat: FourCC? = nil
  /// Hands out SPS and PPS in a buffer of their own before each keyframe's picture.
  var separateHeaders = false
  /// VIDIOC_S_CTRL of a bitrate on the running encoder fails with this errno.
  var refuseNewBitrate: Int32? = nil
  var failAfter: Int? = nil
  var failure = Failure.stall
  let rawBytes: Int
  let codedBytes = 4096
  var output: [UnsafeMutableRawBufferPointer] = []
  var capture: [UnsafeMutableRawBufferPointer] = []
  /// Buffers with the driver, in the order queued (fixed capacity).
  var outputQueued: [Int] = []
  var captureQueued: [Int] = []
  /// Done buffers waiting to be dequeued: (index, bytes, flags).
  var outputDone: [M2MDequeued] = []
  var captureDone: [M2MDequeued] = []
  var frames = 0
  var keyNext = true
  var stopping = false
  var stopped = false
  var streamOffs: [M2MQueue] = []

  init(path: String = "/dev/video11", width: Int = 640, height: Int = 480) {
    self.path = path
    rawBytes = width * height * 3 / 2
    outputQueued.reserveCapacity(16)
    captureQueued.reserveCapacity(16)
    outputDone.reserveCapacity(16)
    captureDone.reserveCapacity(16)
    controls.reserveCapacity(4096)
  }

  deinit {
    for b in output + capture { b.deallocate() }
  }

  var failing: Bool { failAfter.map { frames > $0 } ?? false }
  var gone: Bool { failing && failure == .vanish }

  func perform(_ step: M2MStep) -> M2MAnswer {
    steps.append(step)
    if let e = refuse(step) { return .failed(e) }
    switch step {
    case .setCodedFormat(let codec, let w, let h, let bytes):
      return .format(answerCodedFormat ?? codec.fourcc, width: w, height: h, bytesPerLine: 0, bufferBytes: bytes)
    case .setRawFormat(let f, let w, let h):
      return .format(f, width: w, height: h, bytesPerLine: w, bufferBytes: w * h * 3 / 2)
    case .setControl(let c):
      controls.append(c)
      return .done
    case .requestBuffers(let q, let n):
      let made = (0..<n).map { _ in
        UnsafeMutableRawBufferPointer.allocate(byteCount: q == .output ? rawBytes : codedBytes, alignment: 16)
      }
      if q == .output { output = made } else { capture = made }
      return .buffers(n)
    default:
      return .done
    }
  }

  func buffer(_ queue: M2MQueue, _ index: Int) -> UnsafeMutableRawBufferPointer {
    queue == .output ? output[index] : capture[index]
  }

  func enqueue(_ queue: M2MQueue, index: Int, bytesUsed: Int) -> Int32 {
    if gone { return ENODEV }
    if queue == .capture {
      captureQueued.append(index)
    } else {
      outputQueued.append(index)
      frames += 1
    }
    run()
    return 0
  }

  /// The "hardware": each raw frame with a free bitstream buffer becomes a coded frame.
  func run() {
    if failing { return }
    while !outputQueued.isEmpty && !captureQueued.isEmpty {
      let raw = outputQueued.remove(at: 0)
      let key = keyNext
      keyNext = false
      if key && separateHeaders {
        let c = captureQueued.remove(at: 0)
        captureDone.append(M2MDequeued(index: c, bytesUsed: write(capture[c], headers: true, slice: nil), flags: 0))
        guard !captureQueued.isEmpty else { outputQueued.insert(raw, at: 0); return }
      }
      let c = captureQueued.remove(at: 0)
      let n = write(capture[c], headers: key && !separateHeaders, slice: key ? 5 : 1)
      captureDone.append(M2MDequeued(index: c, bytesUsed: n, flags: key ? M2MBufferFlags.keyframe : 0))
      outputDone.append(M2MDequeued(index: raw, bytesUsed: 0, flags: 0))
    }
    if stopping && outputQueued.isEmpty && !captureQueued.isEmpty {
      let c = captureQueued.remove(at: 0)
      captureDone.append(M2MDequeued(index: c, bytesUsed: 0, flags: M2MBufferFlags.last))
      stopping = false
      stopped = true
    }
  }

  /// SPS 67 4d 00 1e ... (main profile, level 3.0: not what rtcam signals), PPS, and a slice of
  /// `slice` type with a few bytes of payload.
  func write(_ b: UnsafeMutableRawBufferPointer, headers: Bool, slice: UInt8?) -> Int {
    var n = 0  // (no nested function: one capturing `n` would allocate a box per call)
    if headers {
      FakeM2MDevice.put(FakeM2MDevice.sps, b, &n)
      FakeM2MDevice.put(FakeM2MDevice.pps, b, &n)
    }
    if let t = slice {
      FakeM2MDevice.put(FakeM2MDevice.slice, b, &n)
      b[n - 6] = 0x60 | t  // the slice's NAL header
    }
    return n
  }

  static func put(_ bytes: [UInt8], _ b: UnsafeMutableRawBufferPointer, _ n: inout Int) {
    var i = 0  // (an index loop: a for-in loop allocates in a debug build)
    while i < bytes.count {
      b[n] = bytes[i]
      n += 1
      i += 1
    }
  }
  static let sps: [UInt8] = [0, 0, 0, 1, 0x67, 0x4D, 0x00, 0x1E, 0xAB, 0xCD]
  static let pps: [UInt8] = [0, 0, 0, 1, 0x68, 0xCE, 0x38, 0x80]
  static let slice: [UInt8] = [0, 0, 0, 1, 0x61, 0x88, 0x84, 0x21, 0x43, 0x10]

  func dequeue(_ queue: M2MQueue) -> (M2MDequeued?, Int32) {
    if gone { return (nil, ENODEV) }
    if queue == .capture {
      if captureDone.isEmpty { return (nil, stopped ? EPIPE : EAGAIN) }
      return (captureDone.remove(at: 0), 0)
    }
    if outputDone.isEmpty { return (nil, EAGAIN) }
    return (outputDone.remove(at: 0), 0)
  }

  func wait(_ queue: M2MQueue, timeoutMs: Int) -> M2MWait {
    if gone { return .failed(ENODEV) }
    let ready = queue == .capture ? !captureDone.isEmpty : !outputDone.isEmpty
    return ready ? .ready : .timedOut
  }

  func setControl(_ control: M2MControl) -> Int32 {
    if gone { return ENODEV }
    if case .bitrate = control, let e = refuseNewBitrate { return e }
    controls.append(control)
    if control == .forceKeyFrame { keyNext = true }
    return 0
  }

  func command(_ command: M2MCommand) -> Int32 {
    if gone { return ENODEV }
    switch command {
    case .stop:
      stopping = true
      run()
    case .start:
      break  // like vicodec in 6.1: dequeues stay refused (EPIPE) until CAPTURE restarts
    }
    return 0
  }

  /// Every buffer of the queue back to the application; CAPTURE restarts after a drain.
  func streamOff(_ queue: M2MQueue) -> Int32 {
    streamOffs.append(queue)
    if queue == .capture {
      captureQueued.removeAll(keepingCapacity: true)
      captureDone.removeAll(keepingCapacity: true)
      stopped = false
    } else {
      outputQueued.removeAll(keepingCapacity: true)
      outputDone.removeAll(keepingCapacity: true)
    }
    return 0
  }
}

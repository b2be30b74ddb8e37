// Encoder: a V4L2 memory-to-memory ("stateful") encoder at run time, after the setup
// (M2MEncoderSetup): a raw frame is copied into a free OUTPUT buffer and queued, the coded frame
// is taken off the CAPTURE queue straight into the caller's memory (a ring slot), and the
// CAPTURE buffer goes back at once. One frame in flight (the lowest latency; the camera's own
// ring holds the frames waiting). Kernel: userspace-api/media/v4l/dev-encoder.rst, "Encoding",
// "Drain", "Encoder Commands". Generic over the device, so a scripted one tests it.
import CRTCam
import Capture

public final class M2MEncoder<D: M2MDevice> {
  public let settings: EncoderSettings
  public let codec: M2MCodec
  public let device: D
  /// The bitrate asked of the device last.
  public private(set) var bitrate: Int
  /// The raw buffer's layout as the driver set it.
  public let bytesPerLine: Int
  public let rawBufferBytes: Int
  public let rawFormat: FourCC
  /// Optional controls the driver refused at setup (shown by `rtcam probe --encoder`).
  public let refusedControls: [(M2MControl, Int32)]
  /// Whether FORCE_KEY_FRAME works: false once the driver refused it (vicodec has none; the
  /// stream's own keyframe period is all there is then).
  public private(set) var forcesKeyframes = true
  /// OUTPUT buffers back from the driver, free to fill (capacity fixed at setup: no allocation).
  var freeOutput: [Int]
  let outputCount: Int
  let captureCount: Int
  /// Frames queued and coded frames taken off, since the start.
  public private(set) var framesIn = 0
  public private(set) var framesOut = 0

  /// How long one frame may take, in milliseconds: a hardware encoder takes a few ms for
  /// 640x480; half a second without an answer is a stuck encoder, not a slow one (and OpenH264
  /// then takes over within a second of the frame that went in).
  public static var timeoutMs: Int { 500 }
  /// Coded buffers without a picture (an SPS/PPS-only buffer some drivers hand out first) taken
  /// per frame before the frame counts as lost: one header buffer and the picture.
  static var headerBuffersPerFrame: Int { 2 }

  /// Sets the device up for `settings` (M2MEncoderSetup's steps) and hands it every CAPTURE buffer.
  public init(device: D, settings: EncoderSettings, codec: M2MCodec, rawFormat: FourCC = .yu12) throws(EncoderError) {
    try settings.validate()
    var setup = M2MEncoderSetup(settings: settings, codec: codec, rawFormat: rawFormat)
    var guardSteps = setup.steps.count
    while let step = setup.nextStep(), guardSteps > 0 {
      guardSteps -= 1
      setup.handle(device.perform(step))
    }
    switch setup.state {
    case .ready: break
    case .failed(let e):
      if case .stepFailed(_, let errno) = e, errno == EBUSY { throw .m2m(.busy, path: device.path) }
      if case .stepFailed(_, let errno) = e, errno == ENODEV || errno == ENXIO { throw .m2m(.lost(errno), path: device.path) }
      throw .m2m(.setup(e), path: device.path)
    case .running: throw .m2m(.failed("setup", EINVAL), path: device.path)
    }
    self.device = device
    self.settings = settings
    self.codec = codec
    self.rawFormat = rawFormat
    bitrate = settings.bitrate
    bytesPerLine = setup.rawBytesPerLine
    rawBufferBytes = setup.rawBufferBytes
    refusedControls = setup.refusedControls
    outputCount = setup.outputBufferCount
    captureCount = setup.captureBufferCount
    freeOutput = []
    freeOutput.reserveCapacity(outputCount)
    for i in 0..<outputCount { freeOutput.append(i) }
    for i in 0..<captureCount {
      let e = device.enqueue(.capture, index: i, bytesUsed: 0)
      if e != 0 { throw .m2m(.call("VIDIOC_QBUF", errno: e), path: device.path) }
    }
  }

  deinit {
    _ = device.streamOff(.output)
    _ = device.streamOff(.capture)
  }

  func fault(_ f: M2MFault) -> EncoderError { .m2m(f, path: device.path) }

  /// Encodes one frame into `out`: the coded frame as the driver wrote it (for H.264 an Annex-B
  /// access unit, its SPS conformed to what rtcam signals). `forceKeyframe` asks the driver for
  /// a keyframe (FORCE_KEY_FRAME); whether one came is in the result. Allocates nothing.
  /// Throws `.m2m` when the device fails, times out or goes away.
  public func encode(_ frame: FrameView, forceKeyframe: Bool = false, into out: UnsafeMutableRawBufferPointer)
    throws(EncoderError) -> EncodeOutcome
  {
    guard frame.width == settings.width, frame.height == settings.height, frame.layout == .i420 else {
      throw .badSettings("frame " + String(frame.width) + "x" + String(frame.height) + " does not match the encoder's "
        + String(settings.width) + "x" + String(settings.height))
    }
    let index = try takeOutputBuffer()
    copy(frame, into: device.buffer(.output, index))
    if forceKeyframe && forcesKeyframes {
      let e = device.setControl(.forceKeyFrame)
      if e == ENODEV || e == ENXIO { throw fault(.lost(e)) }
      if e != 0 {
        // without it a viewer that joins waits for the periodic IDR: not for H.264
        if codec == .h264 { throw fault(.setup(.controlRefused(.forceKeyFrame, errno: e))) }
        forcesKeyframes = false
      }
    }
    let qe = device.enqueue(.output, index: index, bytesUsed: rawBufferBytes)
    if qe != 0 {
      freeOutput.append(index)
      throw fault(.call("VIDIOC_QBUF (raw frame)", errno: qe))
    }
    framesIn += 1
    var written = 0
    var fits = true
    var keyframe = false
    var look = (hasPicture: false, isIdr: false)  // H.264: what the bytes so far hold
    var buffers = 0
    while buffers < M2MEncoder.headerBuffersPerFrame {
      let d = try takeCodedBuffer()
      buffers += 1
      let data = device.buffer(.capture, d.index)
      let n = min(max(d.bytesUsed, 0), data.count)
      if d.flags & M2MBufferFlags.error == 0, n > 0 {
        if written + n <= out.count, let dst = out.baseAddress, let src = data.baseAddress {
          (dst + written).copyMemory(from: src, byteCount: n)
        } else {
          fits = false
        }
        written += n
      }
      keyframe = keyframe || d.flags & M2MBufferFlags.keyframe != 0
      let re = device.enqueue(.capture, index: d.index, bytesUsed: 0)
      if re != 0 { throw fault(.call("VIDIOC_QBUF (bitstream)", errno: re)) }
      // an H.264 buffer of SPS/PPS alone is followed by the picture; every FWHT buffer is one
      if codec != .h264 || !fits { break }
      look = M2MBitstream.inspect(UnsafeMutableRawBufferPointer(rebasing: out[0..<written]))
      if look.hasPicture { break }
    }
    guard written > 0 else { return .skipped }
    guard fits else { return .tooLarge(written) }
    switch codec {
    case .h264:
      if !look.hasPicture { return .skipped }
      keyframe = keyframe || look.isIdr
    case .fwht:
      keyframe = keyframe || M2MBitstream.isFwhtKeyframe(UnsafeRawBufferPointer(rebasing: out[0..<written]))
    }
    framesOut += 1
    return .encoded(EncodedFrame(isKeyframe: keyframe, length: written, captureTimeNs: frame.captureTimeNs,
      sequence: frame.sequence, temporalLayer: 0))
  }

  /// A free OUTPUT buffer: those the driver is done with come back first; if none is free, waits
  /// for one (bounded by `timeoutMs`).
  func takeOutputBuffer() throws(EncoderError) -> Int {
    try reclaimOutput()
    if let i = freeOutput.popLast() { return i }
    switch device.wait(.output, timeoutMs: M2MEncoder.timeoutMs) {
    case .ready: break
    case .timedOut: throw fault(.timeout(ms: M2MEncoder.timeoutMs))
    case .failed(let e): throw fault(.call("poll", errno: e))
    }
    try reclaimOutput()
    guard let i = freeOutput.popLast() else { throw fault(.timeout(ms: M2MEncoder.timeoutMs)) }
    return i
  }

  /// Takes back every OUTPUT buffer the driver has finished with.
  func reclaimOutput() throws(EncoderError) {
    var rounds = outputCount
    while rounds > 0 {
      rounds -= 1
      let (d, e) = device.dequeue(.output)
      guard let d else {
        if e == EAGAIN || e == EPIPE { return }
        throw fault(.call("VIDIOC_DQBUF (raw frame)", errno: e))
      }
      var known = false  // (an index loop, not `contains`: nothing generic on the frame path)
      var k = 0
      while k < freeOutput.count {
        if freeOutput[k] == d.index { known = true }
        k += 1
      }
      if d.index >= 0 && d.index < outputCount && !known { freeOutput.append(d.index) }
    }
  }

  /// The next coded buffer, waiting for it at most `timeoutMs`.
  func takeCodedBuffer() throws(EncoderError) -> M2MDequeued {
    var waits = 2  // a wake-up that finds nothing (another event) is retried once
    while true {
      let (d, e) = device.dequeue(.capture)
      if let d {
        guard d.index >= 0 && d.index < captureCount else { throw fault(.failed("VIDIOC_DQBUF: buffer index", EINVAL)) }
        return d
      }
      guard e == EAGAIN else { throw fault(.call("VIDIOC_DQBUF (bitstream)", errno: e)) }
      guard waits > 0 else { throw fault(.timeout(ms: M2MEncoder.timeoutMs)) }
      waits -= 1
      switch device.wait(.capture, timeoutMs: M2MEncoder.timeoutMs) {
      case .ready: continue
      case .timedOut: throw fault(.timeout(ms: M2MEncoder.timeoutMs))
      case .failed(let e): throw fault(.call("poll", errno: e))
      }
    }
  }

  /// Copies an I420 frame into an OUTPUT buffer in the raw format the driver took: I420 rows
  /// at its stride (planes one after another, each of the picture's height), or NV12 (chroma
  /// interleaved).
  func copy(_ f: FrameView, into buf: UnsafeMutableRawBufferPointer) {
    guard let base = buf.baseAddress?.assumingMemoryBound(to: UInt8.self) else { return }
    let bpl = bytesPerLine
    let w = f.width, h = f.height
    let cw = w / 2, ch = h / 2
    guard bpl * h * 3 / 2 <= buf.count else { return }
    for r in 0..<h { (base + r * bpl).update(from: f.y + r * f.yStride, count: w) }
    let chroma = base + bpl * h
    if rawFormat == .nv12 {
      for r in 0..<ch {
        let row = chroma + r * bpl
        let u = f.u + r * f.uvStride, v = f.v + r * f.uvStride
        for c in 0..<cw {
          row[2 * c] = u[c]
          row[2 * c + 1] = v[c]
        }
      }
    } else {
      let cbpl = bpl / 2
      let cr = chroma + cbpl * ch
      for r in 0..<ch {
        (chroma + r * cbpl).update(from: f.u + r * f.uvStride, count: cw)
        (cr + r * cbpl).update(from: f.v + r * f.uvStride, count: cw)
      }
    }
  }

  /// Makes `bitsPerSecond` the target from the next frame on (VIDIOC_S_CTRL on the running
  /// encoder; no keyframe). FWHT has no bitrate: only recorded.
  public func setBitrate(_ bitsPerSecond: Int) throws(EncoderError) {
    guard EncoderSettings.bitrateRange.contains(bitsPerSecond) else {
      throw .badSettings("bitrate " + String(bitsPerSecond) + " out of range")
    }
    guard bitsPerSecond != bitrate else { return }
    if codec == .h264 {
      let e = device.setControl(.bitrate(bitsPerSecond))
      if e != 0 { throw fault(.call("VIDIOC_S_CTRL (bitrate)", errno: e)) }
    }
    bitrate = bitsPerSecond
  }

  /// Drains the encoder (V4L2_ENC_CMD_STOP): every frame queued comes out, the last one marked
  /// LAST. Returns the coded frames that came out. Then `restart()` resumes it.
  public func drain() throws(EncoderError) -> Int {
    let e = device.command(.stop)
    if e != 0 { throw fault(.call("VIDIOC_ENCODER_CMD (stop)", errno: e)) }
    var frames = 0
    var rounds = outputCount + captureCount + 1  // every frame in flight, and the empty LAST one
    while rounds > 0 {
      rounds -= 1
      let d = try takeCodedBuffer()
      if d.bytesUsed > 0 { frames += 1 }
      let re = device.enqueue(.capture, index: d.index, bytesUsed: 0)
      if re != 0 { throw fault(.call("VIDIOC_QBUF (bitstream)", errno: re)) }
      if d.flags & M2MBufferFlags.last != 0 {
        framesOut += frames
        try reclaimOutput()
        return frames
      }
    }
    throw fault(.failed("drain: no buffer marked LAST", EPROTO))
  }

  /// Resumes after `drain()`: V4L2_ENC_CMD_START, then STREAMOFF and STREAMON on CAPTURE with
  /// every bitstream buffer queued again. dev-encoder.rst offers either; both are done because
  /// a driver may keep refusing dequeues after the LAST buffer until the queue restarts: vicodec
  /// in 6.1 clears that state on START only when it is still stopped, which the
  /// v4l2_m2m_ioctl_encoder_cmd it calls first has just undone.
  public func restart() throws(EncoderError) {
    let e = device.command(.start)
    if e != 0 && e != EBUSY { throw fault(.call("VIDIOC_ENCODER_CMD (start)", errno: e)) }
    let off = device.streamOff(.capture)
    if off != 0 { throw fault(.call("VIDIOC_STREAMOFF (bitstream)", errno: off)) }
    if case .failed(let on) = device.perform(.streamOn(.capture)) {
      throw fault(.call("VIDIOC_STREAMON (bitstream)", errno: on))
    }
    for i in 0..<captureCount {
      let q = device.enqueue(.capture, index: i, bytesUsed: 0)
      if q != 0 { throw fault(.call("VIDIOC_QBUF (bitstream)", errno: q)) }
    }
  }
}

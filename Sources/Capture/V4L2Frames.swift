// V4L2 capture, per frame: capture times, turning a dequeued buffer into an I420 view (in place,
// converted, or decoded from MJPEG) and the timeout diagnosis.
import CRTCam
import Wire

extension V4L2Source {
  /// The driver's timestamp when it is CLOCK_MONOTONIC and plausible, else `now`.
  func captureTime(_ b: v4l2_buffer, now: UInt64) -> UInt64 {
    guard b.flags & V4L2Const.bufFlagTimestampMask == V4L2Const.bufFlagTimestampMonotonic,
      b.timestamp.tv_sec >= 0, b.timestamp.tv_usec >= 0
    else { return now }
    let ts = UInt64(b.timestamp.tv_sec) &* 1_000_000_000 &+ UInt64(b.timestamp.tv_usec) &* 1000
    return V4L2Source.plausibleTimestamp(ts, now: now)
  }

  /// `ts` if it is non-zero, not in the future by more than a second and at most 10 s old; else
  /// `now`.
  static func plausibleTimestamp(_ ts: UInt64, now: UInt64) -> UInt64 {
    if ts == 0 || ts > now &+ 1_000_000_000 || now &- min(ts, now) > 10_000_000_000 { return now }
    return ts
  }

  /// MJPEG frames that fail to decode in a row before the stream is given up (two seconds at
  /// 30 fps: a camera sending only garbage, not one glitch).
  static let mjpegGiveUp = 60

  /// Points a view into buffer `index` (zero copy; held until the next call), or converts or
  /// decodes the buffer into the source's I420 planes and queues it again. nil: a damaged MJPEG
  /// frame was skipped (counted; the caller waits for the next).
  mutating func makeView(index: UInt32, bytesUsed: Int, captureTimeNs: UInt64) throws(CaptureError) -> FrameView? {
    let src = UnsafePointer<UInt8>(stream.buffers[Int(index)].base.assumingMemoryBound(to: UInt8.self))
    let bpl = bytesPerLine
    let rows = height  // even rows used; a driver's odd last row is ignored
    let fullH = bufferHeight
    switch layout {
    case .mjpeg:
      return try decodeMjpeg(index: index, bytesUsed: bytesUsed, captureTimeNs: captureTimeNs)
    case .i420, .yv12:
      stream.held = index
      let first = src + bpl * fullH
      let second = first + (bpl / 2) * (fullH / 2)
      return FrameView(
        width: width, height: rows, y: src, u: layout == .i420 ? first : second, v: layout == .i420 ? second : first,
        yStride: bpl, uvStride: bpl / 2, captureTimeNs: captureTimeNs, sequence: sequence)
    case .nv12, .nv21, .yuyv, .uyvy:
      guard let slot = stream.slot else { throw .camera("no conversion buffer", ENOMEM) }
      let y = slot.base
      let u = y + width * rows
      let v = u + (width / 2) * (rows / 2)
      if layout == .yuyv || layout == .uyvy {
        V4L2Convert.packed422ToI420(src, srcStride: bpl, width: width, height: rows, uyvy: layout == .uyvy, y: y, u: u, v: v)
      } else {
        V4L2Convert.semiPlanarToI420(
          y: src, yStride: bpl, uv: src + bpl * fullH, uvStride: bpl, width: width, height: rows,
          swapped: layout == .nv21, y: y, u: u, v: v)
      }
      let e = stream.queue(index)
      if e != 0 { throw CaptureError.cameraCallFailure(path: path, what: "VIDIOC_QBUF", errno: e) }
      return FrameView(
        width: width, height: rows, y: UnsafePointer(y), u: UnsafePointer(u), v: UnsafePointer(v), yStride: width,
        uvStride: width / 2, captureTimeNs: captureTimeNs, sequence: sequence)
    }
  }

  /// Decodes the JPEG in buffer `index` (its first `bytesUsed` bytes, bounded by the buffer).
  mutating func decodeMjpeg(index: UInt32, bytesUsed: Int, captureTimeNs: UInt64) throws(CaptureError) -> FrameView? {
    guard let decoder = stream.decoder else { throw .camera("no JPEG decoder", ENOMEM) }
    let buffer = stream.buffers[Int(index)]
    let data = UnsafeRawBufferPointer(start: buffer.base, count: min(max(bytesUsed, 0), buffer.length))
    var failure: JpegError? = nil
    var view: FrameView? = nil
    do throws(JpegError) {
      let f = try decoder.decode(data, captureTimeNs: captureTimeNs, sequence: sequence)
      // a frame of another size than negotiated would change the encoder's picture under it
      if f.width == width && f.height == height {
        view = f
      } else {
        failure = .damaged("a " + String(f.width) + "x" + String(f.height) + " frame in a " + String(width) + "x"
          + String(height) + " stream")
      }
    } catch {
      failure = error
    }
    let e = stream.queue(index)
    if e != 0 { throw CaptureError.cameraCallFailure(path: path, what: "VIDIOC_QBUF", errno: e) }
    if let v = view {
      stream.damagedInARow = 0
      return v
    }
    let why = failure ?? .invalid("no picture")
    if case .unsupported(let m) = why {
      throw .badFormat(path + " sends MJPEG that rtcam cannot decode: " + m)
    }
    stream.damaged += 1
    stream.damagedInARow += 1
    if stream.damagedInARow >= V4L2Source.mjpegGiveUp {
      throw .badFormat(path + ": " + String(stream.damagedInARow) + " MJPEG frames in a row could not be decoded (last: "
        + why.message + ")")
    }
    return nil
  }

  func timeoutError(ms: Int) -> CaptureError {
    var cap = v4l2_capability()
    let e = stream.node.ioctl(rtc_VIDIOC_QUERYCAP(), &cap)
    if e == ENODEV || e == ENXIO || e == EIO {
      return .cameraLost(path + " disappeared (no frame for " + String(ms) + " ms, then " + errnoDescription(e)
        + "); unplugged? rtcam reopens it when it is back")
    }
    return .cameraTimeout(
      path + " delivered no frame for " + String(ms) + " ms; the camera may be stalled or too dark for its exposure")
  }
}

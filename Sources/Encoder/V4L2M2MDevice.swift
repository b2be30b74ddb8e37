// Encoder: the kernel's memory-to-memory encoder node behind `M2MDevice`: each step and call as
// its ioctl, single- or multi-planar as the node's capabilities say (a Pi's bcm2835-codec is
// multi-planar with one plane; vicodec is either, by its `multiplanar` parameter). Buffers are
// MMAP, mapped once after REQBUFS. Plain kernel calls on the node (ioctl, mmap, poll).
import CRTCam
import Capture

public final class V4L2M2MDevice: M2MDevice {
  let node: V4L2Node
  public var path: String { node.path }
  public let capabilities: V4L2Capabilities
  let multiPlanar: Bool
  /// Mapped buffers per queue (filled after each queue's REQBUFS).
  var outputBuffers: [UnsafeMutableRawBufferPointer] = []
  var captureBuffers: [UnsafeMutableRawBufferPointer] = []
  /// The one plane a multi-planar QBUF/DQBUF points to (allocated once: no allocation per frame).
  let plane: UnsafeMutablePointer<v4l2_plane>

  /// Opens `path`: it must be a memory-to-memory node with streaming I/O.
  public init(path: String) throws(EncoderError) {
    do {
      node = try V4L2Node(path: path)
      capabilities = try node.capabilities()
    } catch {
      switch error {
      case .cameraBusy: throw .m2m(.busy, path: path)
      case .cameraLost: throw .m2m(.lost(ENODEV), path: path)
      case .notACamera:
        throw .m2m(.notFound(path + " is not a V4L2 device node; `rtcam probe --encoder` lists the encoder nodes"), path: path)
      default: throw .m2m(.notFound(error.message), path: path)
      }
    }
    guard capabilities.isMemoryToMemory else {
      throw .m2m(.notFound(path + " is a V4L2 " + capabilities.kind + " node (" + capabilities.driver
        + "), not a memory-to-memory encoder; `rtcam probe --encoder` lists them"), path: path)
    }
    multiPlanar = capabilities.isMultiPlanar
    plane = UnsafeMutablePointer<v4l2_plane>.allocate(capacity: 1)
    plane.initialize(to: v4l2_plane())
  }

  deinit {
    for (queue, buffers) in [(M2MQueue.output, outputBuffers), (.capture, captureBuffers)] where !buffers.isEmpty {
      for b in buffers { _ = munmap(b.baseAddress, b.count) }
      var req = v4l2_requestbuffers()
      req.count = 0
      req.type = type(queue)
      req.memory = V4L2Const.memoryMmap
      _ = node.ioctl(rtc_VIDIOC_REQBUFS(), &req)
    }
    plane.deinitialize(count: 1)
    plane.deallocate()
  }

  func type(_ q: M2MQueue) -> UInt32 {
    switch (q, multiPlanar) {
    case (.output, false): return V4L2Const.bufTypeVideoOutput
    case (.capture, false): return V4L2Const.bufTypeVideoCapture
    case (.output, true): return V4L2Const.bufTypeVideoOutputMplane
    case (.capture, true): return V4L2Const.bufTypeVideoCaptureMplane
    }
  }

  public func perform(_ step: M2MStep) -> M2MAnswer {
    switch step {
    case .setCodedFormat(let codec, let w, let h, let bytes):
      return setFormat(.capture, codec.fourcc, width: w, height: h, bufferBytes: bytes)
    case .setRawFormat(let f, let w, let h):
      return setFormat(.output, f, width: w, height: h, bufferBytes: 0)
    case .setFrameRate(let fps):
      var p = v4l2_streamparm()
      p.type = type(.output)
      p.parm.output.timeperframe = v4l2_fract(numerator: 1, denominator: UInt32(clamping: fps))
      let e = node.ioctl(rtc_VIDIOC_S_PARM(), &p)
      return e == 0 ? .done : .failed(e)
    case .setControl(let c):
      let e = setControl(c)
      return e == 0 ? .done : .failed(e)
    case .requestBuffers(let q, let count):
      return requestBuffers(q, count: count)
    case .streamOn(let q):
      var t = Int32(bitPattern: type(q))
      let e = node.ioctl(rtc_VIDIOC_STREAMON(), &t)
      return e == 0 ? .done : .failed(e)
    }
  }

  func setFormat(_ q: M2MQueue, _ fourcc: FourCC, width: Int, height: Int, bufferBytes: Int) -> M2MAnswer {
    var f = v4l2_format()
    f.type = type(q)
    if multiPlanar {
      f.fmt.pix_mp.width = UInt32(clamping: width)
      f.fmt.pix_mp.height = UInt32(clamping: height)
      f.fmt.pix_mp.pixelformat = fourcc.rawValue
      f.fmt.pix_mp.field = V4L2Const.fieldNone
      f.fmt.pix_mp.num_planes = 1
      f.fmt.pix_mp.plane_fmt.0.sizeimage = UInt32(clamping: bufferBytes)
    } else {
      f.fmt.pix.width = UInt32(clamping: width)
      f.fmt.pix.height = UInt32(clamping: height)
      f.fmt.pix.pixelformat = fourcc.rawValue
      f.fmt.pix.field = V4L2Const.fieldNone
      f.fmt.pix.sizeimage = UInt32(clamping: bufferBytes)
    }
    let e = node.ioctl(rtc_VIDIOC_S_FMT(), &f)
    if e != 0 { return .failed(e) }
    if multiPlanar {
      let p = f.fmt.pix_mp
      return .format(FourCC(rawValue: p.pixelformat), width: Int(p.width), height: Int(p.height),
        bytesPerLine: Int(p.plane_fmt.0.bytesperline), bufferBytes: Int(p.plane_fmt.0.sizeimage))
    }
    let p = f.fmt.pix
    return .format(FourCC(rawValue: p.pixelformat), width: Int(p.width), height: Int(p.height),
      bytesPerLine: Int(p.bytesperline), bufferBytes: Int(p.sizeimage))
  }

  /// REQBUFS, then QUERYBUF and mmap each buffer. At most 16 per queue (the setup asks for 3).
  func requestBuffers(_ q: M2MQueue, count: Int) -> M2MAnswer {
    var req = v4l2_requestbuffers()
    req.count = UInt32(clamping: count)
    req.type = type(q)
    req.memory = V4L2Const.memoryMmap
    var e = node.ioctl(rtc_VIDIOC_REQBUFS(), &req)
    if e != 0 { return .failed(e) }
    let n = min(Int(req.count), 16)
    var list: [UnsafeMutableRawBufferPointer] = []
    for i in 0..<n {
      var b = v4l2_buffer()
      b.index = UInt32(i)
      b.type = type(q)
      b.memory = V4L2Const.memoryMmap
      var length = 0, offset: Int64 = 0
      if multiPlanar {
        plane.pointee = v4l2_plane()
        b.m.planes = plane
        b.length = 1
        e = node.ioctl(rtc_VIDIOC_QUERYBUF(), &b)
        length = Int(plane.pointee.length)
        offset = Int64(plane.pointee.m.mem_offset)
      } else {
        e = node.ioctl(rtc_VIDIOC_QUERYBUF(), &b)
        length = Int(b.length)
        offset = Int64(b.m.offset)
      }
      if e != 0 { return .failed(e) }
      let p = rtc_mmap(nil, length, PROT_READ | PROT_WRITE, MAP_SHARED, node.fd, offset)
      guard let base = p, base != UnsafeMutableRawPointer(bitPattern: -1) else { return .failed(rtc_errno()) }
      list.append(UnsafeMutableRawBufferPointer(start: base, count: length))
    }
    if q == .output { outputBuffers = list } else { captureBuffers = list }
    return .buffers(n)
  }

  public func buffer(_ queue: M2MQueue, _ index: Int) -> UnsafeMutableRawBufferPointer {
    let list = queue == .output ? outputBuffers : captureBuffers
    guard index >= 0, index < list.count else { return UnsafeMutableRawBufferPointer(start: nil, count: 0) }
    return list[index]
  }

  public func enqueue(_ queue: M2MQueue, index: Int, bytesUsed: Int) -> Int32 {
    var b = v4l2_buffer()
    b.index = UInt32(clamping: index)
    b.type = type(queue)
    b.memory = V4L2Const.memoryMmap
    if multiPlanar {
      plane.pointee = v4l2_plane()
      plane.pointee.bytesused = UInt32(clamping: bytesUsed)
      plane.pointee.length = UInt32(clamping: buffer(queue, index).count)
      b.m.planes = plane
      b.length = 1
    } else {
      b.bytesused = UInt32(clamping: bytesUsed)
    }
    return node.ioctl(rtc_VIDIOC_QBUF(), &b)
  }

  public func dequeue(_ queue: M2MQueue) -> (M2MDequeued?, Int32) {
    var b = v4l2_buffer()
    b.type = type(queue)
    b.memory = V4L2Const.memoryMmap
    if multiPlanar {
      plane.pointee = v4l2_plane()
      b.m.planes = plane
      b.length = 1
    }
    let e = node.ioctl(rtc_VIDIOC_DQBUF(), &b)
    if e != 0 { return (nil, e) }
    var used = Int(b.bytesused)
    if multiPlanar {
      // the payload starts data_offset bytes into the plane (0 for an encoder's output)
      used = Int(plane.pointee.bytesused) - Int(min(plane.pointee.data_offset, plane.pointee.bytesused))
    }
    return (M2MDequeued(index: Int(b.index), bytesUsed: used, flags: b.flags), 0)
  }

  public func wait(_ queue: M2MQueue, timeoutMs: Int) -> M2MWait {
    var p = pollfd(fd: node.fd, events: Int16(queue == .capture ? POLLIN : POLLOUT), revents: 0)
    let r = poll(&p, 1, Int32(clamping: timeoutMs))
    if r < 0 {
      let e = rtc_errno()
      return e == EINTR ? .ready : .failed(e)
    }
    if r == 0 { return .timedOut }
    if p.revents & Int16(POLLERR | POLLHUP | POLLNVAL) != 0 && p.revents & Int16(POLLIN | POLLOUT) == 0 {
      // an unregistered node answers POLLERR|POLLHUP; QUERYCAP tells a vanished device apart
      var cap = v4l2_capability()
      let e = node.ioctl(rtc_VIDIOC_QUERYCAP(), &cap)
      return .failed(e != 0 ? e : EIO)
    }
    return .ready
  }

  public func setControl(_ control: M2MControl) -> Int32 {
    let (id, value) = control.v4l2
    var c = v4l2_control(id: id, value: value)
    return node.ioctl(rtc_VIDIOC_S_CTRL(), &c)
  }

  public func command(_ command: M2MCommand) -> Int32 {
    var c = v4l2_encoder_cmd()
    c.cmd = command == .stop ? 1 : 0  // V4L2_ENC_CMD_STOP, V4L2_ENC_CMD_START
    return node.ioctl(rtc_VIDIOC_ENCODER_CMD(), &c)
  }

  public func streamOff(_ queue: M2MQueue) -> Int32 {
    var t = Int32(bitPattern: type(queue))
    return node.ioctl(rtc_VIDIOC_STREAMOFF(), &t)
  }
}

/// A control a node offers (VIDIOC_QUERY_EXT_CTRL), for `rtcam probe --encoder`.
public struct M2MControlInfo: Equatable, Sendable {
  public var id: UInt32
  public var name: String
  /// V4L2_CTRL_TYPE_*: 1 integer, 2 boolean, 3 menu, 4 button, 5 integer64, 9 integer menu, ...
  public var type: UInt32
  public var minimum: Int64
  public var maximum: Int64
  public var step: UInt64
  public var defaultValue: Int64
}

extension V4L2M2MDevice {
  /// Every control of the node (class headers left out), in the driver's order; at most 256.
  public func controls() -> [M2MControlInfo] {
    var out: [M2MControlInfo] = []
    var id: UInt32 = 0
    let next: UInt32 = 0x8000_0000 | 0x4000_0000  // V4L2_CTRL_FLAG_NEXT_CTRL | _NEXT_COMPOUND
    let classType: UInt32 = 6  // V4L2_CTRL_TYPE_CTRL_CLASS
    for _ in 0..<256 {
      var q = v4l2_query_ext_ctrl()
      q.id = id | next
      guard node.ioctl(rtc_VIDIOC_QUERY_EXT_CTRL(), &q) == 0, q.id != id else { break }
      id = q.id
      if q.type == classType { continue }
      out.append(M2MControlInfo(id: q.id, name: fixedCString(q.name), type: q.type, minimum: q.minimum,
        maximum: q.maximum, step: q.step, defaultValue: q.default_value))
    }
    return out
  }
}

// V4L2 capture, device part: what a video node is (its capabilities) and offers, as `rtcam
// devices` shows it, and which node is the default camera. The node itself: V4L2Node.swift.
import CRTCam
import Wire

/// What VIDIOC_QUERYCAP says about a video node.
public struct V4L2Capabilities: Equatable, Sendable {
  /// Driver name ("uvcvideo", "vivid").
  public var driver: String
  /// Device name ("HD Webcam C270").
  public var card: String
  /// Bus location ("usb-0000:00:14.0-1").
  public var bus: String
  /// Kernel version the driver reports, as "6.1.0".
  public var version: String
  /// The capabilities of this node (device_caps when the driver gives them, else capabilities).
  public var deviceCaps: UInt32

  public init(driver: String, card: String, bus: String, version: String, deviceCaps: UInt32) {
    self.driver = driver
    self.card = card
    self.bus = bus
    self.version = version
    self.deviceCaps = deviceCaps
  }

  /// Single-planar video capture.
  public var isVideoCapture: Bool { deviceCaps & V4L2Const.capVideoCapture != 0 }
  /// Streaming (mmap) I/O.
  public var hasStreaming: Bool { deviceCaps & V4L2Const.capStreaming != 0 }

  /// A usable camera node: single-planar capture with streaming I/O.
  public var isCamera: Bool { isVideoCapture && hasStreaming }
  /// A memory-to-memory node with streaming I/O (an encoder, decoder or scaler: its queues'
  /// formats say which), single- or multi-planar: a Pi's bcm2835-codec uses the multi-planar API
  /// (with one plane), vicodec the single-planar one unless loaded with multiplanar=1.
  public var isMemoryToMemory: Bool {
    deviceCaps & (V4L2Const.capVideoM2M | V4L2Const.capVideoM2MMplane) != 0 && hasStreaming
  }
  /// Whether its queues are the multi-planar kind (VIDEO_OUTPUT_MPLANE, VIDEO_CAPTURE_MPLANE).
  public var isMultiPlanar: Bool { deviceCaps & V4L2Const.capVideoM2MMplane != 0 }

  /// What kind of node this is, for listings and errors ("video capture", "metadata capture").
  public var kind: String {
    let c = deviceCaps
    if c & V4L2Const.capVideoCapture != 0 { return "video capture" }
    if c & V4L2Const.capVideoCaptureMplane != 0 { return "multi-planar video capture (not supported)" }
    if c & (V4L2Const.capVideoM2M | V4L2Const.capVideoM2MMplane) != 0 { return "memory-to-memory codec" }
    if c & V4L2Const.capMetaCapture != 0 { return "metadata capture" }
    if c & V4L2Const.capVideoOutput != 0 { return "video output" }
    return "other (capabilities 0x" + Hex.encode(bigEndianBytes(c)) + ")"
  }

  /// Why this node cannot be used as a camera, or nil when it can.
  public func unusableReason(path: String) -> String? {
    if !isVideoCapture {
      return path + " is a V4L2 " + kind + " node, not a video capture node (card '" + card
        + "'); cameras often have several /dev/video* nodes: `rtcam devices` lists the usable ones"
    }
    if !hasStreaming {
      return path + " (" + card + ") does not support streaming I/O, which rtcam needs"
    }
    return nil
  }
}

/// A video node as `rtcam devices` shows it.
/// What `serve` and `probe` use without --source.
public enum DefaultSource: Equatable, Sendable {
  /// A V4L2 camera (`v4l2:PATH`).
  case camera(String)
  /// A camera module through rpicam-vid (`rpicam`).
  case rpicam
  /// The test pattern (`testsrc`).
  case testPattern
}

public struct V4L2DeviceInfo: Equatable, Sendable {
  public var path: String
  public var capabilities: V4L2Capabilities
  /// The driver's own formats (no libv4l2 emulation: rtcam calls the kernel directly), with sizes and intervals.
  public var formats: [V4L2FormatOption]

  /// A memory-to-memory node's queues: what it takes on OUTPUT (raw frames, for an encoder) and
  /// makes on CAPTURE (the coded formats, for an encoder); nil for other nodes.
  public var codec: V4L2CodecFormats?

  public init(path: String, capabilities: V4L2Capabilities, formats: [V4L2FormatOption], codec: V4L2CodecFormats? = nil) {
    self.path = path
    self.capabilities = capabilities
    self.formats = formats
    self.codec = codec
  }

  /// A camera rtcam can stream from: a capture node with streaming I/O and a format rtcam decodes.
  public var isUsable: Bool { capabilities.isCamera && formats.contains { $0.isSupported } }

  /// The drivers of the Raspberry Pi's CSI-2 receivers (`UNICAM_MODULE_NAME` "unicam" in
  /// bcm2835-unicam, Pi 4 and earlier; `CFE_MODULE_NAME` "rp1-cfe" on the Pi 5): their video nodes
  /// carry a camera module's raw Bayer data, which libcamera (rpicam-vid) turns into pictures.
  public static let cameraModuleDrivers = ["unicam", "rp1-cfe"]

  /// A camera module's receiver node: use `--source rpicam`.
  public var isCameraModule: Bool {
    capabilities.isVideoCapture && V4L2DeviceInfo.cameraModuleDrivers.contains(capabilities.driver)
  }

  /// Which camera to use when no --source is given, from what the nodes answered (in numeric
  /// order) and whether rpicam-vid is on PATH: the first usable V4L2 camera (a USB webcam stays
  /// the default beside a camera module); else the first that is busy (it is retried until it is
  /// free); else a camera module through rpicam-vid; else the test pattern. `note` says why, and
  /// names the other camera when there are both.
  public static func defaultSource(_ nodes: [(path: String, result: Result<V4L2DeviceInfo, CaptureError>)],
                                   rpicamVid: Bool) -> (source: DefaultSource, note: String) {
    var module: V4L2DeviceInfo? = nil
    for n in nodes {
      if case .success(let info) = n.result, info.isCameraModule, !info.isUsable {
        module = info
        break
      }
    }
    let moduleText = module.map { $0.path + ", driver " + $0.capabilities.driver } ?? ""
    for n in nodes {
      if case .success(let info) = n.result, info.isUsable {
        var note = "camera found at " + n.path + " (" + info.capabilities.card + "): using it"
        if module != nil { note += "; a camera module is there too (" + moduleText + "): --source rpicam uses it instead" }
        return (.camera(n.path), note + " (--source testsrc for the test pattern)")
      }
    }
    for n in nodes {
      if case .failure(.cameraBusy) = n.result {
        return (.camera(n.path), n.path + " is busy (another program uses it): using it, retried until it is free")
      }
    }
    if module != nil {
      guard rpicamVid else {
        return (.testPattern, "a camera module is there (" + moduleText + ") but rpicam-vid is not on PATH (install "
          + "rpicam-apps, or rpicam-apps-lite): using the test pattern")
      }
      return (.rpicam, "camera module found (" + moduleText + "): using it through rpicam-vid (--source rpicam; "
        + "--source testsrc for the test pattern)")
    }
    if nodes.isEmpty { return (.testPattern, "no camera (/dev/video*): using the test pattern") }
    return (.testPattern, "no usable camera among " + nodes.map { $0.path }.joined(separator: ", ")
      + " (`rtcam devices` says why): using the test pattern")
  }

  /// `defaultSource` without a camera module: the camera's path, or nil for the test pattern.
  public static func defaultCamera(_ nodes: [(path: String, result: Result<V4L2DeviceInfo, CaptureError>)])
    -> (path: String?, note: String)
  {
    let d = defaultSource(nodes, rpicamVid: false)
    if case .camera(let p) = d.source { return (p, d.note) }
    return (nil, d.note)
  }

  /// Opens `path`, asks for its capabilities and, for capture nodes, its formats, sizes and
  /// intervals; closes it again. Does not change the device's settings or stream.
  public static func query(_ path: String) throws(CaptureError) -> V4L2DeviceInfo {
    let node = try V4L2Node(path: path)
    let caps = try node.capabilities()
    if caps.isMemoryToMemory {
      let (output, capture) = caps.isMultiPlanar
        ? (V4L2Const.bufTypeVideoOutputMplane, V4L2Const.bufTypeVideoCaptureMplane)
        : (V4L2Const.bufTypeVideoOutput, V4L2Const.bufTypeVideoCapture)
      let codec = V4L2CodecFormats(
        takes: node.formats(withSizes: false, type: output).map { $0.fourcc },
        makes: node.formats(withSizes: false, type: capture).map { $0.fourcc })
      return V4L2DeviceInfo(path: path, capabilities: caps, formats: [], codec: codec)
    }
    return V4L2DeviceInfo(path: path, capabilities: caps, formats: caps.isVideoCapture ? node.formats() : [])
  }

  /// Every /dev/videoN node that answers, in numeric order (those that cannot be queried left out).
  public static func queryAll() -> [V4L2DeviceInfo] {
    videoNodePaths().compactMap { try? query($0) }
  }

  /// The /dev/videoN paths that exist, in numeric order.
  public static func videoNodePaths(limit: Int = 64) -> [String] {
    var out: [String] = []
    for i in 0..<limit {
      let p = "/dev/video" + String(i)
      if access(p, F_OK) == 0 { out.append(p) }
    }
    return out
  }
}

// V4L2 memory-to-memory codec nodes (a Pi's bcm2835-codec, the kernel's vicodec): which of them
// is an H.264 encoder, found by what its queues carry, not by a fixed path (bcm2835-codec's
// encoder is usually /dev/video11, but the numbering follows probe order).

/// The formats of a memory-to-memory node's two queues.
public struct V4L2CodecFormats: Equatable, Sendable {
  /// OUTPUT queue: what the application gives it (raw frames, for an encoder).
  public var takes: [FourCC]
  /// CAPTURE queue: what it gives back (a coded format, for an encoder).
  public var makes: [FourCC]

  public init(takes: [FourCC], makes: [FourCC]) {
    self.takes = takes
    self.makes = makes
  }

  /// An encoder to `coded`: it makes that format from raw frames rtcam has (I420 or NV12). A
  /// decoder is the other way round (the coded format on OUTPUT), an image processor makes raw.
  public func encodes(to coded: FourCC) -> Bool {
    makes.contains(coded) && takes.contains { V4L2CodecFormats.rawInputs.contains($0) }
  }

  /// The raw formats rtcam can hand an encoder: planar I420 ("YU12") and NV12, the two a camera
  /// frame converts to without a second pass.
  public static let rawInputs: [FourCC] = [.yu12, .nv12]
}

extension V4L2DeviceInfo {
  /// A memory-to-memory H.264 encoder node.
  public var isH264Encoder: Bool {
    capabilities.isMemoryToMemory && (codec?.encodes(to: .h264) ?? false)
  }

  /// The encoder `--encoder auto` would use, from what the nodes answered (in numeric order): the
  /// first H.264 encoder, else none (OpenH264). `note` says why, for the log.
  public static func defaultEncoder(_ nodes: [V4L2DeviceInfo]) -> (path: String?, note: String) {
    if let e = nodes.first(where: { $0.isH264Encoder }) {
      return (e.path, "H.264 encoder found at " + e.path + " (" + e.capabilities.driver + ")")
    }
    let codecs = nodes.filter { $0.capabilities.isMemoryToMemory }
    if codecs.isEmpty { return (nil, "no memory-to-memory encoder (/dev/video*): OpenH264") }
    return (nil, "no H.264 encoder among the memory-to-memory nodes "
      + codecs.map { $0.path + " (" + $0.capabilities.driver + ")" }.joined(separator: ", ") + ": OpenH264")
  }
}

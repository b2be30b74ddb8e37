// The layer policy (issue 19, item 4): one encoder with temporal layers for every viewer. It
// measures what the encoder actually produced per layer over a sliding window, gives each viewer
// the highest layer its estimate carries (with hysteresis), and chooses the encoder's target
// (LayerPolicyTarget.swift). Sans-IO: time is an input.

/// Per-layer bitrates measured from the encoded frames, and the layers each viewer gets.
///
/// Temporal layers are 0..<layerCount (3 at 30 fps: 7.5, 15 and 30 fps); layer L is decodable
/// with layers 0...L, so a viewer that gets "layer L" is sent every frame of layers 0 through L.
/// Layer 0 is always sent: a viewer that cannot carry even the base layer still gets it, and its
/// pacer's queue bound then drops frames for that viewer only.
///
/// All storage is allocated in `init`; `frameEncoded` and the queries never allocate.
public struct LayerPolicy: Sendable {
  /// The most temporal layers there are: OpenH264's MAX_TEMPORAL_LAYER_NUM.
  public static let maxLayers = 4
  /// Frames kept for the window: more than a 1 s window holds at the highest rate the encoder
  /// accepts (EncoderSettings: 120 fps). A longer window is cut to what these frames cover.
  public static let frameHistory = 128
  /// The measuring window: one second, long enough to hold several frames of every layer (7.5 of
  /// the base layer at 30 fps), short enough to follow a target change within a second.
  public static let defaultWindowNs: UInt64 = 1_000_000_000
  /// Bounds of the window: a shorter one than 1 ms never holds two frames (at the encoder's
  /// 120 fps at most they are 8.3 ms apart), and a minute is more than the frame history covers.
  public static let minWindowNs: UInt64 = 1_000_000
  public static let maxWindowNs: UInt64 = 60_000_000_000
  /// A frame counts at most this many bytes: far above any frame H.264 level 3.1 allows (its
  /// 14 Mbit coded picture buffer is 1.75 MB), and it keeps the window's sum x 8e9 within Int64.
  public static let maxFrameBytes = 4 << 20
  /// A new viewer gets the layers whose measured rate is within 90 % of its estimate: room for the
  /// encoder's overshoot and the packet headers the measurement does not see.
  public static let fitShare = 0.9
  /// A viewer moves up only when the next layer's cumulative rate is within 80 % of its estimate,
  /// and down only when its current layers exceed the estimate: an estimate that wobbles by
  /// +-10 % around a boundary does not switch layers back and forth.
  public static let upShare = 0.8
  static let bitsPerByte: Int64 = 8
  static let nsPerSecond: Int64 = 1_000_000_000

  public let layerCount: Int
  public let windowNs: UInt64
  /// The ring of measured frames: time, layer, bytes.
  var times: [UInt64]
  var frameLayers: [UInt8]
  var sizes: [Int32]
  var nextSlot = 0
  var stored = 0
  var lastAt: UInt64? = nil
  /// Bit/s per layer over the window ending at the last frame (valid when `isMeasured`).
  var rates: [Int]
  /// Bytes per layer in the window (scratch for `measure`).
  var sums: [Int64]
  /// Whether the frames span at least half a window (before that the rates say little).
  public private(set) var isMeasured = false

  /// - Parameters:
  ///   - layerCount: temporal layers (1...maxLayers).
  ///   - windowNs: the measuring window (within minWindowNs...maxWindowNs).
  public init(layerCount: Int = 3, windowNs: UInt64 = LayerPolicy.defaultWindowNs) {
    self.layerCount = min(max(layerCount, 1), LayerPolicy.maxLayers)
    self.windowNs = min(max(windowNs, LayerPolicy.minWindowNs), LayerPolicy.maxWindowNs)
    times = [UInt64](repeating: 0, count: LayerPolicy.frameHistory)
    frameLayers = [UInt8](repeating: 0, count: LayerPolicy.frameHistory)
    sizes = [Int32](repeating: 0, count: LayerPolicy.frameHistory)
    rates = [Int](repeating: 0, count: self.layerCount)
    sums = [Int64](repeating: 0, count: self.layerCount)
  }

  /// The highest layer.
  public var topLayer: UInt8 { UInt8(layerCount - 1) }

  /// One frame the encoder produced: its temporal layer and size. Keyframes (`keyframe: true`)
  /// are left out: a join or a PLI would otherwise inflate the base layer's rate for a whole
  /// window and push every viewer down a layer. Frames of a layer beyond `topLayer` are ignored;
  /// a gap of more than a window (the encoder stopped) starts the measurement afresh. Time going
  /// backwards counts as standing still.
  public mutating func frameEncoded(layer: UInt8, bytes: Int, now: UInt64, keyframe: Bool = false) {
    guard !keyframe, layer <= topLayer else { return }
    let t = max(now, lastAt ?? now)
    if let last = lastAt, t - last > windowNs { reset() }
    times[nextSlot] = t
    frameLayers[nextSlot] = layer
    sizes[nextSlot] = Int32(min(max(bytes, 0), LayerPolicy.maxFrameBytes))
    nextSlot = (nextSlot + 1) % LayerPolicy.frameHistory
    stored = min(stored + 1, LayerPolicy.frameHistory)
    lastAt = t
    measure(until: t)
  }

  /// Forgets every measured frame (the encoder restarted).
  public mutating func reset() {
    stored = 0
    nextSlot = 0
    lastAt = nil
    isMeasured = false
    for l in 0..<layerCount { rates[l] = 0 }
  }

  /// The measured bitrate of one layer alone (nil: not measured yet, or no such layer).
  public func bitrate(layer: UInt8) -> Int? {
    guard isMeasured, layer <= topLayer else { return nil }
    return rates[Int(layer)]
  }

  /// The measured bitrate of layers 0...layer together: what a viewer given `layer` receives
  /// (nil: not measured yet).
  public func cumulativeBitrate(through layer: UInt8) -> Int? {
    guard isMeasured else { return nil }
    return cumulative(min(layer, topLayer))
  }

  /// The layers for a viewer without a current choice (it just joined): the highest layer whose
  /// cumulative rate is within `fitShare` of the estimate; layer 0 at least; every layer while
  /// nothing is measured (the pacer's queue bound still protects the link).
  public func layers(for estimate: Int) -> UInt8 {
    guard isMeasured else { return topLayer }
    var l: UInt8 = 0
    while l < topLayer, LayerPolicy.fits(cumulative(l + 1), LayerPolicy.fitShare, estimate) { l += 1 }
    return l
  }

  /// The layers for a viewer that has `current`: down while the current layers' cumulative rate
  /// exceeds the estimate, up while the next layer's cumulative rate is within `upShare` of it;
  /// layer 0 at least; unchanged while nothing is measured.
  public func layers(for estimate: Int, current: UInt8) -> UInt8 {
    var l = min(current, topLayer)
    guard isMeasured else { return l }
    while l > 0, !LayerPolicy.fits(cumulative(l), 1, estimate) { l -= 1 }
    while l < topLayer, LayerPolicy.fits(cumulative(l + 1), LayerPolicy.upShare, estimate) { l += 1 }
    return l
  }

  /// The base layer's measured share of the total, bounded to [minBaseShare, 1]; `defaultBaseShare`
  /// before anything is measured; 1 with a single layer.
  public var baseShare: Double {
    guard layerCount > 1 else { return 1 }
    let total = cumulative(topLayer)
    guard isMeasured, total > 0 else { return LayerPolicy.defaultBaseShare }
    return min(max(Double(rates[0]) / Double(total), LayerPolicy.minBaseShare), 1)
  }

  // MARK: measuring

  func cumulative(_ layer: UInt8) -> Int {
    var sum: Int64 = 0
    for l in 0...Int(layer) { sum += Int64(rates[l]) }
    return Int(clamping: sum)
  }

  static func fits(_ rate: Int, _ share: Double, _ estimate: Int) -> Bool {
    Double(rate) <= share * Double(estimate)
  }

  /// The rates over the window ending at `now`: the frames after its start, over its length. A
  /// frame stands for the time since the one before it, so the frame at the window's start (or
  /// the oldest one kept, when the history began later) is not counted: 30 frames a second at
  /// 1000 bytes each measure exactly 240 kbit/s.
  mutating func measure(until now: UInt64) {
    let oldest = (nextSlot - stored + LayerPolicy.frameHistory) % LayerPolicy.frameHistory
    let windowStart = now >= windowNs ? now - windowNs : 0
    let start = max(windowStart, times[oldest])
    let span = now - start
    guard span >= windowNs / 2 else {
      isMeasured = false
      return
    }
    for l in 0..<layerCount { sums[l] = 0 }
    for i in 0..<stored {
      let slot = (oldest + i) % LayerPolicy.frameHistory
      if times[slot] > start { sums[Int(frameLayers[slot])] += Int64(sizes[slot]) }
    }
    for l in 0..<layerCount {
      rates[l] = Int(clamping: sums[l] * LayerPolicy.bitsPerByte * LayerPolicy.nsPerSecond / Int64(span))
    }
    isMeasured = true
  }
}

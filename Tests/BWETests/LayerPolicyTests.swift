import BWE
import Testing

/// The layer policy (issue 19, item 4): per-layer rates measured from what the encoder produced,
/// the layers each viewer gets (90 % to join, 80 % to go up, 100 % to go down), the encoder's
/// target min(best, weakest / base share) within --min/--max-bitrate, and the change damper.
///
/// The measured stream: 40 fps (25 ms apart, exact in nanoseconds) with 3 temporal layers in
/// OpenH264's order 0, 2, 1, 2: per second 10 frames of layer 0, 10 of layer 1, 20 of layer 2.
/// With 3000, 1500 and 1000 bytes: 240, 120 and 160 kbit/s; cumulative 240k, 360k, 520k; the
/// base layer's share 240 / 520 = 0.4615.
@Suite struct LayerPolicyTests {
  static let ms: UInt64 = 1_000_000
  static let frameNs: UInt64 = 25 * ms
  static let order: [UInt8] = [0, 2, 1, 2]
  static let sizes = [3000, 1500, 1000]
  static let config = LayerPolicyConfig(minBitrate: 150_000, maxBitrate: 2_000_000, configuredBitrate: 800_000)

  /// An encoder target as one comparable value.
  struct T: Equatable {
    var bitrate: Int
    var reason: EncoderTargetReason
    init(_ bitrate: Int, _ reason: EncoderTargetReason) { (self.bitrate, self.reason) = (bitrate, reason) }
    init(_ t: (bitrate: Int, reason: EncoderTargetReason)) { (bitrate, reason) = (t.bitrate, t.reason) }
  }

  /// Feeds frames `first..<first+count` (frame i at i x 25 ms); returns the last frame's time.
  @discardableResult
  static func feed(_ p: inout LayerPolicy, first: Int, count: Int, sizes: [Int] = sizes) -> UInt64 {
    var t: UInt64 = 0
    for i in first..<first + count {
      let layer = order[i % order.count]
      t = UInt64(i) * frameNs
      p.frameEncoded(layer: layer, bytes: sizes[Int(layer)], now: t)
    }
    return t
  }

  static func measured() -> LayerPolicy {
    var p = LayerPolicy(layerCount: 3)
    feed(&p, first: 0, count: 81)  // two seconds
    return p
  }

  @Test func measuresEachLayersBitrateOverAOneSecondSlidingWindow() {
    var p = LayerPolicy(layerCount: 3)
    #expect(p.topLayer == 2 && p.windowNs == 1_000 * Self.ms)
    // frames 0...19 span 475 ms: less than half the window, nothing measured yet
    Self.feed(&p, first: 0, count: 20)
    #expect(!p.isMeasured && p.bitrate(layer: 0) == nil && p.cumulativeBitrate(through: 2) == nil)
    #expect(p.baseShare == LayerPolicy.defaultBaseShare)
    // frame 20 at 500 ms: frames 1...20 (frame 0 stands for the time before it) over 500 ms
    Self.feed(&p, first: 20, count: 1)
    #expect(p.isMeasured)
    #expect(p.bitrate(layer: 0) == 240_000 && p.bitrate(layer: 1) == 120_000 && p.bitrate(layer: 2) == 160_000)
    // two seconds in, the window is the last 40 frames: the same rates
    Self.feed(&p, first: 21, count: 60)
    #expect(p.bitrate(layer: 0) == 240_000 && p.bitrate(layer: 1) == 120_000 && p.bitrate(layer: 2) == 160_000)
    #expect(p.cumulativeBitrate(through: 0) == 240_000 && p.cumulativeBitrate(through: 1) == 360_000)
    #expect(p.cumulativeBitrate(through: 2) == 520_000 && p.cumulativeBitrate(through: 9) == 520_000)
    #expect(p.bitrate(layer: 3) == nil)

    // a keyframe (60 kB) is left out, a layer beyond the top is ignored
    p.frameEncoded(layer: 0, bytes: 60_000, now: 80 * Self.frameNs, keyframe: true)
    p.frameEncoded(layer: 3, bytes: 60_000, now: 80 * Self.frameNs)
    #expect(p.bitrate(layer: 0) == 240_000 && p.cumulativeBitrate(through: 2) == 520_000)

    // the base layer's frames double: half a second later half the window holds the new size
    let bigBase = [6000, 1500, 1000]
    Self.feed(&p, first: 81, count: 20, sizes: bigBase)
    #expect(p.bitrate(layer: 0) == 360_000)
    // a second later only the new size
    let t = Self.feed(&p, first: 101, count: 20, sizes: bigBase)
    #expect(p.bitrate(layer: 0) == 480_000 && p.bitrate(layer: 1) == 120_000)

    // the clock going backwards counts as standing still: the frame is counted, nothing traps
    p.frameEncoded(layer: 2, bytes: 1000, now: 0)
    #expect(p.bitrate(layer: 2) == 168_000)

    // the encoder stopped for more than a window: the measurement starts afresh
    p.frameEncoded(layer: 0, bytes: 3000, now: t + 2_000 * Self.ms)
    #expect(!p.isMeasured && p.bitrate(layer: 0) == nil)
    p.reset()
    #expect(!p.isMeasured)
  }

  @Test func aViewerJoiningGetsTheHighestLayerWithin90PercentOfItsEstimateAndTheBaseAlways() {
    let p = Self.measured()
    #expect(p.layers(for: 100_000) == 0)  // even the base layer (240k) is too much: it gets it anyway
    #expect(p.layers(for: 250_000) == 0)
    #expect(p.layers(for: 399_000) == 0)  // 0.9 x 399k = 359.1k < 360k
    #expect(p.layers(for: 401_000) == 1)
    #expect(p.layers(for: 577_777) == 1)  // 0.9 x 577,777 = 519,999.3 < 520k
    #expect(p.layers(for: 577_778) == 2)
    #expect(p.layers(for: 10_000_000) == 2)
    // before anything is measured: every layer (the pacer's queue bound protects the link)
    #expect(LayerPolicy(layerCount: 3).layers(for: 100_000) == 2)
    #expect(LayerPolicy(layerCount: 1).layers(for: 10_000_000) == 0)
  }

  @Test func hysteresisKeepsAViewersLayersWhileItsEstimateWobbles5Percent() {
    let p = Self.measured()
    // 600 kbit/s +- 5 %: without hysteresis the choice flips between 1 and 2 on every estimate
    let wobble = (0..<20).map { $0 % 2 == 0 ? 570_000 : 630_000 }
    #expect(Set(wobble.map { p.layers(for: $0) }) == [1, 2])
    // with it, a viewer on layer 1 stays (up needs 520k <= 0.8 E: E >= 650k), one on 2 stays
    // (down needs 520k > E)
    for start: UInt8 in [1, 2] {
      var current = start
      for e in wobble { current = p.layers(for: e, current: current) }
      #expect(current == start)
    }
    // up past 650k, down below 520k
    #expect(p.layers(for: 649_000, current: 1) == 1)
    #expect(p.layers(for: 651_000, current: 1) == 2)
    #expect(p.layers(for: 520_000, current: 2) == 2)
    #expect(p.layers(for: 519_999, current: 2) == 1)
    // several layers at once, both ways; never below the base layer
    #expect(p.layers(for: 200_000, current: 2) == 0)
    #expect(p.layers(for: 100_000, current: 0) == 0)
    #expect(p.layers(for: 10_000_000, current: 0) == 2)
    // a current beyond the top is the top; unmeasured keeps the current
    #expect(p.layers(for: 10_000_000, current: 7) == 2)
    #expect(LayerPolicy(layerCount: 3).layers(for: 100_000, current: 1) == 1)
  }

  @Test func twoViewers250kbitAndUncappedAtMax2Mbit() {
    let p = Self.measured()
    // the weak viewer's base layer must fill 85 % of its 250k: 250000 x 0.85 / (240/520) =
    // 460,416 bit/s; the uncapped viewer (5 Mbit/s) would take up to the 2 Mbit/s maximum
    #expect(T(p.encoderTarget(best: 5_000_000, weakest: 250_000, config: Self.config)) == T(460_416, .weakestBaseLayer))
    // at the measured rates the weak viewer gets the base layer (240k), the uncapped one all
    // three (520k): more than twice the weak one's bitrate, at the full frame rate
    #expect(p.layers(for: 250_000) == 0 && p.layers(for: 5_000_000) == 2)
    // the uncapped viewer alone: the maximum
    #expect(T(p.encoderTarget(best: 5_000_000, weakest: nil, config: Self.config)) == T(2_000_000, .maxBitrate))
    #expect(T(p.encoderTarget(best: nil, weakest: 5_000_000, config: Self.config)) == T(2_000_000, .maxBitrate))
  }

  @Test func theTargetFollowsTheBestViewerTheWeakestBaseLayerAndTheBounds() {
    let p = Self.measured()
    // weakest 800k x 0.85 / 0.4615 = 1,473,333 > best 1.2M: the best viewer's estimate
    #expect(T(p.encoderTarget(best: 1_200_000, weakest: 800_000, config: Self.config)) == T(1_200_000, .bestViewer))
    // weakest 50k x 0.85 / 0.4615 = 92,083 < 150k: --min-bitrate
    #expect(T(p.encoderTarget(best: 5_000_000, weakest: 50_000, config: Self.config)) == T(150_000, .minBitrate))
    #expect(T(p.encoderTarget(best: 100_000, weakest: 100_000, config: Self.config)) == T(150_000, .minBitrate))
    #expect(T(p.encoderTarget(best: -5, weakest: -7, config: Self.config)) == T(150_000, .minBitrate))
    // both above the maximum
    #expect(T(p.encoderTarget(best: 3_000_000, weakest: 3_000_000, config: Self.config)) == T(2_000_000, .maxBitrate))
    // best and weakest swapped by the caller: the same answer
    #expect(T(p.encoderTarget(best: 250_000, weakest: 5_000_000, config: Self.config)) == T(460_416, .weakestBaseLayer))
    // no feedback: the configured rate, within the bounds
    #expect(T(p.encoderTarget(best: nil, weakest: nil, config: Self.config)) == T(800_000, .noFeedback))
    let high = LayerPolicyConfig(minBitrate: 150_000, maxBitrate: 2_000_000, configuredBitrate: 3_000_000)
    #expect(T(p.encoderTarget(best: nil, weakest: nil, config: high)) == T(2_000_000, .noFeedback))
    // a maximum below the minimum is the minimum; the default minimum is 150 kbit/s
    let odd = LayerPolicyConfig(maxBitrate: 100_000, configuredBitrate: 800_000)
    #expect(odd.minBitrate == 150_000 && odd.maxBitrate == 150_000)
  }

  @Test func theMeasuredBaseShareIsUsedBoundedTo25PercentAndOne() {
    // before a measurement: half (250000 x 0.85 / 0.5)
    let fresh = LayerPolicy(layerCount: 3)
    #expect(T(fresh.encoderTarget(best: 5_000_000, weakest: 250_000, config: Self.config)) == T(425_000, .weakestBaseLayer))
    // a heavy base layer: 9000 / 1500 / 500 bytes = 720k / 120k / 80k, share 720 / 920
    var heavy = LayerPolicy(layerCount: 3)
    Self.feed(&heavy, first: 0, count: 81, sizes: [9000, 1500, 500])
    #expect(heavy.baseShare == 720_000.0 / 920_000.0)
    // 250000 x 0.85 x 920 / 720 = 271,527
    #expect(T(heavy.encoderTarget(best: 5_000_000, weakest: 250_000, config: Self.config)) == T(271_527, .weakestBaseLayer))
    // a light base layer: 500 / 1500 / 3000 bytes = 40k / 120k / 480k, share 0.0625 -> 0.25
    var light = LayerPolicy(layerCount: 3)
    Self.feed(&light, first: 0, count: 81, sizes: [500, 1500, 3000])
    #expect(light.baseShare == LayerPolicy.minBaseShare)
    #expect(T(light.encoderTarget(best: 5_000_000, weakest: 250_000, config: Self.config)) == T(850_000, .weakestBaseLayer))
    // one layer: the base is everything
    var single = LayerPolicy(layerCount: 1)
    #expect(single.baseShare == 1)
    for i in 0..<41 { single.frameEncoded(layer: 0, bytes: 1000, now: UInt64(i) * Self.frameNs) }
    #expect(single.baseShare == 1 && single.bitrate(layer: 0) == 320_000)
    // the static form bounds what it is given (NaN included)
    func s(_ weakest: Int, _ share: Double) -> T {
      T(LayerPolicy.encoderTarget(best: 1_000_000, weakest: weakest, baseShare: share, config: Self.config))
    }
    #expect(s(100_000, 0.1) == T(340_000, .weakestBaseLayer))
    #expect(s(300_000, 2) == T(255_000, .weakestBaseLayer))
    #expect(s(100_000, .nan) == T(340_000, .weakestBaseLayer))
  }

  @Test func theDamperAppliesBigDropsAtOnceAndOtherChangesAtMostEvery500Ms() {
    let p = LayerPolicy(layerCount: 3)
    let cur = 1_000_000
    let t0: UInt64 = 10_000 * Self.ms
    #expect(p.shouldApply(new: 900_000, current: cur, lastChangeAt: nil, now: t0))
    #expect(!p.shouldApply(new: cur, current: cur, lastChangeAt: nil, now: t0))
    // a drop of 10 % or more: at once; 9 %: waits for the interval
    #expect(p.shouldApply(new: 900_000, current: cur, lastChangeAt: t0, now: t0 + 10 * Self.ms))
    #expect(!p.shouldApply(new: 910_000, current: cur, lastChangeAt: t0, now: t0 + 10 * Self.ms))
    #expect(p.shouldApply(new: 910_000, current: cur, lastChangeAt: t0, now: t0 + 500 * Self.ms))
    // a rise of more than 5 %: after 500 ms
    #expect(!p.shouldApply(new: 1_060_000, current: cur, lastChangeAt: t0, now: t0 + 499 * Self.ms))
    #expect(p.shouldApply(new: 1_060_000, current: cur, lastChangeAt: t0, now: t0 + 500 * Self.ms))
    // 5 % or less: only once the target has stood 5 s
    #expect(!p.shouldApply(new: 1_050_000, current: cur, lastChangeAt: t0, now: t0 + 4_999 * Self.ms))
    #expect(p.shouldApply(new: 1_050_000, current: cur, lastChangeAt: t0, now: t0 + 5_000 * Self.ms))
    // an estimate wobbling +-5 % every 100 ms for 4.9 s reconfigures nothing
    var applied = 0
    for i in 1..<50 {
      let new = i % 2 == 0 ? 1_050_000 : 950_000
      if p.shouldApply(new: new, current: cur, lastChangeAt: t0, now: t0 + UInt64(i) * 100 * Self.ms) { applied += 1 }
    }
    #expect(applied == 0)
    // the clock going backwards: no trap, treated as no time passed
    #expect(!p.shouldApply(new: 1_060_000, current: cur, lastChangeAt: t0, now: 0))
    #expect(p.shouldApply(new: 500_000, current: cur, lastChangeAt: t0, now: 0))
  }

  @Test func reasonsCarryCodesAndTextsForStatus() {
    let all: [EncoderTargetReason] = [.bestViewer, .weakestBaseLayer, .maxBitrate, .minBitrate, .noFeedback]
    #expect(all.map(\.code) == ["BEST_VIEWER", "WEAKEST_BASE_LAYER", "MAX_BITRATE", "MIN_BITRATE", "NO_FEEDBACK"])
    #expect(Set(all.map(\.text)).count == all.count && all.allSatisfy { !$0.text.isEmpty })
  }
}

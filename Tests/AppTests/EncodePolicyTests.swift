import Testing

@testable import App

/// When the capture thread encodes, and which frames must be keyframes: the one owner of "a
/// keyframe is owed". The capture thread reports what the encoder produced; a keyframe stays owed
/// until an IDR is produced.
@Suite struct EncodePolicyTests {
  /// One frame through the policy as the capture thread drives it: the decision, then what the
  /// encoder made of it (`idr`: whether a forced frame really became an IDR; the rate control
  /// may skip it, nil).
  func step(_ p: EncodePolicy, viewers: Int = 1, idr: Bool? = nil) -> FrameDecision {
    let d = p.frame(viewers: viewers)
    if case .encode(let forced) = d { p.produced(keyframe: idr ?? forced) }
    return d
  }

  @Test func firstFrameIsAKeyframeThenInterFrames() {
    let p = EncodePolicy()
    #expect(step(p) == .encode(keyframe: true))
    #expect(step(p) == .encode(keyframe: false))
    #expect(step(p, viewers: 3) == .encode(keyframe: false))
  }

  @Test func nobodyWatchingSkipsAndTheNextViewerGetsAKeyframe() {
    let p = EncodePolicy()
    _ = step(p)
    _ = step(p)
    for _ in 0..<5 { #expect(step(p, viewers: 0) == .skip) }
    #expect(p.keyframeOwed)
    #expect(step(p) == .encode(keyframe: true))
  }

  @Test func viewerRequestsLostFramesAndRestartsForceAKeyframe() {
    let p = EncodePolicy()
    _ = step(p)
    p.requestKeyframe()
    #expect(step(p) == .encode(keyframe: true))
    #expect(step(p) == .encode(keyframe: false))
    p.frameLost()
    #expect(step(p) == .encode(keyframe: true))
    p.restarted()
    #expect(step(p, viewers: 2) == .encode(keyframe: true))
    // a request while nobody watches is kept for the next viewer
    _ = step(p)
    p.requestKeyframe()
    #expect(step(p, viewers: 0) == .skip)
    #expect(step(p) == .encode(keyframe: true))
  }

  @Test func aKeyframeStaysOwedUntilAnIDRIsProduced() {
    let p = EncodePolicy()
    _ = step(p)
    p.requestKeyframe()
    // the rate control skips the forced frame twice, then the encoder fails once: still owed
    #expect(p.frame(viewers: 1) == .encode(keyframe: true))
    #expect(p.frame(viewers: 1) == .encode(keyframe: true))
    #expect(p.frame(viewers: 1) == .encode(keyframe: true))
    // a P frame produced meanwhile (an encoder that ignored the force) settles nothing
    p.produced(keyframe: false)
    #expect(p.keyframeOwed)
    #expect(step(p, idr: true) == .encode(keyframe: true))
    #expect(!p.keyframeOwed)
    #expect(step(p) == .encode(keyframe: false))
    // an IDR the encoder made on its own (intra period) settles a request too
    p.requestKeyframe()
    p.produced(keyframe: true)
    #expect(step(p) == .encode(keyframe: false))
  }

  @Test func requestsFromOtherThreadsAreNotLost() async {
    let p = EncodePolicy()
    _ = step(p)
    #expect(!p.keyframeOwed)
    await withTaskGroup(of: Void.self) { g in
      for _ in 0..<8 { g.addTask { p.requestKeyframe() } }
    }
    #expect(step(p) == .encode(keyframe: true))
    #expect(step(p) == .encode(keyframe: false))
  }
}

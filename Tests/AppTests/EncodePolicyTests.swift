import Testing

@testable import App

/// When the capture thread encodes, and which frames must be keyframes.
@Suite struct EncodePolicyTests {
  @Test func firstFrameIsAKeyframeThenInterFrames() {
    var p = EncodePolicy()
    #expect(p.frame(viewers: 1, keyframeRequested: false) == .encode(keyframe: true))
    #expect(p.frame(viewers: 1, keyframeRequested: false) == .encode(keyframe: false))
    #expect(p.frame(viewers: 3, keyframeRequested: false) == .encode(keyframe: false))
  }

  @Test func nobodyWatchingSkipsAndTheNextViewerGetsAKeyframe() {
    var p = EncodePolicy()
    _ = p.frame(viewers: 1, keyframeRequested: false)
    _ = p.frame(viewers: 1, keyframeRequested: false)
    for _ in 0..<5 { #expect(p.frame(viewers: 0, keyframeRequested: false) == .skip) }
    #expect(p.keyframeOwed)
    #expect(p.frame(viewers: 1, keyframeRequested: false) == .encode(keyframe: true))
  }

  @Test func viewerRequestsLostFramesAndRestartsForceAKeyframe() {
    var p = EncodePolicy()
    _ = p.frame(viewers: 1, keyframeRequested: false)
    #expect(p.frame(viewers: 1, keyframeRequested: true) == .encode(keyframe: true))
    #expect(p.frame(viewers: 1, keyframeRequested: false) == .encode(keyframe: false))
    p.frameLost()
    #expect(p.frame(viewers: 1, keyframeRequested: false) == .encode(keyframe: true))
    p.restarted()
    #expect(p.frame(viewers: 2, keyframeRequested: false) == .encode(keyframe: true))
    // a request while nobody watches is kept for the next viewer
    _ = p.frame(viewers: 1, keyframeRequested: false)
    #expect(p.frame(viewers: 0, keyframeRequested: true) == .skip)
    #expect(p.frame(viewers: 1, keyframeRequested: false) == .encode(keyframe: true))
  }
}

// The capture thread's counters: kept once, here, as atomics the capture thread adds to without
// locks or allocation, and read by the network loop as one `CaptureCounters` value. (Drops are
// counted by the ring, which sees them; `CaptureShared.counters()` adds them in.)
import App
import Synchronization

final class CaptureCounting: Sendable {
  let captured = Atomic<UInt64>(0)
  let encoded = Atomic<UInt64>(0)
  let keyframes = Atomic<UInt64>(0)
  let bytes = Atomic<UInt64>(0)
  let idle = Atomic<UInt64>(0)
  /// The encode-time histogram: one atomic per bucket of `encodeTimeBucketBounds`, plus +Inf.
  let b0 = Atomic<UInt64>(0), b1 = Atomic<UInt64>(0), b2 = Atomic<UInt64>(0), b3 = Atomic<UInt64>(0)
  let b4 = Atomic<UInt64>(0), b5 = Atomic<UInt64>(0), b6 = Atomic<UInt64>(0), b7 = Atomic<UInt64>(0)
  let bInf = Atomic<UInt64>(0)
  let encodeNs = Atomic<UInt64>(0)

  /// A frame came from the source.
  func frameCaptured() { captured.wrappingAdd(1, ordering: .relaxed) }

  /// A frame was not encoded: nobody watched.
  func frameIdle() { idle.wrappingAdd(1, ordering: .relaxed) }

  /// The encoder ran for `ns` (whatever came out).
  func encodeTook(ns: UInt64) {
    encodeNs.wrappingAdd(ns, ordering: .relaxed)
    _ = withBucket(EncodeTimes.bucket(ns: ns)) { $0.wrappingAdd(1, ordering: .relaxed) }
  }

  /// An access unit of `length` bytes was published.
  func frameEncoded(length: Int, isKeyframe: Bool) {
    encoded.wrappingAdd(1, ordering: .relaxed)
    bytes.wrappingAdd(UInt64(length), ordering: .relaxed)
    if isKeyframe { keyframes.wrappingAdd(1, ordering: .relaxed) }
  }

  /// Runs `body` on the atomic of histogram bucket `i` (past the last bound: +Inf).
  func withBucket<R>(_ i: Int, _ body: (borrowing Atomic<UInt64>) -> R) -> R {
    switch i {
    case 0: return body(b0)
    case 1: return body(b1)
    case 2: return body(b2)
    case 3: return body(b3)
    case 4: return body(b4)
    case 5: return body(b5)
    case 6: return body(b6)
    case 7: return body(b7)
    default: return body(bInf)
    }
  }

  /// Every counter, each read atomically (no allocation); `dropped` comes from the ring.
  func snapshot(dropped: UInt64) -> CaptureCounters {
    var c = CaptureCounters()
    c.framesCaptured = captured.load(ordering: .relaxed)
    c.framesEncoded = encoded.load(ordering: .relaxed)
    c.keyframes = keyframes.load(ordering: .relaxed)
    c.bytesEncoded = bytes.load(ordering: .relaxed)
    c.framesDropped = dropped
    c.framesIdle = idle.load(ordering: .relaxed)
    c.encodeTimes.sumNs = encodeNs.load(ordering: .relaxed)
    for i in 0..<EncodeTimes.bucketCount { c.encodeTimes[i] = withBucket(i) { $0.load(ordering: .relaxed) } }
    return c
  }
}

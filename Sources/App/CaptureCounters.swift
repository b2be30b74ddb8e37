// What the capture thread counts, as one plain value the network loop reads every loop turn and
// hands to the core (/status, /metrics). Fixed fields only: reading and passing it allocates
// nothing.

/// Upper bounds (seconds) of the encode-time histogram buckets; the last bucket is +Inf. Chosen
/// around a 30 fps frame budget (33 ms) on a Pi: 1 ms ... 100 ms.
public let encodeTimeBucketBounds: [Double] = [0.001, 0.002, 0.005, 0.01, 0.02, 0.033, 0.05, 0.1]

/// Per-frame encode times as the capture thread counted them: frames per bucket of
/// `encodeTimeBucketBounds` (not cumulative) plus the +Inf bucket, and their sum.
public struct EncodeTimes: Equatable, Sendable {
  /// `encodeTimeBucketBounds.count + 1` buckets.
  public static let bucketCount = 9
  /// The buckets as fixed fields (a tuple, not an array: copying this value allocates nothing).
  var counts: (UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0, 0, 0, 0, 0, 0)
  public var sumNs: UInt64

  public init(sumNs: UInt64 = 0) { self.sumNs = sumNs }

  /// Frames in bucket `i` (0..<bucketCount); out of range reads 0 and writes nothing.
  public subscript(i: Int) -> UInt64 {
    get {
      guard i >= 0 && i < Self.bucketCount else { return 0 }
      return withUnsafeBytes(of: counts) { $0.load(fromByteOffset: i * 8, as: UInt64.self) }
    }
    set {
      guard i >= 0 && i < Self.bucketCount else { return }
      withUnsafeMutableBytes(of: &counts) { $0.storeBytes(of: newValue, toByteOffset: i * 8, as: UInt64.self) }
    }
  }

  /// The buckets as a list, for rendering /metrics (allocates: per scrape, not per frame).
  public var buckets: [UInt64] { (0..<Self.bucketCount).map { self[$0] } }

  /// Counts one encode of `ns` nanoseconds.
  public mutating func record(ns: UInt64) {
    self[Self.bucket(ns: ns)] &+= 1
    sumNs &+= ns
  }

  /// The bucket for one duration.
  public static func bucket(ns: UInt64) -> Int {
    let s = Double(ns) / 1e9
    for i in 0..<encodeTimeBucketBounds.count where s <= encodeTimeBucketBounds[i] { return i }
    return encodeTimeBucketBounds.count
  }

  public static func == (a: EncodeTimes, b: EncodeTimes) -> Bool {
    guard a.sumNs == b.sumNs else { return false }
    for i in 0..<bucketCount where a[i] != b[i] { return false }
    return true
  }
}

/// The capture thread's counters since start, read in one go by the network loop.
public struct CaptureCounters: Equatable, Sendable {
  /// Frames the source delivered.
  public var framesCaptured: UInt64 = 0
  /// Frames encoded to H.264 (once for every viewer and forward).
  public var framesEncoded: UInt64 = 0
  /// IDR frames among them.
  public var keyframes: UInt64 = 0
  /// H.264 bytes produced.
  public var bytesEncoded: UInt64 = 0
  /// Frames not handed to the network loop: the ring was full (the loop fell behind) or an access
  /// unit was larger than a ring slot.
  public var framesDropped: UInt64 = 0
  /// Frames captured but not encoded because nobody watched.
  public var framesIdle: UInt64 = 0
  public var encodeTimes = EncodeTimes()

  public init() {}
}

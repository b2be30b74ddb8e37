// The acknowledged bitrate: what the receiver says it received per unit of its own time, from
// the transport feedback (libwebrtc's AcknowledgedBitrateEstimator measures the same).

/// Bytes received per 50 ms of the receiver's clock, in a fixed ring covering 500 ms; the rate
/// is the bytes of the bins in the window over the time they span.
struct AckedBitrate: Sendable {
  /// Bin width: fine enough that the window's edge is sharp, coarse enough for few bins.
  static let binUs: Int64 = 50_000
  /// Bins in the window: 500 ms, libwebrtc's initial acknowledged-rate window; over it a
  /// 30 fps stream delivers 15 frames, so frame-size noise averages out.
  static let bins = 10
  /// No rate before arrivals span 150 ms (libwebrtc's shorter window): less is a burst.
  static let minSpanUs: Int64 = 150_000

  var binIndex: [Int64]
  /// Int64: a hostile report may pile many packets into one bin, beyond Int32 on armv7.
  var binBytes: [Int64]
  var firstArrivalUs: Int64?
  var latestArrivalUs: Int64?

  init() {
    binIndex = [Int64](repeating: Int64.min, count: Self.bins)
    binBytes = [Int64](repeating: 0, count: Self.bins)
  }

  func slot(_ bin: Int64) -> Int {
    let n = Int64(Self.bins)
    return Int(((bin % n) + n) % n)
  }

  /// A packet of `bytes` (0...65535) arrived at `arrivalUs` (receiver's clock, within +-2^50
  /// us). Arrivals older than the window are ignored; after a gap longer than the window (the
  /// sender paused) the span starts again at the first arrival.
  mutating func add(arrivalUs: Int64, bytes: Int) {
    if let l = latestArrivalUs, arrivalUs - l > Self.binUs * Int64(Self.bins) {
      firstArrivalUs = arrivalUs
    }
    let latest = max(latestArrivalUs ?? arrivalUs, arrivalUs)
    let bin = BweMath.floorDiv(arrivalUs, Self.binUs)
    guard bin > BweMath.floorDiv(latest, Self.binUs) - Int64(Self.bins) else { return }
    latestArrivalUs = latest
    firstArrivalUs = min(firstArrivalUs ?? arrivalUs, arrivalUs)
    let i = slot(bin)
    if binIndex[i] != bin {
      binIndex[i] = bin
      binBytes[i] = 0
    }
    binBytes[i] += Int64(bytes)
  }

  /// Bits per second over the window; nil until arrivals span `minSpanUs`.
  var bitrate: Int? {
    guard let latest = latestArrivalUs, let first = firstArrivalUs else { return nil }
    let newestBin = BweMath.floorDiv(latest, Self.binUs)
    let oldestBin = newestBin - Int64(Self.bins) + 1
    var bytes: Int64 = 0
    for i in 0..<Self.bins where binIndex[i] >= oldestBin && binIndex[i] <= newestBin {
      bytes += binBytes[i]
    }
    let spanUs = latest - max(first, oldestBin * Self.binUs)
    guard spanUs >= Self.minSpanUs else { return nil }
    return BweMath.bitrate(Double(bytes) * BweMath.bitsPerByte * Double(BweMath.usPerSecond) / Double(spanUs))
  }
}

// Bandwidth estimation: the types the estimator, the pacer and the layer policy share with the
// viewer session that feeds them (Peer) and the core that reads them (App).

/// One packet as a transport-wide congestion control feedback (RTPFB FMT 15,
/// draft-holmer-rmcat-transport-wide-cc-extensions-01) reports it: its transport-wide sequence
/// number, and when it arrived in the receiver's clock (microseconds, any origin; nil: not
/// received).
public struct FeedbackPacket: Equatable, Sendable {
  public var sequence: UInt16
  public var arrivalUs: Int64?

  public init(sequence: UInt16, arrivalUs: Int64?) {
    self.sequence = sequence
    self.arrivalUs = arrivalUs
  }
}

/// Extends 16-bit sequence numbers that wrap into a monotonic 64-bit count (RFC 3550 A.1's idea):
/// a number within half the range ahead of the last one is taken as ahead, otherwise behind.
public struct SequenceUnwrapper: Sendable {
  var last: Int64? = nil

  public init() {}

  /// The 64-bit value of `s`, relative to the numbers seen so far (the first one is itself).
  public mutating func unwrap(_ s: UInt16) -> Int64 {
    guard let l = last else {
      last = Int64(s)
      return Int64(s)
    }
    let delta = Int64(Int16(bitPattern: s &- UInt16(truncatingIfNeeded: l)))
    let v = l + delta
    if v > l { last = v }
    return v
  }
}

// Inter-arrival grouping (draft-ietf-rmcat-gcc-02 section 5.2): packets sent within a short burst
// form one group; the estimator compares consecutive groups' send and arrival spacing.

/// The spacing of two consecutive packet groups: in the sender's clock, in the receiver's clock,
/// and when (receiver's clock) the later group completed.
struct GroupDelta: Sendable, Equatable {
  var sendDeltaMs: Double
  var arrivalDeltaMs: Double
  var arrivalMs: Double
}

/// Cuts reported packets, in send order, into groups and yields the delta between each completed
/// group and the one before.
struct InterArrival: Sendable {
  /// A group is the packets sent within 5 ms of its first (the draft's burst_time, 5 ms).
  static let groupLengthNs: UInt64 = 5_000_000
  /// A packet arriving within 5 ms of the group's latest arrival, and earlier than its send
  /// spacing predicts, joined the same burst on the way (libwebrtc kBurstDeltaThresholdMs).
  static let burstArrivalUs: Int64 = 5_000
  /// But a burst grows for at most 100 ms (libwebrtc kMaxBurstDuration).
  static let maxBurstUs: Int64 = 100_000
  /// Arrival spacing exceeding the spacing of the feedback that reported them by 3 s means the
  /// receiver's clock jumped: start over (libwebrtc kArrivalTimeOffsetThresholdMs).
  static let clockJumpMs = 3000.0
  /// Three consecutive groups completing before their predecessors: the reports are reordered
  /// beyond use, start over (libwebrtc kReorderedResetThreshold).
  static let reorderedLimit = 3

  struct Group: Sendable {
    var firstSendNs: UInt64
    var lastSendNs: UInt64
    var firstArrivalUs: Int64
    var lastArrivalUs: Int64
    /// Sender's clock when the group's latest packet was reported.
    var feedbackNs: UInt64
  }

  var current: Group?
  var previous: Group?
  var reordered = 0

  /// Adds a packet that arrived; returns the delta when the packet starts a new group and the
  /// two before it are complete. Packets sent before the current group began are skipped.
  /// Arrival times must lie within +-2^50 us (the estimator drops others), so differences of
  /// them cannot overflow.
  mutating func add(sendNs: UInt64, arrivalUs: Int64, feedbackNs: UInt64) -> GroupDelta? {
    guard var group = current else {
      current = Group(
        firstSendNs: sendNs, lastSendNs: sendNs, firstArrivalUs: arrivalUs,
        lastArrivalUs: arrivalUs, feedbackNs: feedbackNs)
      return nil
    }
    guard sendNs >= group.firstSendNs else { return nil }
    if belongsToBurst(group, sendNs: sendNs, arrivalUs: arrivalUs)
      || sendNs - group.firstSendNs <= Self.groupLengthNs
    {
      group.lastSendNs = max(group.lastSendNs, sendNs)
      group.lastArrivalUs = max(group.lastArrivalUs, arrivalUs)
      group.feedbackNs = feedbackNs
      current = group
      return nil
    }
    let next = Group(
      firstSendNs: sendNs, lastSendNs: sendNs, firstArrivalUs: arrivalUs,
      lastArrivalUs: arrivalUs, feedbackNs: feedbackNs)
    guard let prev = previous else {
      previous = group
      current = next
      return nil
    }
    switch compare(group, to: prev) {
    case .clockJump:
      reset()
      return nil
    case .reordered:
      // like libwebrtc: the packet is dropped and the current group kept
      reordered += 1
      if reordered >= Self.reorderedLimit { reset() }
      return nil
    case .delta(let d):
      reordered = 0
      previous = group
      current = next
      return d
    }
  }

  enum Comparison { case clockJump, reordered, delta(GroupDelta) }

  /// How a completed group relates to the one before it.
  func compare(_ group: Group, to prev: Group) -> Comparison {
    let arrivalDeltaMs = Double(group.lastArrivalUs - prev.lastArrivalUs) / BweMath.usPerMs
    let feedbackDeltaMs = BweMath.signedMs(group.feedbackNs, minus: prev.feedbackNs)
    if arrivalDeltaMs - feedbackDeltaMs >= Self.clockJumpMs { return .clockJump }
    if arrivalDeltaMs < 0 { return .reordered }
    return .delta(
      GroupDelta(
        sendDeltaMs: BweMath.signedMs(group.lastSendNs, minus: prev.lastSendNs),
        arrivalDeltaMs: arrivalDeltaMs, arrivalMs: Double(group.lastArrivalUs) / BweMath.usPerMs))
  }

  func belongsToBurst(_ group: Group, sendNs: UInt64, arrivalUs: Int64) -> Bool {
    let arrivalDeltaUs = arrivalUs - group.lastArrivalUs
    let sendDeltaUs = BweMath.signedMs(sendNs, minus: group.lastSendNs) * BweMath.usPerMs
    if sendDeltaUs == 0 { return true }
    let propagationUs = Double(arrivalDeltaUs) - sendDeltaUs
    // (reports are read in sequence order, not sorted by arrival as libwebrtc does: a packet
    // arriving before the group's latest is reordering, not a burst)
    return propagationUs < 0 && arrivalDeltaUs >= 0 && arrivalDeltaUs <= Self.burstArrivalUs
      && arrivalUs - group.firstArrivalUs < Self.maxBurstUs
  }

  mutating func reset() {
    current = nil
    previous = nil
    reordered = 0
  }
}

// Send history: what the estimator remembers of each sent packet until its feedback comes back.

/// A packet as it was sent: when (sender's monotonic clock) and how many bytes on the wire.
struct SentPacket: Sendable, Equatable {
  var sendNs: UInt64
  var bytes: Int
}

/// What a feedback entry told us about a packet, against what earlier feedback said.
enum ReportOutcome: Sendable, Equatable {
  /// First report of the packet, and it arrived.
  case received(SentPacket)
  /// It arrived, and an earlier report had called it lost.
  case receivedLate(SentPacket)
  /// First report, and it did not arrive.
  case lost
  /// Reported before (a duplicate or a repeated feedback): nothing new.
  case repeated
  /// Not in the history: never sent, or sent so long ago that its slot was reused.
  case unknown
}

/// A fixed ring of sent packets indexed by the unwrapped transport-wide sequence number. All
/// storage is made in `init`; recording and reporting never allocate.
struct SendHistory: Sendable {
  /// Seconds of sending the ring covers at the maximum bitrate: feedback comes every 50-250 ms
  /// (libwebrtc's transport feedback interval) plus a round trip, so 2 s leaves room for a
  /// round trip of over a second (a full pacer queue and a bloated Wi-Fi queue).
  static let coveredSeconds = 2
  /// The smallest average packet assumed (bytes): video is cut into ~1200-byte packets and only
  /// the last one of a frame is shorter, so frames of several packets average well above this.
  static let smallestAveragePacket = 600
  /// At least this many slots: at low bitrates small frames (one short packet each, 30 fps,
  /// plus retransmissions) still fit several seconds.
  static let minimumCapacity = 1024

  enum SlotState: UInt8, Sendable { case empty, sent, lost, received }

  let capacity: Int
  var sequences: [Int64]
  var sendTimes: [UInt64]
  var sizes: [Int]
  var states: [SlotState]
  var unwrapper = SequenceUnwrapper()

  /// A history covering `coveredSeconds` of sending at `maxBitrate` (bounded by the config's
  /// ceiling: 50 Mbit/s gives ~21,000 slots).
  init(maxBitrate: Int) {
    let perSecond = max(maxBitrate, 0) / 8 / Self.smallestAveragePacket
    capacity = max(Self.minimumCapacity, perSecond * Self.coveredSeconds)
    sequences = [Int64](repeating: 0, count: capacity)
    sendTimes = [UInt64](repeating: 0, count: capacity)
    sizes = [Int](repeating: 0, count: capacity)
    states = [SlotState](repeating: .empty, count: capacity)
  }

  /// The newest unwrapped sequence number sent (nil before the first packet).
  var newest: Int64? { unwrapper.last }

  func slot(_ unwrapped: Int64) -> Int {
    let c = Int64(capacity)
    return Int(((unwrapped % c) + c) % c)
  }

  /// Remembers a sent packet (replacing whatever used its slot).
  mutating func record(sequence: UInt16, bytes: Int, now: UInt64) {
    let u = unwrapper.unwrap(sequence)
    let i = slot(u)
    sequences[i] = u
    sendTimes[i] = now
    sizes[i] = bytes
    states[i] = .sent
  }

  /// The unwrapped number of a reported sequence, taken within half the number space of the
  /// newest sent one; nil if that lies after the newest (a number never sent). Feedback does not
  /// move the unwrapper: a hostile report cannot shift the numbering of later sends.
  func unwrapReported(_ s: UInt16) -> Int64? {
    guard let newest else { return nil }
    let v = newest + Int64(Int16(bitPattern: s &- UInt16(truncatingIfNeeded: newest)))
    return v <= newest ? v : nil
  }

  /// Applies one feedback entry for `sequence` (arrived or not) and says what it meant.
  mutating func report(sequence: UInt16, arrived: Bool) -> ReportOutcome {
    guard let u = unwrapReported(sequence) else { return .unknown }
    let i = slot(u)
    guard sequences[i] == u, states[i] != .empty else { return .unknown }
    let packet = SentPacket(sendNs: sendTimes[i], bytes: sizes[i])
    switch (states[i], arrived) {
    case (.sent, true):
      states[i] = .received
      return .received(packet)
    case (.sent, false):
      states[i] = .lost
      return .lost
    case (.lost, true):
      states[i] = .received
      return .receivedLate(packet)
    default:
      return .repeated
    }
  }
}

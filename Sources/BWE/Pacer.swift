// A viewer's pacer: a leaky bucket that lets the viewer's queued packets out at the pacing rate
// (the core sets 2.5x the viewer's estimate), so a keyframe is spread out instead of being sent
// as one burst into a shallow Wi-Fi queue, and a viewer that falls behind skips to the next
// keyframe (`wouldExceed`) instead of queueing ever more delay. Sans-IO: time is an input.

/// Paces one viewer's packets. The queue holds opaque `UInt16` tokens (the viewer's RTP sequence
/// numbers: the packets themselves stay in the viewer's retransmission history) with their sizes
/// on the wire, in two fixed-capacity FIFO lanes: retransmissions first, then media.
///
/// The bucket: a budget that fills at the rate and is capped at `burstNs` worth of it, so an
/// idle pacer banks at most a few milliseconds of sending. The head packet may leave whenever the
/// budget is not negative; leaving costs its size, which can put the budget into debt that the
/// rate then pays off. So at 12.5 Mbit/s a 10-packet frame is out within 2 ms, while at
/// 625 kbit/s the packets leave one every 15 ms; one packet at a time always leaves, whatever
/// its size.
///
/// All storage is allocated in `init`; nothing after (the per-packet path allocates nothing).
public struct Pacer: Sendable {
  /// How much unused sending the bucket may bank, as time at the current rate: 5 ms, the step
  /// libwebrtc's pacer sends in (its kDefaultMinPacketLimit, modules/pacing/pacing_controller.cc).
  public static let burstNs: UInt64 = 5_000_000
  /// The queue bound the issue asks for: a viewer whose queue would hold more than 300 ms of
  /// sending skips to the next keyframe rather than falling behind (issue 19, item 3).
  public static let defaultMaxQueueDelayNs: UInt64 = 300_000_000
  /// The retransmission lane's default size: as many as a viewer session keeps pending from NACKs
  /// (Peer.maxPendingRetransmissions).
  public static let defaultRetransmissionCapacity = 64
  /// The largest packet a token may stand for: the most a UDP datagram's length field can say.
  public static let maxPacketBytes = 65_535
  /// The largest lane: a token is a 16-bit sequence number, so a queue never needs more.
  public static let maxCapacity = 65_536
  /// The lowest rate: 1 kB/s, so a zero or negative rate from a caller cannot stall the queue
  /// forever (the queue bound then drops frames instead).
  public static let minRate = 8_000
  /// The highest rate: 10 Gbit/s, beyond any link a Pi has; it keeps the budget (in units of
  /// 10^-9 bit: rate x nanoseconds) well within Int64. Also the rate until `setRate` is called:
  /// an unset pacer holds nothing back.
  public static let maxRate: Int64 = 10_000_000_000
  /// 10^-9 bit per bit: the budget counts nanobits, so that rate (bit/s) x time (ns) is exact.
  static let nanobitsPerBit: Int64 = 1_000_000_000
  static let bitsPerByte: Int64 = 8

  public let maxQueueDelayNs: UInt64
  var media: PacerQueue
  var retransmissions: PacerQueue
  /// The pacing rate in bit/s, within [minRate, maxRate].
  var rateBps: Int64 = Pacer.maxRate
  /// The bucket in nanobits, at most `burstCap`; negative is a debt.
  var budget: Int64 = 0
  /// When `budget` was last brought up to date (nil: never used; the first use fills it).
  var updatedAt: UInt64? = nil

  /// - Parameters:
  ///   - capacity: media packets the queue holds (1...65536), e.g. the 512 of the viewer's
  ///     retransmission history, which a token refers into.
  ///   - maxQueueDelayNs: the bound `wouldExceed` checks against.
  ///   - retransmissionCapacity: retransmissions the priority lane holds (1...65536).
  public init(capacity: Int, maxQueueDelayNs: UInt64 = Pacer.defaultMaxQueueDelayNs,
              retransmissionCapacity: Int = Pacer.defaultRetransmissionCapacity) {
    self.maxQueueDelayNs = maxQueueDelayNs
    media = PacerQueue(capacity: min(max(capacity, 1), Pacer.maxCapacity))
    retransmissions = PacerQueue(capacity: min(max(retransmissionCapacity, 1), Pacer.maxCapacity))
  }

  /// The pacing rate in bit/s.
  public var rate: Int { Int(clamping: rateBps) }

  /// Bytes waiting in both lanes.
  public var queuedBytes: Int { Int(clamping: media.bytes + retransmissions.bytes) }

  /// Packets waiting in both lanes.
  public var queuedPackets: Int { media.count + retransmissions.count }

  /// Media packets the queue can hold.
  public var capacity: Int { media.capacity }

  /// Sets the pacing rate (bit/s; clamped to [minRate, maxRate]). It takes no time: the time since
  /// the pacer's last call is credited at the new rate; the banked budget shrinks to the new
  /// rate's burst, a debt stays (and is paid at the new rate).
  public mutating func setRate(_ bitsPerSecond: Int) {
    rateBps = min(max(Int64(bitsPerSecond), Int64(Pacer.minRate)), Pacer.maxRate)
    budget = min(budget, burstCap)
  }

  /// Queues a media packet at the tail. False (nothing queued) when the lane is full or `bytes`
  /// is outside 1...maxPacketBytes.
  public mutating func enqueue(token: UInt16, bytes: Int, now: UInt64) -> Bool {
    refill(now)
    guard !media.isFull, let size = Pacer.packetSize(bytes) else { return false }
    media.push(token: token, bytes: size)
    return true
  }

  /// Queues a retransmission: it leaves before every queued media packet, paid from the same
  /// budget. False when its lane is full or `bytes` is outside 1...maxPacketBytes.
  public mutating func enqueueRetransmission(token: UInt16, bytes: Int, now: UInt64) -> Bool {
    refill(now)
    guard !retransmissions.isFull, let size = Pacer.packetSize(bytes) else { return false }
    retransmissions.push(token: token, bytes: size)
    return true
  }

  /// The next token allowed out now (retransmissions first, then media in FIFO order), its size
  /// charged to the budget; nil when the queue is empty or the budget is in debt (then
  /// `nextSendTime` says when to ask again).
  public mutating func next(now: UInt64) -> UInt16? {
    refill(now)
    guard budget >= 0 else { return nil }
    guard let packet = retransmissions.pop() ?? media.pop() else { return nil }
    budget -= Int64(packet.bytes) * Pacer.bitsPerByte * Pacer.nanobitsPerBit
    return packet.token
  }

  /// When `next` will return a token: `now` if at once, a later time if the budget is in debt,
  /// nil if the queue is empty.
  public func nextSendTime(now: UInt64) -> UInt64? {
    guard queuedPackets > 0 else { return nil }
    let (at, b) = budgetAt(now)
    guard b < 0 else { return now }
    // ceil(debt / rate): the debt is paid off no earlier than that (saturating at the end of time)
    let wait = UInt64((-b + rateBps - 1) / rateBps)
    return at > UInt64.max - wait ? UInt64.max : at + wait
  }

  /// The time the queued bytes need at the pacing rate, after the budget the bucket holds at
  /// `now`: a debt adds to it, banked budget (bytes that may leave at once) takes off it.
  public func queueDelayNs(now: UInt64) -> UInt64 {
    let ns = delayNs(queuedBytes: Double(media.bytes + retransmissions.bytes), now: now)
    return ns >= Pacer.largestDelay ? UInt64.max : UInt64(ns)
  }

  /// Whether queueing `bytes` more would put the queue beyond `maxQueueDelayNs` (the same measure
  /// as `queueDelayNs`): the caller then skips the frame and waits for the next keyframe.
  public func wouldExceed(bytes: Int, now: UInt64) -> Bool {
    let total = Double(media.bytes + retransmissions.bytes) + Double(max(bytes, 0))
    return delayNs(queuedBytes: total, now: now) > Double(maxQueueDelayNs)
  }

  /// Empties the media lane (the retransmission lane stays), handing each token to `dropped`
  /// in order: the caller forgets those packets (they were never sent).
  public mutating func dropMedia(_ dropped: (UInt16) -> Void) {
    while let p = media.pop() { dropped(p.token) }
  }

  /// Drops every queued packet (both lanes); the budget and its debt stay.
  public mutating func clear() {
    media.removeAll()
    retransmissions.removeAll()
  }

  // MARK: the bucket

  /// The most the bucket banks: `burstNs` worth at the current rate, in nanobits.
  var burstCap: Int64 { rateBps * Int64(Pacer.burstNs) }

  static func packetSize(_ bytes: Int) -> UInt16? {
    guard bytes >= 1, bytes <= Pacer.maxPacketBytes else { return nil }
    return UInt16(bytes)
  }

  /// The budget at `now` (never earlier than the last update: time going backwards or standing
  /// still adds nothing), with the time it applies at.
  func budgetAt(_ now: UInt64) -> (at: UInt64, budget: Int64) {
    guard let last = updatedAt else { return (now, burstCap) }
    guard now > last else { return (last, budget) }
    let room = burstCap - budget
    guard room > 0 else { return (now, budget) }
    let elapsed = now - last
    // filling the room takes ceil(room / rate) ns; beyond that the cap holds (and the product
    // rate x elapsed below stays within room + rate)
    if elapsed >= UInt64(room / rateBps) + 1 { return (now, burstCap) }
    return (now, budget + Int64(elapsed) * rateBps)
  }

  mutating func refill(_ now: UInt64) {
    let (at, b) = budgetAt(now)
    updatedAt = at
    budget = b
  }

  /// The delay in Double: a byte count times 8e9 nanobits overflows Int64 beyond about 1.1 GB,
  /// and a Double is exact below 2^53 nanobits (1.1 MB) and off by a part in 10^16 above.
  func delayNs(queuedBytes: Double, now: UInt64) -> Double {
    let nanobits = queuedBytes * Double(Pacer.bitsPerByte * Pacer.nanobitsPerBit)
    let pending = nanobits - Double(budgetAt(now).budget)
    return pending > 0 ? pending / Double(rateBps) : 0
  }

  /// The first Double that does not fit a UInt64 (2^64).
  static let largestDelay = Double(UInt64.max)
}

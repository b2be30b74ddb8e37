// Transport-wide congestion control feedback (RTPFB, FMT 15;
// draft-holmer-rmcat-transport-wide-cc-extensions-01 section 3.1), read in place: validated
// whole when the datagram is (walkRtcp), then walked packet by packet without allocating.
import Wire

/// The feedback message's layout (draft-holmer-rmcat-transport-wide-cc-extensions-01 3.1).
enum TransportFeedbackFormat {
  /// RTPFB FMT of transport-wide feedback.
  static let fmt = 15
  /// After the two SSRCs: base sequence number (2 bytes), packet status count (2), reference
  /// time (3), feedback packet count (1).
  static let headerSize = 8
  /// Every packet chunk is 16 bits (3.1.2).
  static let chunkSize = 2
  /// The reference time counts multiples of 64 ms (3.1).
  static let referenceTimeUnitUs: Int64 = 64_000
  /// Receive deltas count multiples of 250 us (3.1.5).
  static let deltaUnitUs: Int64 = 250
  /// Chunk bit 15 (T): 0 = run length chunk (3.1.3), 1 = status vector chunk (3.1.4).
  static let vectorBit: UInt16 = 0x8000
  /// Status vector bit 14 (S): 0 = 14 one-bit symbols, 1 = 7 two-bit symbols.
  static let twoBitSymbolsBit: UInt16 = 0x4000
  /// Run length chunk: symbol in bits 14-13, run length in the low 13 bits.
  static let runSymbolShift: UInt16 = 13
  static let runLengthMask: UInt16 = 0x1FFF
  static let oneBitSymbolsPerChunk = 14
  static let twoBitSymbolsPerChunk = 7
  /// Packet status symbols (3.1.1); a symbol's value is also the size of its receive delta in
  /// bytes: 0 not received (none), 1 small delta (1 byte, unsigned), 2 large or negative delta
  /// (2 bytes, signed). 3 is reserved.
  static let reservedSymbol: UInt16 = 3
}

/// The symbols `chunk` reports, for at most `remaining` packets (the last chunk may hold more
/// symbols than packets are left; those are not packets).
@inline(__always) func transportChunkSymbolCount(_ chunk: UInt16, remaining: Int) -> Int {
  typealias F = TransportFeedbackFormat
  let n: Int
  if chunk & F.vectorBit == 0 {
    n = Int(chunk & F.runLengthMask)
  } else {
    n = chunk & F.twoBitSymbolsBit == 0 ? F.oneBitSymbolsPerChunk : F.twoBitSymbolsPerChunk
  }
  return min(n, remaining)
}

/// Symbol `k` of `chunk` (0 = not received, 1 = small delta, 2 = large delta, 3 = reserved).
@inline(__always) func transportChunkSymbol(_ chunk: UInt16, _ k: Int) -> UInt16 {
  typealias F = TransportFeedbackFormat
  if chunk & F.vectorBit == 0 { return chunk >> F.runSymbolShift & 3 }
  if chunk & F.twoBitSymbolsBit == 0 { return chunk >> UInt16(F.oneBitSymbolsPerChunk - 1 - k) & 1 }
  return chunk >> UInt16(2 * (F.twoBitSymbolsPerChunk - 1 - k)) & 3
}

/// One packet a transport-wide feedback reports: its transport-wide sequence number and its
/// arrival time in the receiver's clock in microseconds (reference time plus the receive deltas
/// so far), nil when it was not received.
public struct TransportFeedbackPacket: Equatable, Sendable {
  public var sequence: UInt16
  public var arrivalUs: Int64?

  public init(sequence: UInt16, arrivalUs: Int64?) {
    self.sequence = sequence
    self.arrivalUs = arrivalUs
  }
}

/// A transport-wide feedback message's FCI, read in place (valid while the datagram's buffer is).
/// Only `walkRtcp` makes one, after checking that its chunks cover `statusCount` packets and its
/// receive deltas fit in the packet.
public struct TransportFeedbackView {
  let bytes: UnsafeRawBufferPointer
  /// Offsets of the first packet chunk and of the first receive delta.
  let chunks: Int
  let deltas: Int
  /// Transport-wide sequence number of the first packet reported.
  public let baseSequence: UInt16
  /// Packets reported: 1...65535, each covered by the chunks.
  public let statusCount: Int
  /// The receiver's clock at the first receive delta, in multiples of 64 ms (signed 24 bits).
  /// libwebrtc writes its clock modulo 2^24 units, so across feedback messages the value wraps
  /// (about every 12.4 days of the receiver's uptime; read as signed, it jumps by -2^24 where
  /// its top bit comes on).
  public let referenceTime: Int32
  /// The receiver's count of feedback messages sent (wraps at 256): a gap means lost feedback.
  public let feedbackCount: UInt8

  /// The reported packets in order, from `baseSequence`; nothing is allocated.
  public var packets: TransportFeedbackPackets { TransportFeedbackPackets(self) }
}

/// The packets of a `TransportFeedbackView`, decoded as they are read.
public struct TransportFeedbackPackets: Sequence, IteratorProtocol {
  let view: TransportFeedbackView
  var nextChunk: Int
  var nextDelta: Int
  var chunk: UInt16 = 0
  /// Symbols of `chunk` read, and left to read.
  var position = 0
  var left = 0
  var reported = 0
  var arrivalUs: Int64

  init(_ view: TransportFeedbackView) {
    self.view = view
    nextChunk = view.chunks
    nextDelta = view.deltas
    arrivalUs = Int64(view.referenceTime) * TransportFeedbackFormat.referenceTimeUnitUs
  }

  public mutating func next() -> TransportFeedbackPacket? {
    guard reported < view.statusCount else { return nil }
    // the view was validated: chunks cover statusCount packets before the deltas start
    while left == 0, nextChunk < view.deltas {
      chunk = loadU16(view.bytes, nextChunk)
      nextChunk += TransportFeedbackFormat.chunkSize
      position = 0
      left = transportChunkSymbolCount(chunk, remaining: view.statusCount - reported)
    }
    guard left > 0 else { return nil }
    let symbol = transportChunkSymbol(chunk, position)
    position += 1
    left -= 1
    let sequence = view.baseSequence &+ UInt16(truncatingIfNeeded: reported)
    reported += 1
    let delta: Int64
    switch symbol {
    case 1:
      delta = Int64(view.bytes[nextDelta])
    case 2:
      delta = Int64(Int16(bitPattern: loadU16(view.bytes, nextDelta)))
    default:
      return TransportFeedbackPacket(sequence: sequence, arrivalUs: nil)
    }
    nextDelta += Int(symbol)
    arrivalUs += delta * TransportFeedbackFormat.deltaUnitUs
    return TransportFeedbackPacket(sequence: sequence, arrivalUs: arrivalUs)
  }
}

/// Validates the transport-wide feedback whose FCI is `d[fci..<end]` and returns it as a view:
/// a status count of at least 1; packet chunks covering that many packets, all inside the
/// packet; no reserved symbol among them; and every receive delta they call for inside the
/// packet. Bytes after the deltas (zero padding) are allowed.
///
/// Bound: the status count is 16 bits, and a count is accepted only when the packet's own chunks
/// cover it, so it is at most what the packet's length can carry (8191 packets per 2-byte run
/// length chunk, 14 per status vector chunk). Checking takes one step per chunk plus one per
/// status vector symbol, so it is linear in the packet's length, whatever the count says.
func transportFeedbackView(_ d: UnsafeRawBufferPointer, at fci: Int, end: Int) throws(RtcpError) -> TransportFeedbackView {
  typealias F = TransportFeedbackFormat
  guard end - fci >= F.headerSize else { throw .truncated }
  let statusCount = Int(loadU16(d, fci + 2))
  // libwebrtc refuses empty feedback messages too; there is nothing in one to act on
  guard statusCount > 0 else { throw .badFeedback }
  let chunks = fci + F.headerSize
  var i = chunks
  var covered = 0
  var deltaBytes = 0
  while covered < statusCount {
    guard end - i >= F.chunkSize else { throw .truncated }
    let chunk = loadU16(d, i)
    i += F.chunkSize
    let n = transportChunkSymbolCount(chunk, remaining: statusCount - covered)
    if chunk & F.vectorBit == 0 {
      let symbol = transportChunkSymbol(chunk, 0)
      if n > 0, symbol == F.reservedSymbol { throw .badFeedback }
      deltaBytes += n * Int(symbol)
    } else {
      for k in 0..<n {
        let symbol = transportChunkSymbol(chunk, k)
        if symbol == F.reservedSymbol { throw .badFeedback }
        deltaBytes += Int(symbol)
      }
    }
    covered += n
  }
  guard end - i >= deltaBytes else { throw .truncated }
  // 24-bit two's complement: shift it to the top of 32 bits and back to sign-extend
  let rawTime = UInt32(d[fci + 4]) << 16 | UInt32(d[fci + 5]) << 8 | UInt32(d[fci + 6])
  return TransportFeedbackView(
    bytes: d, chunks: chunks, deltas: i, baseSequence: loadU16(d, fci), statusCount: statusCount,
    referenceTime: Int32(bitPattern: rawTime << 8) >> 8, feedbackCount: d[fci + 7])
}

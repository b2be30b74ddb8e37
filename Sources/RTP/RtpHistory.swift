// Retransmission history: the last N sent RTP packets, for answering generic NACKs.

/// A ring of recently sent RTP packets (plaintext), indexed by sequence number. All storage is
/// allocated in `init`; `store` and `withPacket` never allocate.
public struct RtpHistory: Sendable {
  public let slots: Int
  public let slotSize: Int
  var storage: [UInt8]
  var lengths: [Int]
  var sequences: [UInt16]

  /// - Parameters:
  ///   - slots: packets kept (at least 1). Divisors of 65536 keep slot use even across wraps.
  ///   - slotSize: largest packet kept; longer packets are not stored.
  public init(slots: Int = 512, slotSize: Int = 1200) {
    self.slots = max(slots, 1)
    self.slotSize = max(slotSize, 0)
    storage = [UInt8](repeating: 0, count: self.slots * self.slotSize)
    lengths = [Int](repeating: 0, count: self.slots)
    sequences = [UInt16](repeating: 0, count: self.slots)
  }

  /// Stores a complete RTP packet (header included) under its sequence number, replacing the
  /// packet that used the slot before. Packets shorter than an RTP header or longer than
  /// `slotSize` are ignored (the slot they would use is cleared).
  public mutating func store(_ packet: UnsafeRawBufferPointer) {
    guard packet.count >= rtpFixedHeaderSize, let src = packet.baseAddress else { return }
    let sequence = UInt16(packet[2]) << 8 | UInt16(packet[3])
    let slot = Int(sequence) % slots
    guard packet.count <= slotSize else {
      lengths[slot] = 0
      return
    }
    let start = slot * slotSize
    storage.withUnsafeMutableBytes { dst in
      if let base = dst.baseAddress {
        (base + start).copyMemory(from: src, byteCount: packet.count)
      }
    }
    lengths[slot] = packet.count
    sequences[slot] = sequence
  }

  /// Calls `body` with the stored packet for `sequence`, or returns nil if it is no longer (or
  /// never was) in the ring.
  public func withPacket<R>(sequence: UInt16, _ body: (UnsafeRawBufferPointer) -> R) -> R? {
    let slot = Int(sequence) % slots
    let length = lengths[slot]
    guard length > 0, sequences[slot] == sequence else { return nil }
    let start = slot * slotSize
    return storage.withUnsafeBytes { all in
      body(UnsafeRawBufferPointer(rebasing: all[start..<start + length]))
    }
  }

  /// Forgets the packet stored for `sequence`, if it is still there (a packet that was never
  /// sent: a NACK for it is then not answered).
  public mutating func forget(sequence: UInt16) {
    let slot = Int(sequence) % slots
    if sequences[slot] == sequence { lengths[slot] = 0 }
  }

  /// Forgets every stored packet (keeps the storage).
  public mutating func removeAll() {
    for i in 0..<slots { lengths[i] = 0 }
  }
}

import CRTCam
import Synchronization

/// A fixed ring of encoded access units passed from the capture+encode thread (the only
/// producer) to the network loop (the only consumer). Slot memory is allocated once. The producer
/// reserves the next free slot, the encoder writes the access unit straight into it (the one copy
/// out of OpenH264's buffers), and `commit` publishes it; the consumer reads it in place
/// (`peek`) and hands it back (`release`). When the consumer falls behind and every slot is
/// held, `reserve` gives nothing and counts a drop (the caller then owes a keyframe), so the
/// network loop never reads a slot that is being written. A frame larger than a slot is never
/// written past the slot: `commit` refuses its length and counts a drop.
///
/// `@unchecked Sendable`: one producer thread calls `reserve`/`commit`, one consumer thread
/// `peek`/`release`. A slot is written only while it is outside [consumed, written), read only
/// inside it, and the counters are `Atomic`s stored with release and loaded with acquire ordering,
/// so a slot's bytes and descriptor are never touched by both threads at once.
public final class FrameRing: @unchecked Sendable {
  public struct Slot {
    public var data: UnsafeMutableRawPointer
    public var capacity: Int
    public var length: Int
    public var isKeyframe: Bool
    /// The encoder's temporal layer of the frame (`EncodedFrame.temporalLayer`).
    public var temporalLayer: UInt8
    public var captureTimeNs: UInt64
  }

  let slotCount: Int
  /// Bytes per slot: the largest access unit the ring carries.
  public let slotCapacity: Int
  /// Slot descriptors in raw memory: each is touched by one thread at a time, as ordered by
  /// the `written`/`consumed` counters.
  let slots: UnsafeMutablePointer<Slot>
  /// Number of frames published (next slot to write = written % slotCount).
  let written = Atomic<UInt64>(0)
  /// Number of frames the consumer has released.
  let consumed = Atomic<UInt64>(0)
  /// Frames the producer could not hand over (ring full, or larger than a slot).
  let droppedCount = Atomic<UInt64>(0)

  public init(slots: Int, slotCapacity: Int) {
    slotCount = max(slots, 1)
    self.slotCapacity = max(slotCapacity, 1)
    self.slots = UnsafeMutablePointer<Slot>.allocate(capacity: slotCount)
    for i in 0..<slotCount {
      (self.slots + i).initialize(to: Slot(data: UnsafeMutableRawPointer.allocate(byteCount: self.slotCapacity, alignment: 16),
        capacity: self.slotCapacity, length: 0, isKeyframe: false, temporalLayer: 0, captureTimeNs: 0))
    }
  }

  deinit {
    for i in 0..<slotCount { slots[i].data.deallocate() }
    slots.deinitialize(count: slotCount)
    slots.deallocate()
  }

  /// Frames dropped so far (any thread).
  public var dropped: UInt64 { droppedCount.load(ordering: .relaxed) }

  /// Producer: the memory of the next free slot, to write one access unit into; nil (and a drop
  /// counted) when the consumer still holds every slot. Until `commit` nothing is published:
  /// reserving again gives the same slot, and what was written there is overwritten.
  public func reserve() -> UnsafeMutableRawBufferPointer? {
    let w = written.load(ordering: .relaxed)
    let c = consumed.load(ordering: .acquiring)
    guard w - c < UInt64(slotCount) else {
      droppedCount.wrappingAdd(1, ordering: .relaxed)
      return nil
    }
    let slot = slots[Int(w % UInt64(slotCount))]
    return UnsafeMutableRawBufferPointer(start: slot.data, count: slot.capacity)
  }

  /// Producer: publishes the reserved slot holding `length` bytes (a frame of temporal layer
  /// `temporalLayer`). False (and a drop counted, nothing published) when no slot is free or
  /// `length` does not fit a slot: a frame larger than a slot is lost, never cut or written past
  /// the slot.
  @discardableResult
  public func commit(length: Int, isKeyframe: Bool, temporalLayer: UInt8 = 0, captureTimeNs: UInt64) -> Bool {
    let w = written.load(ordering: .relaxed)
    let c = consumed.load(ordering: .acquiring)
    let index = Int(w % UInt64(slotCount))
    guard w - c < UInt64(slotCount), length >= 0, length <= slots[index].capacity else {
      droppedCount.wrappingAdd(1, ordering: .relaxed)
      return false
    }
    slots[index].length = length
    slots[index].isKeyframe = isKeyframe
    slots[index].temporalLayer = temporalLayer
    slots[index].captureTimeNs = captureTimeNs
    written.store(w + 1, ordering: .releasing)
    return true
  }

  /// Consumer: the oldest unread frame, valid until `release()`.
  public func peek() -> Slot? {
    let c = consumed.load(ordering: .relaxed)
    let w = written.load(ordering: .acquiring)
    guard c < w else { return nil }
    return slots[Int(c % UInt64(slotCount))]
  }

  /// Consumer: done with the frame returned by `peek()`.
  public func release() {
    let c = consumed.load(ordering: .relaxed)
    let w = written.load(ordering: .acquiring)
    guard c < w else { return }  // nothing held: releasing must not run ahead of the producer
    consumed.store(c + 1, ordering: .releasing)
  }
}

import CRTCam
import Synchronization

/// A fixed ring of encoded access units passed from the capture+encode thread (the only
/// producer) to the network loop (the only consumer). Slot memory is allocated once; a frame is
/// copied in once and read in place. When the consumer falls behind and every slot is full, the
/// producer drops the new frame (and the caller asks the encoder for a keyframe), so the
/// network loop never reads a slot that is being written.
///
/// `@unchecked Sendable`: one producer thread calls `push`, one consumer thread `peek`/`release`.
/// A slot is written only while it is outside [consumed, written), read only inside it, and the
/// counters are `Atomic`s stored with release and loaded with acquire ordering, so a slot's bytes
/// and descriptor are never touched by both threads at once.
public final class FrameRing: @unchecked Sendable {
  public struct Slot {
    public var data: UnsafeMutableRawPointer
    public var capacity: Int
    public var length: Int
    public var isKeyframe: Bool
    public var captureTimeNs: UInt64
  }

  let slotCount: Int
  /// Slot descriptors in raw memory: each is touched by one thread at a time, as ordered by
  /// the `written`/`consumed` counters.
  let slots: UnsafeMutablePointer<Slot>
  /// Number of frames published (next slot to write = written % slotCount).
  let written = Atomic<UInt64>(0)
  /// Number of frames the consumer has released.
  let consumed = Atomic<UInt64>(0)
  public let dropped = Atomic<UInt64>(0)

  public init(slots: Int, slotCapacity: Int) {
    slotCount = slots
    self.slots = UnsafeMutablePointer<Slot>.allocate(capacity: slots)
    for i in 0..<slots {
      (self.slots + i).initialize(to: Slot(data: UnsafeMutableRawPointer.allocate(byteCount: slotCapacity, alignment: 16),
        capacity: slotCapacity, length: 0, isKeyframe: false, captureTimeNs: 0))
    }
  }

  deinit {
    for i in 0..<slotCount { slots[i].data.deallocate() }
    slots.deinitialize(count: slotCount)
    slots.deallocate()
  }

  /// Producer: copies one access unit in. Returns false (and counts a drop) when the ring is full
  /// or the frame is larger than a slot.
  public func push(_ bytes: UnsafeRawBufferPointer, isKeyframe: Bool, captureTimeNs: UInt64) -> Bool {
    let w = written.load(ordering: .relaxed)
    let c = consumed.load(ordering: .acquiring)
    let index = Int(w % UInt64(slotCount))
    guard w - c < UInt64(slotCount), bytes.count <= slots[index].capacity, let base = bytes.baseAddress else {
      dropped.wrappingAdd(1, ordering: .relaxed)
      return false
    }
    slots[index].data.copyMemory(from: base, byteCount: bytes.count)
    slots[index].length = bytes.count
    slots[index].isKeyframe = isKeyframe
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
    consumed.store(c + 1, ordering: .releasing)
  }
}

import Foundation
import Synchronization
import Testing

@testable import Runtime

/// The ring between the capture thread (reserve, write in place, commit) and the network loop
/// (peek, release).
@Suite struct FrameRingTests {
  /// Writes `bytes` into a reserved slot and commits it; false when no slot was free.
  func put(_ ring: FrameRing, _ bytes: [UInt8], keyframe: Bool = false, layer: UInt8 = 0, at t: UInt64 = 0) -> Bool {
    guard let slot = ring.reserve() else { return false }
    slot.copyBytes(from: bytes)
    return ring.commit(length: bytes.count, isKeyframe: keyframe, temporalLayer: layer, captureTimeNs: t)
  }

  /// The bytes of the oldest frame, released.
  func take(_ ring: FrameRing) -> [UInt8]? {
    guard let s = ring.peek() else { return nil }
    let b = Array(UnsafeRawBufferPointer(start: s.data, count: s.length))
    ring.release()
    return b
  }

  @Test func framesComeOutInOrderAcrossManyWrapArounds() {
    let ring = FrameRing(slots: 3, slotCapacity: 64)
    var next: UInt64 = 0, expected: UInt64 = 0
    // 1000 frames through 3 slots (333 times around), the producer 0 to 3 frames ahead
    for round in 0..<2000 {
      for _ in 0..<(round % 4) where next < 1000 {
        let n = Int(next % 50) + 1
        #expect(put(ring, [UInt8](repeating: UInt8(truncatingIfNeeded: next), count: n), keyframe: next % 10 == 0,
          layer: UInt8(next % 3), at: next))
        next += 1
      }
      while let s = ring.peek() {
        #expect(s.captureTimeNs == expected && s.isKeyframe == (expected % 10 == 0) && s.temporalLayer == UInt8(expected % 3))
        let b = Array(UnsafeRawBufferPointer(start: s.data, count: s.length))
        #expect(b == [UInt8](repeating: UInt8(truncatingIfNeeded: expected), count: Int(expected % 50) + 1))
        ring.release()
        expected += 1
      }
    }
    #expect(next == 1000 && expected == 1000 && ring.dropped == 0)
  }

  @Test func aFullRingDropsTheNewFrameAndLeavesWhatTheConsumerReadsAlone() {
    let ring = FrameRing(slots: 2, slotCapacity: 16)
    #expect(put(ring, [1, 1, 1]))
    #expect(put(ring, [2, 2]))
    // the consumer holds the oldest frame while the producer runs ahead
    let held = ring.peek()
    #expect(ring.reserve() == nil)
    #expect(!put(ring, [3]))
    #expect(ring.dropped == 2)
    #expect(held.map { Array(UnsafeRawBufferPointer(start: $0.data, count: $0.length)) } == [1, 1, 1])
    #expect(take(ring) == [1, 1, 1])
    // one slot free again: the next frame goes in after frame 2
    #expect(put(ring, [4, 4, 4, 4]))
    #expect(take(ring) == [2, 2])
    #expect(take(ring) == [4, 4, 4, 4])
    #expect(take(ring) == nil)
    #expect(ring.dropped == 2)
  }

  @Test func aFrameLargerThanASlotIsRefusedAndCounted() {
    let ring = FrameRing(slots: 2, slotCapacity: 8)
    let slot = ring.reserve()
    #expect(slot?.count == 8)
    #expect(!ring.commit(length: 9, isKeyframe: true, captureTimeNs: 1))
    #expect(!ring.commit(length: -1, isKeyframe: true, captureTimeNs: 1))
    #expect(ring.peek() == nil && ring.dropped == 2)
    // the slot is still free for the next frame, which fits
    #expect(put(ring, [7, 7, 7, 7, 7, 7, 7, 7]))
    #expect(take(ring) == [7, 7, 7, 7, 7, 7, 7, 7])
  }

  @Test func aReservationWithoutCommitPublishesNothing() {
    let ring = FrameRing(slots: 2, slotCapacity: 8)
    let first = ring.reserve()
    first?.copyBytes(from: [9, 9, 9])
    #expect(ring.peek() == nil)
    // reserving again gives the same slot; what was written there is simply overwritten
    let again = ring.reserve()
    #expect(again?.baseAddress == first?.baseAddress)
    #expect(put(ring, [5]))
    #expect(take(ring) == [5])
    #expect(ring.dropped == 0)
  }

  @Test func releasingWithNothingHeldDoesNotRunAhead() {
    let ring = FrameRing(slots: 2, slotCapacity: 8)
    ring.release()
    #expect(put(ring, [1]))
    #expect(take(ring) == [1])
    #expect(take(ring) == nil)
  }

  @Test func oneProducerAndOneConsumerOnTwoThreads() {
    let ring = FrameRing(slots: 4, slotCapacity: 8)
    let total: UInt64 = 20_000
    let sent = Atomic<UInt64>(0)
    // the producer on a thread of its own, as the capture thread is
    let started = startThread {
      var n: UInt64 = 0
      let deadline = Date().addingTimeInterval(20)
      while n < total && Date() < deadline {
        guard let slot = ring.reserve() else { continue }
        slot.storeBytes(of: n, as: UInt64.self)
        ring.commit(length: 8, isKeyframe: false, captureTimeNs: n)
        n += 1
        sent.store(n, ordering: .releasing)
      }
    }
    #expect(started)
    var expected: UInt64 = 0
    let deadline = Date().addingTimeInterval(20)
    while expected < total && Date() < deadline {
      guard let s = ring.peek() else { continue }
      let value = s.data.load(as: UInt64.self)
      if value != expected || s.captureTimeNs != expected { break }
      ring.release()
      expected += 1
    }
    #expect(expected == total, "every frame arrived intact and in order")
    let producerSent = sent.load(ordering: .acquiring)
    #expect(producerSent == total)
  }
}

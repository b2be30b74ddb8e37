/// Paces frames at a rational rate (num/den frames per second) on absolute monotonic deadlines:
/// frame k is due at anchor + k * den/num seconds, so sleeping late once does not shift every later
/// frame (no drift). When the caller falls behind by a whole frame interval or more, the schedule
/// is re-anchored at "now" instead of delivering the missed frames back to back (no bursts).
public struct FramePacer: Sendable {
  public let num: UInt64
  public let den: UInt64
  var anchor: UInt64 = 0
  var index: UInt64 = 0
  var started = false

  /// `num`/`den` frames per second; both are clamped to at least 1.
  public init(num: Int, den: Int) {
    self.num = UInt64(max(num, 1))
    self.den = UInt64(max(den, 1))
  }

  /// Nanoseconds between frames (rounded down).
  public var intervalNs: UInt64 { den &* 1_000_000_000 / num }

  /// Forgets the schedule; the next `wait` starts a new one at "now".
  public mutating func reset() { started = false }

  /// Waits until the next frame is due and returns the monotonic time after waiting. The first
  /// call returns at once and starts the schedule.
  public mutating func wait(_ clock: CaptureClock) -> UInt64 {
    let now = clock.monotonicNs()
    guard started else {
      started = true
      anchor = now
      index = 0
      return now
    }
    index += 1
    if index >= num {
      // exactly `den` seconds after the anchor: move the anchor so the products stay small
      anchor &+= den &* 1_000_000_000
      index = 0
    }
    let deadline = anchor &+ index &* den &* 1_000_000_000 / num
    if now >= deadline &+ intervalNs {
      // a whole frame late or more: start again from now rather than catching up in a burst
      anchor = now
      index = 0
      return now
    }
    if now < deadline {
      clock.sleepUntil(deadline)
      return clock.monotonicNs()
    }
    return now
  }
}

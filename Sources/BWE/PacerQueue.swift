// The pacer's queues: fixed-capacity FIFO rings of opaque tokens with their sizes.

/// A FIFO ring of `(token, bytes)` pairs. All storage is allocated in `init`; `push`, `pop` and
/// `removeAll` never allocate.
struct PacerQueue: Sendable {
  let capacity: Int
  var tokens: [UInt16]
  var sizes: [UInt16]
  var head = 0
  var count = 0
  /// Bytes of the queued packets (at most `capacity` x `Pacer.maxPacketBytes`: Int64 so the sum
  /// cannot overflow on a 32-bit device).
  var bytes: Int64 = 0

  init(capacity: Int) {
    self.capacity = capacity
    tokens = [UInt16](repeating: 0, count: capacity)
    sizes = [UInt16](repeating: 0, count: capacity)
  }

  var isFull: Bool { count >= capacity }

  /// Appends at the tail; the caller checks `isFull` and the size's bounds first.
  mutating func push(token: UInt16, bytes size: UInt16) {
    let tail = (head + count) % capacity
    tokens[tail] = token
    sizes[tail] = size
    count += 1
    bytes += Int64(size)
  }

  /// The size of the packet at the head (nil: empty).
  var headBytes: UInt16? { count > 0 ? sizes[head] : nil }

  /// Takes the packet at the head (nil: empty).
  mutating func pop() -> (token: UInt16, bytes: UInt16)? {
    guard count > 0 else { return nil }
    let token = tokens[head]
    let size = sizes[head]
    head = (head + 1) % capacity
    count -= 1
    bytes -= Int64(size)
    return (token, size)
  }

  mutating func removeAll() {
    head = 0
    count = 0
    bytes = 0
  }
}

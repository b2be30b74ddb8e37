// One access unit cut into RTP payloads once, shared by every receiver of the frame.

/// The RTP payloads (RFC 6184: single NAL unit, STAP-A, FU-A) of one access unit, in order,
/// with their marker bits, but without RTP headers: each receiver (a viewer, a --forward
/// target) writes its own header in front of each payload (`RtpStream`), so a frame is cut once
/// however many receive it.
///
/// All storage is allocated by `init`; cutting a frame into it never allocates. A final class:
/// one frame is read by every receiver in turn, and it is never copied.
public final class PacketizedFrame {
  /// Largest payload (RTP payload header included) of one packet.
  public let maxPayload: Int
  /// Payload bytes the frame can hold, and packets: an access unit that needs more is cut short
  /// (`truncated`), never written past the storage.
  public let byteCapacity: Int
  public let packetCapacity: Int

  let storage: UnsafeMutableRawPointer
  let offsets: UnsafeMutablePointer<Int>
  let lengths: UnsafeMutablePointer<Int>
  let markers: UnsafeMutablePointer<Bool>
  /// Payloads in the frame.
  public private(set) var count = 0
  var used = 0
  /// The access unit did not fit: the receivers must not take this frame (a decoder would see a
  /// broken picture); whoever sent it asks for a keyframe.
  public private(set) var truncated = false
  /// When the frame was captured (monotonic ns): the receivers' RTP timestamps follow from it.
  public private(set) var captureTimeNs: UInt64 = 0
  public private(set) var isKeyframe = false
  /// The encoder's temporal layer of the frame (0: base layer; see `EncodedFrame.temporalLayer`):
  /// a receiver given only layers 0...n skips the frames above n.
  public private(set) var temporalLayer: UInt8 = 0

  /// - Parameters:
  ///   - maxPayload: the largest payload per packet (an MTU less the largest RTP header any
  ///     receiver writes).
  ///   - byteCapacity: at least the largest access unit plus a few bytes per packet (the FU-A
  ///     headers; STAP-A length fields).
  ///   - packetCapacity: the most packets one access unit may become.
  public init(maxPayload: Int, byteCapacity: Int, packetCapacity: Int) {
    self.maxPayload = max(maxPayload, 3)  // an FU-A needs its two header bytes and one more
    self.byteCapacity = max(byteCapacity, self.maxPayload)
    self.packetCapacity = max(packetCapacity, 1)
    storage = UnsafeMutableRawPointer.allocate(byteCount: self.byteCapacity, alignment: 16)
    offsets = .allocate(capacity: self.packetCapacity)
    lengths = .allocate(capacity: self.packetCapacity)
    markers = .allocate(capacity: self.packetCapacity)
  }

  deinit {
    storage.deallocate()
    offsets.deallocate()
    lengths.deallocate()
    markers.deallocate()
  }

  /// Empties the frame for the access unit captured at `captureTimeNs`, of temporal layer
  /// `temporalLayer` (0 for a stream without temporal layers).
  public func reset(captureTimeNs: UInt64, isKeyframe: Bool, temporalLayer: UInt8 = 0) {
    count = 0
    used = 0
    truncated = false
    self.captureTimeNs = captureTimeNs
    self.isKeyframe = isKeyframe
    self.temporalLayer = temporalLayer
  }

  /// Where the next payload goes (room for `maxPayload` bytes), or nil when the frame is full
  /// (which marks it `truncated`).
  func reserve() -> UnsafeMutableRawPointer? {
    guard !truncated, count < packetCapacity, byteCapacity - used >= maxPayload else {
      truncated = true
      return nil
    }
    return storage + used
  }

  /// The payload at `reserve()` is `length` bytes long.
  func commit(length: Int, marker: Bool) {
    offsets[count] = used
    lengths[count] = length
    markers[count] = marker
    used += length
    count += 1
  }

  /// Payload `i` (0..<count), valid until the next `reset`.
  public func payload(_ i: Int) -> UnsafeRawBufferPointer {
    UnsafeRawBufferPointer(start: storage + offsets[i], count: lengths[i])
  }

  /// Whether payload `i` ends the access unit (the RTP marker bit).
  public func marker(_ i: Int) -> Bool { markers[i] }

  /// Payload bytes in the frame.
  public var payloadBytes: Int { used }
}

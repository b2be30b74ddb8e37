@testable import RTP
import TestSupport

/// Deterministic xorshift64* generator so that failures reproduce.
struct TestRNG {
  var state: UInt64
  init(seed: UInt64) { state = seed == 0 ? 0x9E37_79B9_7F4A_7C15 : seed }
  mutating func next() -> UInt64 {
    state ^= state >> 12
    state ^= state << 25
    state ^= state >> 27
    return state &* 0x2545_F491_4F6C_DD1D
  }
  mutating func int(_ range: ClosedRange<Int>) -> Int {
    range.lowerBound + Int(next() % UInt64(range.upperBound - range.lowerBound + 1))
  }
  mutating func byte() -> UInt8 { UInt8(truncatingIfNeeded: next()) }
}

/// A NAL unit of `size` bytes: header byte (F=0, NRI, type), then non-zero filler bytes so that
/// no start code can appear inside and the last byte is not zero.
func makeNAL(type: UInt8, nri: UInt8 = 3, size: Int, seed: UInt64 = 1) -> [UInt8] {
  precondition(size >= 1)
  var rng = TestRNG(seed: seed &+ UInt64(size) &* 31 &+ UInt64(type))
  var nal: [UInt8] = [nri << 5 | type]
  for _ in 1..<size { nal.append(UInt8(1 + rng.next() % 255)) }
  return nal
}

/// Annex-B access unit; `longStartCodes` picks 00 00 00 01 (default) or 00 00 01.
func annexB(_ nals: [[UInt8]], longStartCodes: Bool = true) -> [UInt8] {
  var out: [UInt8] = []
  for nal in nals {
    out += longStartCodes ? [0, 0, 0, 1] : [0, 0, 1]
    out += nal
  }
  return out
}

struct Sent {
  var bytes: [UInt8]
  var marker: Bool
  func header() throws -> RtpHeader { try RtpHeader.parse(bytes) }
  func payload() throws -> [UInt8] { Array(bytes[try header().headerLength...]) }
}

/// The send path of one receiver as the tests see it: the access unit cut once
/// (`H264Packetizer` into a `PacketizedFrame`) and written with one `RtpStream`'s headers, into
/// whole RTP packets. `mtu` is raised to `headerLength + 16`, as a real sink's MTU would be.
struct StreamPacketizer {
  var payloads = H264Packetizer()
  var stream: RtpStream
  let mtu: Int
  var headerLength: Int { stream.headerLength }
  var sequence: UInt16 { stream.sequence }
  var packetCount: UInt32 { stream.packetCount }
  var octetCount: UInt32 { stream.octetCount }
  private(set) var lastTimestamp: UInt32 = 0

  init(ssrc: UInt32, payloadType: UInt8, initialSequence: UInt16, mtu: Int = 1200, playoutDelayExtensionID: UInt8? = nil) {
    stream = RtpStream(ssrc: ssrc, payloadType: payloadType, initialSequence: initialSequence, timestampOffset: 0,
      playoutDelayExtensionID: playoutDelayExtensionID)
    self.mtu = max(mtu, stream.headerLength + 16)
  }

  /// Every packet of `au` with `timestamp`, at most `min(mtu, bufferSize)` bytes each (nothing
  /// when that leaves no room for a payload).
  mutating func packetize(_ au: [UInt8], timestamp: UInt32, bufferSize: Int) -> [Sent] {
    let limit = min(mtu, bufferSize)
    guard limit >= headerLength + 3 else { return [] }
    let frame = PacketizedFrame(maxPayload: limit - headerLength, byteCapacity: au.count * 2 + 4096, packetCapacity: 4096)
    frame.reset(captureTimeNs: 0, isKeyframe: false)
    au.withUnsafeBytes { payloads.packetize(accessUnit: $0, into: frame) }
    var sent: [Sent] = []
    if frame.count > 0 { lastTimestamp = timestamp }
    let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: limit, alignment: 8)
    defer { buffer.deallocate() }
    for i in 0..<frame.count {
      let n = stream.write(frame, packet: i, timestamp: timestamp, into: buffer)
      sent.append(Sent(bytes: Array(buffer[0..<n]), marker: frame.marker(i)))
    }
    return sent
  }
}

/// Packetizes `au` into packets of at most the packetizer's MTU (or `bufferSize`) and returns them.
func packetize(
  _ p: inout StreamPacketizer, _ au: [UInt8], timestamp: UInt32 = 1234, bufferSize: Int? = nil
) -> [Sent] {
  p.packetize(au, timestamp: timestamp, bufferSize: bufferSize ?? p.mtu + 16)
}

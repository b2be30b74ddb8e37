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

/// Packetizes `au` into a buffer of `bufferSize` (default: the packetizer's MTU + 16, like a
/// real caller leaving room for the SRTP tag) and returns the packets.
func packetize(
  _ p: inout H264Packetizer, _ au: [UInt8], timestamp: UInt32 = 1234, bufferSize: Int? = nil
) -> [Sent] {
  var sent: [Sent] = []
  let buffer = UnsafeMutableRawBufferPointer.allocate(
    byteCount: bufferSize ?? p.mtu + 16, alignment: 8)
  defer { buffer.deallocate() }
  au.withUnsafeBytes { auBytes in
    p.packetize(accessUnit: auBytes, timestamp: timestamp, buffer: buffer) { length, marker in
      sent.append(Sent(bytes: Array(buffer[0..<length]), marker: marker))
    }
  }
  return sent
}

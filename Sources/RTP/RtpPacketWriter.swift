// Writing RTP packets (RFC 3550 section 5.1) with H.264 payload structures (RFC 6184 section
// 5.7.1 STAP-A, 5.8 FU-A) into a caller's buffer, and the per-stream counters sender reports need.

/// The fixed RTP header without CSRCs or header extension.
let rtpFixedHeaderSize = 12

/// Writes RTP headers and H.264 payload structures; owns the per-stream counters.
struct RtpPacketWriter: Sendable {
  let ssrc: UInt32
  let payloadType: UInt8
  var sequence: UInt16
  var packetCount: UInt32 = 0
  var octetCount: UInt32 = 0
  let extensionID: UInt8?
  let headerLength: Int

  init(ssrc: UInt32, payloadType: UInt8, sequence: UInt16, extensionID: UInt8?) {
    self.ssrc = ssrc
    self.payloadType = payloadType
    self.sequence = sequence
    self.extensionID = extensionID
    headerLength = rtpFixedHeaderSize + (extensionID == nil ? 0 : 8)
  }

  /// Writes the RTP header (and playout-delay extension) for the next packet at `out`.
  func writeHeader(_ out: UnsafeMutableRawPointer, marker: Bool, timestamp: UInt32) {
    out.storeBytes(of: extensionID == nil ? 0x80 : 0x90, as: UInt8.self)
    out.storeBytes(of: (marker ? 0x80 : 0) | payloadType, toByteOffset: 1, as: UInt8.self)
    out.storeBytes(of: sequence.bigEndian, toByteOffset: 2, as: UInt16.self)
    out.storeBytes(of: timestamp.bigEndian, toByteOffset: 4, as: UInt32.self)
    out.storeBytes(of: ssrc.bigEndian, toByteOffset: 8, as: UInt32.self)
    if let id = extensionID {
      // RFC 8285 one-byte header: 0xBEDE, length 1 word; element ID|L=2 (3 bytes):
      // playout delay min (12 bits) = 0, max (12 bits) = 0. Exactly one word, no padding.
      out.storeBytes(of: UInt32(0xBEDE_0001).bigEndian, toByteOffset: 12, as: UInt32.self)
      out.storeBytes(of: (UInt32(id << 4 | 2) << 24).bigEndian, toByteOffset: 16, as: UInt32.self)
    }
  }

  /// Accounts for a written packet and hands it to the caller.
  mutating func finish(length: Int, marker: Bool, emit: (Int, Bool) -> Void) {
    emit(length, marker)
    sequence &+= 1
    packetCount &+= 1
    octetCount &+= UInt32(truncatingIfNeeded: length - headerLength)
  }

  /// Sends one NAL unit as a single NAL unit packet, or as FU-A fragments if it is larger than
  /// `maxPayload`. `marker` applies to the last packet.
  mutating func sendNAL(
    _ nal: UnsafeRawBufferPointer, _ out: UnsafeMutableRawPointer, maxPayload: Int, marker: Bool,
    timestamp: UInt32, emit: (Int, Bool) -> Void
  ) {
    guard let src = nal.baseAddress, nal.count > 0 else { return }
    let h = headerLength
    if nal.count <= maxPayload {
      writeHeader(out, marker: marker, timestamp: timestamp)
      (out + h).copyMemory(from: src, byteCount: nal.count)
      finish(length: h + nal.count, marker: marker, emit: emit)
      return
    }
    let nalHeader = nal[0]
    let indicator = nalHeader & 0xE0 | NalType.fuA  // F and NRI from the NAL, type 28
    let type = nalHeader & 0x1F
    let chunk = maxPayload - 2
    var offset = 1  // the NAL header byte travels in the FU indicator/header
    while offset < nal.count {
      let n = min(chunk, nal.count - offset)
      let isEnd = offset + n == nal.count
      let fuHeader = (offset == 1 ? 0x80 : 0) | (isEnd ? 0x40 : 0) | type
      let m = marker && isEnd
      writeHeader(out, marker: m, timestamp: timestamp)
      out.storeBytes(of: indicator, toByteOffset: h, as: UInt8.self)
      out.storeBytes(of: fuHeader, toByteOffset: h + 1, as: UInt8.self)
      (out + h + 2).copyMemory(from: src + offset, byteCount: n)
      finish(length: h + 2 + n, marker: m, emit: emit)
      offset += n
    }
  }

  /// STAP-A under construction: write position and accumulated F/NRI bits.
  struct Stap: Sendable {
    var position: Int
    var fnri: UInt8
  }

  func stapBegin(_ out: UnsafeMutableRawPointer) -> Stap {
    Stap(position: headerLength + 1, fnri: 0)
  }

  /// Appends one aggregation unit (16-bit size + NAL); the caller checked that it fits.
  func stapAppend(_ nal: UnsafeRawBufferPointer, _ out: UnsafeMutableRawPointer, _ s: inout Stap) {
    guard let src = nal.baseAddress, nal.count > 0 else { return }
    out.storeBytes(of: UInt16(truncatingIfNeeded: nal.count).bigEndian, toByteOffset: s.position,
                   as: UInt16.self)
    (out + s.position + 2).copyMemory(from: src, byteCount: nal.count)
    s.position += 2 + nal.count
    let b = nal[0]
    s.fnri = (s.fnri & 0x80) | (b & 0x80) | max(s.fnri & 0x60, b & 0x60)
  }

  /// Writes the RTP header and STAP-A NAL header (F = OR, NRI = maximum of the units) and emits.
  mutating func stapFinish(
    _ out: UnsafeMutableRawPointer, _ s: Stap, marker: Bool, timestamp: UInt32,
    emit: (Int, Bool) -> Void
  ) {
    writeHeader(out, marker: marker, timestamp: timestamp)
    out.storeBytes(of: s.fnri | NalType.stapA, toByteOffset: headerLength, as: UInt8.self)
    finish(length: s.position, marker: marker, emit: emit)
  }
}

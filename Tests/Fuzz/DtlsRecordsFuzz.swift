// fuzz-target: dtls
// fuzz-modules: DTLS
// fuzz-summary: DTLS record splitter (DtlsRecords.isPlausible), the filter in front of mbedTLS
//
// Input: one UDP datagram.
// Invariants:
// - isPlausible agrees with an independent implementation of its documented rule (every record:
//   13-byte header, type 20...23, version DTLS 1.2/1.0, the length inside the datagram; epoch 0
//   records: ChangeCipherSpec = [1], alert = 2 bytes of level 1 or 2, handshake = whole
//   fragments whose headers fit the message and the record, no application data);
// - a plausible datagram is >= 13 bytes, stays plausible when repeated (records concatenate),
//   and is not plausible with its last byte cut off or a stray byte appended;
// - handshakeMessagesValid on the whole input agrees with the reference too.
@testable import DTLS
import Wire

func be(_ d: [UInt8], _ at: Int, _ n: Int) -> Int {
  var v = 0
  for i in 0..<n { v = v << 8 | Int(d[at + i]) }
  return v
}

func referenceHandshake(_ b: [UInt8], _ start: Int, _ end: Int) -> Bool {
  if start >= end { return false }
  var i = start
  while i < end {
    if end - i < 12 { return false }
    let total = be(b, i + 1, 3)
    let offset = be(b, i + 6, 3)
    let fragment = be(b, i + 9, 3)
    i += 12
    if offset > total || fragment > total - offset || fragment > end - i { return false }
    i += fragment
  }
  return true
}

func reference(_ d: [UInt8]) -> Bool {
  if d.isEmpty { return false }
  var i = 0
  while i < d.count {
    if d.count - i < 13 { return false }
    let type = d[i]
    let version = be(d, i + 1, 2)
    let epoch = be(d, i + 3, 2)
    let length = be(d, i + 11, 2)
    let body = i + 13
    if d.count - body < length { return false }
    if type < 20 || type > 23 { return false }
    if version != 0xFEFD && version != 0xFEFF { return false }
    if epoch == 0 {
      switch type {
      case 20: if !(length == 1 && d[body] == 1) { return false }
      case 21: if !(length == 2 && (d[body] == 1 || d[body] == 2)) { return false }
      case 22: if !referenceHandshake(d, body, body + length) { return false }
      default: return false
      }
    }
    i = body + length
  }
  return true
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
  let d = fuzzInput(data, size)
  let plausible = DtlsRecords.isPlausible(d)
  invariant(plausible == reference(d), "isPlausible says " + String(plausible) + " for " + fuzzHex(d))
  invariant(DtlsRecords.handshakeMessagesValid(d) == referenceHandshake(d, 0, d.count),
            "handshakeMessagesValid disagrees with the reference for " + fuzzHex(d))
  guard plausible else { return 0 }
  invariant(d.count >= DtlsRecords.headerLength, "plausible but shorter than a record header")
  invariant(DtlsRecords.isPlausible(d + d), "two plausible datagrams concatenated are not plausible")
  invariant(!DtlsRecords.isPlausible(Array(d.dropLast())), "plausible with the last byte cut off")
  invariant(!DtlsRecords.isPlausible(d + [22]), "plausible with a stray byte appended")
  return 0
}

// fuzz-target: stun
// fuzz-modules: ICE
// fuzz-summary: STUN decoder (StunMessage.parse, stunLocalUfrag, verifyIntegrity) and the ICE-lite agent
//
// Input: one UDP datagram. The agent's credentials are RFC 5769's (our ufrag "evtj", password
// "VOkJxbRl1RmTxUk/WvJxBt", remote ufrag "h6vY"), so the RFC's sample request authenticates.
// The datagram goes to an agent as it is, and, when it parses, once more re-signed (fresh
// MESSAGE-INTEGRITY with the agent's key and FINGERPRINT), so mutations reach the
// authenticated paths too.
// Invariants:
// - parse: 12-byte transaction id, attribute values <= 65535 bytes, FINGERPRINT only last;
//   re-encoding gives a message that parses to the same method, class, transaction id and
//   attributes (MESSAGE-INTEGRITY/FINGERPRINT aside), and with a key it verifies with that key
//   and no other; messageType/split round-trip;
// - stunLocalUfrag agrees with the parsed USERNAME (text before ':', printable ASCII, non-empty),
//   returns nothing for what does not look like STUN;
// - the agent answers only requests; every answer is STUN with the request's transaction id and
//   a FINGERPRINT; a success carries a verifying MESSAGE-INTEGRITY and XOR-MAPPED-ADDRESS = the
//   source; an unauthenticated answer (401) carries no MESSAGE-INTEGRITY and is never larger than
//   the request (no amplification); `.selected` only with USE-CANDIDATE; consent follows successes;
// - the in-place path (receiveInPlace, consent checks) answers exactly the requests the agent
//   answers with a success, with the same bytes, event and state, and changes nothing otherwise.
@testable import ICE
import Wire

let key = Array("VOkJxbRl1RmTxUk/WvJxBt".utf8)
let ourCredentials = IceCredentials(ufrag: "evtj", password: "VOkJxbRl1RmTxUk/WvJxBt")
let sources = [
  SocketAddress(ip: [192, 0, 2, 1], port: 32853),
  SocketAddress(ip: [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 10, 0, 0, 7], port: 65535),
  SocketAddress(ip: [0x20, 0x01, 0x0d, 0xb8, 0x12, 0x34, 0x56, 0x78, 0, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77], port: 1),
]

func expectedUfrag(_ m: StunMessage) -> String? {
  guard let u = m.attribute(Stun.username) else { return nil }
  var out: [UInt8] = []
  for c in u {
    if c == UInt8(ascii: ":") { return out.isEmpty ? nil : String(decoding: out, as: UTF8.self) }
    guard c > 0x20 && c < 0x7F else { return nil }
    out.append(c)
  }
  return nil
}

func sameContent(_ a: StunMessage, _ b: StunMessage) -> Bool {
  let strip = { (m: StunMessage) in m.attributes.filter { $0.type != Stun.messageIntegrity && $0.type != Stun.fingerprint } }
  return a.method == b.method && a.cls == b.cls && a.transactionID == b.transactionID && strip(a) == strip(b)
}

/// Source address as XOR-MAPPED-ADDRESS reports it (IPv4-mapped IPv6 as IPv4).
func reported(_ a: SocketAddress) -> SocketAddress {
  let ip = a.ip
  if StunMessage.isV4Mapped(ip) { return SocketAddress(ip: Array(ip[12..<16]), port: a.port) }
  return a
}

func checkAgent(_ datagram: [UInt8], from: SocketAddress) {
  var agent = IceLiteAgent(local: ourCredentials, remoteUfrag: "h6vY", remotePassword: "qwertyuiopasdfghjklzxc")
  let now: UInt64 = 5_000_000_000
  let out = agent.receive(datagram, from: from, now: now)
  let reply = UnsafeMutableRawBufferPointer.allocate(byteCount: IceLiteAgent.inPlaceReplyCapacity, alignment: 8)
  defer { reply.deallocate() }
  var fast = IceLiteAgent(local: ourCredentials, remoteUfrag: "h6vY", remotePassword: "qwertyuiopasdfghjklzxc")
  let inPlace = datagram.withUnsafeBytes { fast.receiveInPlace($0, from: from, now: now, reply: reply) }
  let succeeded = out.response.flatMap { try? StunMessage.parse($0) }?.cls == .success
  switch inPlace {
  case .answered(let length, let event):
    invariant(succeeded, "answered in place what receive does not answer with success")
    invariant(Array(reply[0..<length]) == out.response, "in-place response differs")
    invariant(event == out.event && fast.selected == agent.selected && fast.lastConsentAt == agent.lastConsentAt
              && fast.successCount == agent.successCount && fast.lastAuthenticatedSource == agent.lastAuthenticatedSource,
              "in-place state differs")
  case .notHandled:
    invariant(!succeeded, "a success not answered in place")
    invariant(fast.successCount == 0 && fast.selected == nil && fast.lastConsentAt == nil, "not handled but state changed")
  }
  let request = try? StunMessage.parse(datagram)
  if out.response == nil {
    invariant(agent.successCount == 0 && agent.lastConsentAt == nil && agent.selected == nil, "state changed without an answer")
    invariant(out.event == nil, "event without an answer")
    return
  }
  guard let req = request, req.cls == .request else {
    invariant(false, "answered something that is not a STUN request")
    return
  }
  let resp = out.response!
  let r: StunMessage
  do { r = try StunMessage.parse(resp) } catch {
    invariant(false, "the answer does not parse: " + fuzzHex(resp))
    return
  }
  invariant(r.transactionID == req.transactionID, "answer with another transaction id")
  invariant(r.attributes.last?.type == Stun.fingerprint, "answer without FINGERPRINT")
  let signed = r.has(Stun.messageIntegrity)
  if signed {
    invariant(StunMessage.verifyIntegrity(resp, key: key), "answer's MESSAGE-INTEGRITY does not verify")
  } else {
    invariant(resp.count <= datagram.count, "unauthenticated answer larger than the request: "
              + String(resp.count) + " > " + String(datagram.count))
    invariant(r.errorCode?.code == 401, "unauthenticated answer other than 401")
  }
  switch r.cls {
  case .success:
    invariant(signed && out.error == nil, "success without integrity, or with an error")
    invariant(r.method == Stun.binding, "success for a method other than Binding")
    invariant(r.xorMappedAddress == reported(from), "XOR-MAPPED-ADDRESS is not the source")
    invariant(agent.successCount == 1 && agent.lastAuthenticatedSource == from, "success not counted")
    invariant(agent.lastConsentAt == now, "success did not refresh consent")
    invariant(!agent.consentExpired(now: now + agent.consentTimeout - 1, startedAt: 0), "consent expired early")
    invariant(agent.consentExpired(now: now + agent.consentTimeout, startedAt: 0), "consent did not expire")
    if req.useCandidate {
      invariant(out.event == .selected(from) && agent.selected == from, "USE-CANDIDATE did not select")
    } else {
      invariant(out.event == nil && agent.selected == nil, "selected without USE-CANDIDATE")
    }
    // Media from the selected address keeps consent; from elsewhere it does not.
    if agent.selected != nil {
      invariant(agent.authenticatedMedia(from: from, now: now + 1), "media from the selected address ignored")
    }
    invariant(!agent.authenticatedMedia(from: SocketAddress(ip: [203, 0, 113, 9], port: 9), now: now + 2),
              "media from another address refreshed consent")
  case .error:
    invariant(out.error != nil, "error answer without an error")
    invariant(out.event == nil && agent.successCount == 0, "error answer changed state")
    let code = r.errorCode?.code
    invariant(code.map { [400, 401, 420, 487].contains($0) } ?? false, "error code " + String(code ?? -1))
    if code == 420 {
      invariant(!(r.unknownAttributeTypes ?? []).isEmpty, "420 without UNKNOWN-ATTRIBUTES")
    }
  default:
    invariant(false, "answered with an indication or request")
  }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
  let d = fuzzInput(data, size)
  let ufrag = d.withUnsafeBytes { stunLocalUfrag($0) }
  if !looksLikeStun(d) { invariant(ufrag == nil, "ufrag from something that does not look like STUN") }
  if let u = ufrag {
    invariant(!u.isEmpty && u.utf8.allSatisfy { $0 > 0x20 && $0 < 0x7F && $0 != UInt8(ascii: ":") }, "ufrag " + u)
  }
  _ = StunMessage.verifyIntegrity(d, key: key)

  checkAgent(d, from: sources[0])

  let m: StunMessage
  do {
    m = try StunMessage.parse(d)
  } catch {
    return 0
  }
  invariant(m.transactionID.count == 12, "transaction id size")
  for (i, a) in m.attributes.enumerated() {
    invariant(a.value.count <= 0xFFFF, "attribute too large")
    if a.type == Stun.fingerprint { invariant(i == m.attributes.count - 1, "FINGERPRINT not last") }
    if a.type == Stun.messageIntegrity {
      invariant(a.value.count == 20, "MESSAGE-INTEGRITY size")
      invariant(i == m.attributes.count - 1 || (i == m.attributes.count - 2 && m.attributes.last?.type == Stun.fingerprint),
                "attributes kept after MESSAGE-INTEGRITY")
    }
  }
  let (method, cls) = StunMessage.split(StunMessage.messageType(method: m.method, cls: m.cls))
  invariant(method == m.method && cls == m.cls, "messageType/split do not round-trip")
  if d[0] <= 3 {
    invariant(ufrag == expectedUfrag(m), "stunLocalUfrag " + (ufrag ?? "nil") + " differs from USERNAME")
  }
  _ = m.xorMappedAddress
  _ = m.mappedAddress
  _ = m.errorCode
  _ = m.unknownAttributeTypes
  _ = m.priority
  _ = m.iceControlling
  _ = m.iceControlled
  _ = m.software

  let plain = m.encode(integrityKey: nil, fingerprint: false)
  do {
    let p = try StunMessage.parse(plain)
    invariant(sameContent(p, m), "re-encoded message parses differently")
  } catch {
    invariant(false, "re-encoded message does not parse")
  }
  let resigned = m.encode(integrityKey: key, fingerprint: true, paddingByte: d[d.count - 1])
  guard resigned.count - Stun.headerSize <= 0xFFFF else { return 0 }  // the length field cannot say more
  do {
    let p = try StunMessage.parse(resigned)
    invariant(sameContent(p, m), "re-signed message parses differently")
    invariant(p.attributes.last?.type == Stun.fingerprint, "re-signed message without FINGERPRINT last")
  } catch {
    invariant(false, "re-signed message does not parse")
  }
  // verifyIntegrity (like stunLocalUfrag) takes only RFC 7983's STUN range, first byte 0...3,
  // while parse accepts any type with the top two bits clear (methods above 0xFF give 4...0x3F).
  // ServerCore routes nothing else to the agent, so only that range must verify.
  invariant(StunMessage.verifyIntegrity(resigned, key: key) == (resigned[0] <= 3), "re-signed message does not verify")
  // (HMAC pads keys with zeros, so key + [0] would verify too: change a byte instead)
  invariant(!StunMessage.verifyIntegrity(resigned, key: [key[0] ^ 1] + key.dropFirst()), "re-signed message verifies with another key")

  checkAgent(resigned, from: sources[Int(m.transactionID[0]) % sources.count])
  return 0
}

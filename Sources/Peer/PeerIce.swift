// A viewer's ICE-lite side: STUN checks answered (in place when they can be), the nominated
// address followed, and the DTLS handshake started by the first authenticated check.
import DTLS
import ICE
import Wire

extension Peer {
  func receiveStun(_ d: UnsafeRawBufferPointer, from: SocketAddress, now: UInt64) {
    switch ice.receiveInPlace(d, from: from, now: now, reply: stunBuffer) {
    case .answered(let length, let event):
      stunReplyLength = length
      stunReplyTo = from
      afterStun(event: event, now: now)
    case .notHandled:
      let out = ice.receive(Array(d), from: from, now: now)
      if let r = out.response, r.count <= stunBuffer.count {
        r.withUnsafeBytes { stunBuffer.baseAddress!.copyMemory(from: $0.baseAddress!, byteCount: r.count) }
        stunReplyLength = r.count
        stunReplyTo = from
      }
      if out.error != nil { stats.badDatagrams += 1 }
      afterStun(event: out.event, now: now)
    }
  }

  func afterStun(event: IceEvent?, now: UInt64) {
    if case .selected(let addr)? = event, addr != remote {
      remote = addr
      events.append(.remoteAddressChanged(addr))
    }
    if remote == nil, let a = ice.lastAuthenticatedSource {
      remote = a
      events.append(.remoteAddressChanged(a))
    }
    if case .checking(let dtls) = state, ice.lastAuthenticatedSource != nil {
      // First authenticated check: ICE works, start the DTLS client handshake.
      enter(.handshaking(dtls))
      dtls.start(now: now)
      pumpDtls(now: now)
    }
  }
}

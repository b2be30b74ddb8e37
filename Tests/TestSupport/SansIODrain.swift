// Test-side views of the sans-IO cores' outputs: drain `pollOutput` into lists a test can
// compare. (Test code only: the cores themselves hand out one output at a time.)
import DTLS
import Foundation

/// What a DTLS endpoint handed out that the test has not looked at yet, per endpoint: draining
/// takes both datagrams and events, and a test may ask for either first. An entry remembers its
/// endpoint weakly: an identifier reused by a later object (tests run in parallel) starts empty.
private final class DtlsStashEntry {
  weak var owner: DtlsEndpoint?
  var datagrams: [[UInt8]] = []
  var events: [DtlsEvent] = []
  init(_ owner: DtlsEndpoint) { self.owner = owner }
}
nonisolated(unsafe) private var dtlsStashTable: [ObjectIdentifier: DtlsStashEntry] = [:]
private let dtlsStashLock = NSLock()
private enum dtlsStash {
  static func withLock<R>(_ body: (inout [ObjectIdentifier: DtlsStashEntry]) -> R) -> R {
    dtlsStashLock.lock()
    defer { dtlsStashLock.unlock() }
    return body(&dtlsStashTable)
  }
}

extension DtlsEndpoint {
  private func drainIntoStash() {
    var datagrams: [[UInt8]] = []
    var events: [DtlsEvent] = []
    loop: while true {
      switch pollOutput() {
      case .transmit(let d): datagrams.append(d)
      case .event(let e): events.append(e)
      case .timeout: break loop
      }
    }
    dtlsStash.withLock { s in
      let e = entry(&s)
      e.datagrams += datagrams
      e.events += events
    }
  }

  private func entry(_ s: inout [ObjectIdentifier: DtlsStashEntry]) -> DtlsStashEntry {
    let id = ObjectIdentifier(self)
    if let e = s[id], e.owner === self { return e }
    let e = DtlsStashEntry(self)
    s[id] = e
    return e
  }

  /// The datagrams the endpoint asked to send since the last call, in order.
  public func outgoingDatagrams() -> [[UInt8]] {
    drainIntoStash()
    return dtlsStash.withLock { s in
      let e = entry(&s)
      defer { e.datagrams = [] }
      return e.datagrams
    }
  }

  /// The events the endpoint reported since the last call, in order.
  public func reportedEvents() -> [DtlsEvent] {
    drainIntoStash()
    return dtlsStash.withLock { s in
      let e = entry(&s)
      defer { e.events = [] }
      return e.events
    }
  }
}

extension TlsConnection {
  /// The ciphertext the connection asked to write since the last call.
  public func outgoingBytes() -> [UInt8] {
    var out: [UInt8] = []
    while case .transmit(let b) = pollOutput() { out += b }
    return out
  }
}

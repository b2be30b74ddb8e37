// The viewer sessions and their indexes: by id (HTTP hang-up), by local ICE ufrag (STUN), by
// media address (DTLS, SRTCP) and by the address the offer came from (the per-address limit).
import ICE
import Peer
import Wire

/// The viewer sessions, in the order they were created, with the indexes that route requests and
/// datagrams to them. Owns the sessions: they leave only through `removeClosed`.
public struct SessionTable {
  public private(set) var byID: [String: Peer] = [:]
  /// Creation order: /status lists sessions in it, and frames go out in it.
  public private(set) var order: [Peer] = []
  var byUfrag: [String: Peer] = [:]
  var byAddress: [SocketAddress: Peer] = [:]
  /// The host (port 0) each session's offer came from.
  var origin: [String: SocketAddress] = [:]

  public init() {}

  public var count: Int { order.count }
  public subscript(id: String) -> Peer? { byID[id] }

  /// Sessions whose offers came from `host` (an `addressKey`).
  public func count(from host: SocketAddress) -> Int {
    var n = 0
    for (_, h) in origin where h == host { n += 1 }
    return n
  }

  /// Viewers whose media is flowing.
  public var connectedCount: Int {
    var n = 0
    for p in order where p.phase == .connected { n += 1 }
    return n
  }

  public mutating func add(_ peer: Peer, origin host: SocketAddress) {
    byID[peer.id] = peer
    order.append(peer)
    byUfrag[peer.config.localIce.ufrag] = peer
    origin[peer.id] = host
  }

  /// The session a STUN request is for (by the local ufrag of its USERNAME).
  public func session(ufrag: String) -> Peer? { byUfrag[ufrag] }

  /// The session that uses `address` for media (DTLS, SRTCP).
  public func session(address: SocketAddress) -> Peer? { byAddress[address] }

  /// The session's media moved to `address` (its earlier addresses keep routing to it until it
  /// ends: a late retransmission from the old path is still its own).
  public mutating func route(_ address: SocketAddress, to peer: Peer) { byAddress[address] = peer }

  /// Forgets closed sessions; returns whether any was. Cheap when none closed (it runs after
  /// every input): one pass over the list, nothing allocated.
  @discardableResult
  public mutating func removeClosed() -> Bool {
    var anyClosed = false
    for p in order where p.phase == .closed {
      anyClosed = true
      break
    }
    guard anyClosed else { return false }
    for p in order where p.phase == .closed {
      byID[p.id] = nil
      origin[p.id] = nil
      byUfrag[p.config.localIce.ufrag] = nil
      for (addr, owner) in byAddress where owner === p { byAddress[addr] = nil }
    }
    order.removeAll { $0.phase == .closed }
    return true
  }
}

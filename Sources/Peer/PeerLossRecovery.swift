// A viewer's lost packets, sent again as soon as transport feedback says a transmission was lost,
// not only when the viewer's next NACK comes. A browser asks again only about every 100 ms
// (Chrome, measured by `tools/bench adapt` on a 5 % lossy link: 110 ms between its NACKs for one
// packet), so a resend that was lost in turn, or a NACK that was, cost 100 ms each; three in a
// row made a visible freeze. Transport-wide feedback (RTPFB FMT 15) reports every transmission,
// the resends included, as received or not.
import BWE
import RTP

/// Which RTP packet each recent transport-wide number carried, and the transport-wide number of
/// each history packet's latest transmission. Fixed arrays, made once: nothing per packet.
struct TransmissionLog {
  /// Transport-wide numbers remembered: more than are in flight between two feedback reports
  /// (Chrome reports every 50-100 ms; at 2 Mbit/s that is about 20 packets, and 1024 covers a
  /// second at 10 Mbit/s).
  static let slots = 1024
  var carried: [UInt16]
  var numbers: [UInt16]
  var known: [Bool]
  /// Per history slot (`PeerMedia.historySlots`): the latest transmission's number, if any.
  var latest: [UInt16]
  var hasLatest: [Bool]
  /// Per history slot: a transmission of that packet was reported received.
  var arrived: [Bool]

  init() {
    carried = [UInt16](repeating: 0, count: Self.slots)
    numbers = [UInt16](repeating: 0, count: Self.slots)
    known = [Bool](repeating: false, count: Self.slots)
    latest = [UInt16](repeating: 0, count: PeerMedia.historySlots)
    hasLatest = [Bool](repeating: false, count: PeerMedia.historySlots)
    arrived = [Bool](repeating: false, count: PeerMedia.historySlots)
  }

  /// Transport-wide number `transport` carried RTP packet `rtpSequence`.
  mutating func record(transport: UInt16, rtpSequence: UInt16) {
    let i = Int(transport) % Self.slots
    carried[i] = rtpSequence
    numbers[i] = transport
    known[i] = true
    let h = Int(rtpSequence) % PeerMedia.historySlots
    latest[h] = transport
    hasLatest[h] = true
  }

  /// A new packet took the history slot of `rtpSequence`: the old one's transmissions are moot.
  mutating func forget(rtpSequence: UInt16) {
    hasLatest[Int(rtpSequence) % PeerMedia.historySlots] = false
    arrived[Int(rtpSequence) % PeerMedia.historySlots] = false
  }

  /// Whether a transmission of RTP packet `rtpSequence` was reported received.
  func hasArrived(rtpSequence: UInt16) -> Bool {
    let h = Int(rtpSequence) % PeerMedia.historySlots
    return hasLatest[h] && arrived[h]
  }

  /// Transmission `transport` was reported received: its packet needs no resend.
  mutating func delivered(transport: UInt16) {
    let i = Int(transport) % Self.slots
    guard known[i], numbers[i] == transport else { return }
    arrived[Int(carried[i]) % PeerMedia.historySlots] = true
  }

  /// The RTP packet to send again when transmission `transport` is reported lost: the one it
  /// carried, if that transmission is still the packet's latest (a later one may be in flight)
  /// and no transmission of it was reported received.
  func packetToResend(lostTransport transport: UInt16) -> UInt16? {
    let i = Int(transport) % Self.slots
    guard known[i], numbers[i] == transport else { return nil }
    let rtp = carried[i]
    let h = Int(rtp) % PeerMedia.historySlots
    guard hasLatest[h], latest[h] == transport, !arrived[h] else { return nil }
    return rtp
  }
}

extension Peer {
  /// Transport feedback's "not received" entries: each packet whose latest transmission that
  /// was is sent again now (through `resend`: not before the last keyframe, not while the viewer
  /// waits for one, not beyond the queue's bound).
  func resendReportedLost(_ fb: TransportFeedbackView, _ m: PeerMedia) {
    // first what arrived: a packet one of whose transmissions did needs nothing more (a second
    // copy of it is dropped by the browser's SRTP replay check and reported lost in turn; resending
    // that would never end)
    for p in fb.packets where p.arrivalUs != nil { m.transmissions.delivered(transport: p.sequence) }
    for p in fb.packets where p.arrivalUs == nil {
      guard let rtp = m.transmissions.packetToResend(lostTransport: p.sequence) else { continue }
      resend(rtp, m)
    }
  }
}

// The sessions' and forwards' own outputs (handshakes, STUN replies, retransmissions, sender
// reports) carried out through the core, and what their events mean for the server.
import BWE
import CRTCam
import Peer
import Wire

extension ServerCore {
  /// The next datagram some session wants sent; its events are handled on the way. Nil once no
  /// session has anything left.
  func nextSessionOutput() -> CoreOutput? {
    let order = sessions.order
    while sessionCursor < order.count {
      let p = order[sessionCursor]
      switch p.pollOutput() {
      case .transmit(let bytes, let to): return .transmit(bytes, to: .viewer(to))
      case .event(let e): sessionEvent(p, e)
      case .timeout: sessionCursor += 1
      }
    }
    sessionCursor = 0
    sessionsDirty = false
    return nil
  }

  func sessionEvent(_ p: Peer, _ e: PeerEvent) {
    switch e {
    case .phaseChanged(let s):
      if s != .closed { log(.info, "session \(p.id): \(s.name)" + (p.remote.map { " (\($0.description))" } ?? "")) }
    case .keyframeNeeded(let why):
      log(.debug, "session \(p.id): keyframe requested (\(why.text))")
      emit(.capture(.keyframe))
    case .estimateChanged(let bitrate, let at):
      estimateChanged(p, bitrate, now: at)
    case .remoteAddressChanged(let a):
      sessions.route(a, to: p)
      log(.debug, "session \(p.id): media address \(a.description)")
    case .closed(let reason):
      status.metrics.sessionsClosed[reason.code, default: 0] += 1
      status.metrics.addClosed(p.stats)
      let level: LogLevel = reason == .hangUp || reason == .shutdown ? .info : .warn
      log(level, "session \(p.id): closed, \(reason.code): \(reason.message)")
      if p.config.congestion != nil { retargetAfterClose = true }
    }
  }

  /// The next datagram some forward wants sent (a sender report); its events on the way.
  func nextForwardOutput() -> CoreOutput? {
    while forwardCursor < forwards.count {
      let i = forwardCursor
      switch forwards[i].pollOutput() {
      case .transmit(let bytes, let channel): return .transmit(bytes, to: .forward(i, channel))
      case .event(let e): forwardEvent(forwards[i], e)
      case .timeout: forwardCursor += 1
      }
    }
    forwardCursor = 0
    forwardsDirty = false
    return nil
  }

  func forwardEvent(_ f: Forwarder, _ e: ForwardEvent) {
    let url = f.target.url
    switch e {
    case .keyframeNeeded(let why):
      log(.debug, "forward \(url): keyframe requested (\(why.text))")
      emit(.capture(.keyframe))
    case .unreachable(let errno):
      log(.warn, "forward \(url): FORWARD_UNREACHABLE: \(errnoText(errno)); local viewers are not affected, retrying")
    case .recovered(let ns, let restarted):
      log(.info, "forward \(url): target back after \(ns / 1_000_000) ms" + (restarted ? "; SRTP state restarted" : ""))
    case .sendErrors(let count, let errno):
      log(.warn, "forward \(url): \(count) send error(s), the last: \(errnoText(errno)) (logged at most every 10 s)")
    case .srtpFailed(let code):
      log(.error, "forward \(url): \(code)")
    case .estimateChanged(_, let at):
      reviewLayers(now: at)
    }
  }
}

/// The C library's text for an errno value ("Connection refused").
public func errnoText(_ e: Int32) -> String { String(cString: strerror(e)) }

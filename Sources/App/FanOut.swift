// The fan-out of one frame to every media sink: packet by packet across the sinks (each
// viewer gets packet 1 before any gets packet 2), produced one datagram at a time.
import Peer
import RTP
import RTSP
import Wire

/// Which sinks take the current frame, and where the fan-out stands. The lists keep the
/// capacity `reserve` gave them, so a frame allocates nothing.
struct FanOut {
  var viewers: [Peer] = []
  var forwards: [Int] = []
  var rtsp: [RtspClient] = []
  /// The next packet, and the next sink for it (viewers first, then forwards).
  var packet = 0
  var sink = 0
  var active = false
  /// When the frame arrived (the sinks' keyframe bookkeeping uses it).
  var now: UInt64 = 0

  mutating func reserve(viewers v: Int, forwards f: Int, rtsp r: Int) {
    viewers.reserveCapacity(v + 1)
    forwards.reserveCapacity(f + 1)
    rtsp.reserveCapacity(r + 1)
  }

  mutating func begin(viewers all: [Peer], forwards targets: [Forwarder], rtsp clients: [RtspClient],
                      frame: PacketizedFrame, maxBacklog: Int, now: UInt64) {
    viewers.removeAll(keepingCapacity: true)
    forwards.removeAll(keepingCapacity: true)
    rtsp.removeAll(keepingCapacity: true)
    for p in all where p.beginFrame(frame, now: now) { viewers.append(p) }
    for i in 0..<targets.count where targets[i].beginFrame(frame, now: now) { forwards.append(i) }
    var i = 0
    while i < clients.count {
      if clients[i].beginFrame(frame, maxBacklog: maxBacklog, now: now) { rtsp.append(clients[i]) }
      i += 1
    }
    packet = 0
    sink = 0
    self.now = now
    active = !viewers.isEmpty || !forwards.isEmpty || !rtsp.isEmpty
  }

  /// Sinks of the current frame.
  var sinkCount: Int { viewers.count + forwards.count + rtsp.count }
}

extension ServerCore {
  /// The next datagram of the current frame; nil when the frame is done (the sinks are told, and
  /// what they then have to say is looked at).
  func nextFramePacket() -> CoreOutput? {
    let sinks = fanOut.sinkCount
    let rtspStart = fanOut.viewers.count + fanOut.forwards.count
    while fanOut.packet < frame.count {
      if fanOut.sink >= sinks {
        fanOut.sink = 0
        fanOut.packet += 1
        continue
      }
      let s = fanOut.sink
      fanOut.sink += 1
      if s < fanOut.viewers.count {
        let p = fanOut.viewers[s]
        if let to = p.remote, let bytes = p.mediaPacket(frame, fanOut.packet) { return .transmit(bytes, to: .viewer(to)) }
      } else if s < rtspStart {
        let i = fanOut.forwards[s - fanOut.viewers.count]
        if let bytes = forwards[i].mediaPacket(frame, fanOut.packet) { return .transmit(bytes, to: .forward(i, .rtp)) }
      } else {
        let c = fanOut.rtsp[s - rtspStart]
        if let bytes = c.sender?.mediaPacket(frame, fanOut.packet), let to = c.destination(rtcp: false) {
          if case .rtspConnection = to { c.backlog += bytes.count }
          return .transmit(bytes, to: to)
        }
      }
    }
    finishFrame(now: fanOut.now)
    return nil
  }

  /// Tells every sink of the current frame that it is over.
  func finishFrame(now: UInt64) {
    for p in fanOut.viewers { p.endFrame(frame, now: now) }
    for i in fanOut.forwards { forwards[i].endFrame(frame, now: now) }
    var i = 0
    while i < fanOut.rtsp.count {
      fanOut.rtsp[i].sender?.endFrame()
      i += 1
    }
    fanOut.viewers.removeAll(keepingCapacity: true)
    fanOut.forwards.removeAll(keepingCapacity: true)
    fanOut.rtsp.removeAll(keepingCapacity: true)
    fanOut.active = false
    sessionsDirty = true
    forwardsDirty = true
  }
}

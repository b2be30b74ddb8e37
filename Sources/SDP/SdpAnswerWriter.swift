// Writing the answer text (RFC 8866 syntax, CRLF line ends): session lines, the accepted video
// section, every other section rejected (RFC 3264 section 6: port 0), host candidates (RFC 8839).
import Wire

/// The answer's lines for `offer`, with `a` accepted.
func answerText(_ offer: SdpOffer, _ a: AcceptedVideo, _ p: AnswerParameters) -> String {
  var w = LineWriter()
  w.add("v=0")
  w.add("o=- " + String(p.sessionID) + " 2 IN IP4 127.0.0.1")
  w.add("s=-")
  w.add("t=0 0")
  w.add("a=ice-lite")
  if a.bundled { w.add("a=group:BUNDLE " + a.mid) }
  w.add("a=msid-semantic: WMS " + p.streamID)
  for (i, m) in offer.media.enumerated() {
    if i == a.index {
      w.videoSection(a, p)
    } else {
      w.rejectedSection(m)
    }
  }
  return w.text
}

struct LineWriter: Sendable {
  var text = ""
  mutating func add(_ line: String) {
    text += line
    text += "\r\n"
  }

  /// Rejected: same kind and proto, port 0, first format echoed.
  mutating func rejectedSection(_ m: SdpMedia) {
    let fmt = m.formats.first ?? "0"
    add("m=" + m.kind + " 0 " + m.proto + " " + fmt)
    add("c=IN IP4 0.0.0.0")
    if let omid = m.mid { add("a=mid:" + omid) }
    add("a=inactive")
  }

  /// The accepted video section: our transport, sendonly, the one H.264 payload type with the
  /// feedback and extension accepted, our stream's SSRC, the candidates.
  mutating func videoSection(_ a: AcceptedVideo, _ p: AnswerParameters) {
    let v = a.section
    let pt = String(a.codec.payloadType)
    add("m=video 9 " + v.proto + " " + pt)
    add("c=IN IP4 0.0.0.0")
    if v.mid != nil { add("a=mid:" + a.mid) }
    add("a=ice-ufrag:" + p.iceUfrag)
    add("a=ice-pwd:" + p.icePassword)
    add("a=fingerprint:sha-256 " + p.fingerprintSHA256)
    add("a=setup:active")
    add("a=sendonly")
    add("a=rtcp-mux")
    if v.rtcpReducedSize { add("a=rtcp-rsize") }
    extmaps(a)
    add("a=rtpmap:" + pt + " H264/90000")
    if a.nack { add("a=rtcp-fb:" + pt + " nack") }
    if a.pli { add("a=rtcp-fb:" + pt + " nack pli") }
    if a.fir { add("a=rtcp-fb:" + pt + " ccm fir") }
    if a.remb { add("a=rtcp-fb:" + pt + " goog-remb") }
    if a.transportSequence != nil { add("a=rtcp-fb:" + pt + " transport-cc") }
    add("a=fmtp:" + pt + " " + answeredH264Fmtp)
    add("a=msid:" + p.streamID + " " + p.trackID)
    let ssrc = String(p.ssrc)
    add("a=ssrc:" + ssrc + " cname:" + p.cname)
    add("a=ssrc:" + ssrc + " msid:" + p.streamID + " " + p.trackID)
    var index = 0
    for c in p.candidates where c.ip.count == 4 || c.ip.count == 16 {
      add(candidateLine(index: index, address: c))
      index += 1
    }
    add("a=end-of-candidates")
  }
}

extension LineWriter {
  /// The accepted header extensions (RFC 8285 section 5) in id order, with the offer's ids; one
  /// the offerer only receives (recvonly) is answered sendonly.
  mutating func extmaps(_ a: AcceptedVideo) {
    var accepted: [SdpExtmap] = []
    if let e = a.playout { accepted.append(e) }
    if let e = a.transportSequence { accepted.append(e) }
    accepted.sort { $0.id < $1.id }
    for e in accepted {
      let dir = e.direction == "recvonly" ? "/sendonly" : ""
      add("a=extmap:" + String(e.id) + dir + " " + e.uri)
    }
  }
}

/// `a=candidate:<foundation> 1 udp <priority> <ip> <port> typ host` with a distinct foundation
/// and priority per address (RFC 8445 5.1.2: type preference 126 for host, local preference
/// falling with the index, component 1).
func candidateLine(index: Int, address: SocketAddress) -> String {
  let localPreference = 65535 - (index & 0xffff)
  let priority = (126 << 24) + (localPreference << 8) + 255
  return "a=candidate:" + String(index + 1) + " 1 udp " + String(priority) + " " + address.ipString
    + " " + String(address.port) + " typ host"
}

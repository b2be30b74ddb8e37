// fuzz-target: rtsp
// fuzz-modules: RTSP
// fuzz-summary: RTSP/1.0 requests and interleaved frames (RtspInput in chunks), Transport, the session
//
// Input: byte 0 is a control byte, the rest is what a client sends on one RTSP connection.
//   bit 0     small limits (256-byte head, 64-byte body, 8 headers, 1024 bytes buffered)
//   bits 1-7  seed of the chunk sizes the bytes arrive in (1...64 bytes, or all at once for 0)
// Invariants:
// - the same bytes give the same requests, frames and error whether they arrive at once or in
//   chunks (unless the buffer bound refused input in one of the feedings);
// - every request has an upper-case method token, a CSeq, at most maxHeaders headers with
//   lower-case names, a body within the limit; every frame is at most 65535 bytes;
// - errors carry a 4xx or 505 status;
// - every request, fed to a session (authorized or not), gives exactly one response echoing its
//   CSeq, with a status RFC 2326 defines, and a PLAY action only from a session that was SET UP;
//   a Transport header never makes a transport with equal RTP and RTCP ports or channels.
@testable import RTSP
import Wire

enum Item: Equatable {
  case request(String, Int, Int)  // method text, cseq, body length
  case frame(UInt8, Int)
  case error(Int, String)
}

func methodText(_ m: RtspMethod) -> String {
  switch m {
  case .other(let t): return t
  default: return String(describing: m)
  }
}

func feed(_ chunks: [ArraySlice<UInt8>], _ limits: RtspLimits) -> (items: [Item], refused: Bool, requests: [RtspRequest]) {
  var input = RtspInput(limits: limits)
  var items: [Item] = []
  var requests: [RtspRequest] = []
  var refused = false
  outer: for c in chunks {
    let ok = Array(c).withUnsafeBytes { input.receive($0) }
    if !ok { refused = true; break }
    var rounds = 0
    while rounds < 10_000 {
      rounds += 1
      switch input.next() {
      case .needMore: continue outer
      case .request(let r):
        invariant(r.cseq >= 0, "negative CSeq")
        invariant(r.headers.count <= limits.maxHeaders, "too many headers")
        invariant(r.body.count <= limits.maxBodyBytes, "body over the limit")
        for h in r.headers { invariant(h.name == h.name.asciiLowercased, "header name not lower-case: " + h.name) }
        items.append(.request(methodText(r.method), r.cseq, r.body.count))
        requests.append(r)
      case .interleaved(let ch, let p):
        invariant(p.count <= 65_535, "frame over 65535 bytes")
        items.append(.frame(ch, p.count))
      case .error(let e):
        invariant((400...499).contains(e.status) || e.status == 505, "error status " + String(e.status))
        items.append(.error(e.status, e.code))
        break outer
      }
    }
    invariant(false, "next() did not settle within 10000 calls")
  }
  return (items, refused, requests)
}

let rtspStatuses: Set<Int> = [200, 401, 404, 454, 455, 461, 501]

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
  let bytes = fuzzInput(data, size)
  guard let control = bytes.first else { return 0 }
  let body = bytes[1...]
  var limits = RtspLimits()
  if control & 1 != 0 {
    limits.maxHeadBytes = 256
    limits.maxBodyBytes = 64
    limits.maxHeaders = 8
    limits.maxBufferedBytes = 1024
  }
  let whole = feed([body], limits)
  var chunks: [ArraySlice<UInt8>] = []
  var rng = FuzzRandom(seed: UInt64(control >> 1))
  var i = body.startIndex
  while i < body.endIndex {
    let n = control >> 1 == 0 ? body.count : Int(rng.next() % 64) + 1
    let e = min(body.endIndex, i + n)
    chunks.append(body[i..<e])
    i = e
  }
  let pieces = feed(chunks, limits)
  if !whole.refused && !pieces.refused {
    invariant(whole.items == pieces.items, "chunked input gave other items")
  }
  for authorized in [true, false] {
    var s = RtspSession(id: "F00D", now: 0)
    let stream = RtspStreamState(sdp: rtspDescribeSdp(sessionId: "1", sps: nil, pps: nil), nextSequence: 1,
      nextTimestamp: 2, ssrc: 3)
    for r in whole.requests {
      let wasSetUp = s.phase != .initial
      let actions = s.handle(r, authorized: authorized, stream: stream, now: 0)
      var responses = 0
      for a in actions {
        switch a {
        case .respond(let resp):
          responses += 1
          invariant(resp.cseq == r.cseq, "response CSeq differs")
          invariant(rtspStatuses.contains(resp.status), "status " + String(resp.status))
        case .play(let t):
          invariant(wasSetUp, "PLAY without SETUP started the stream")
          switch t {
          case .interleaved(let a, let b): invariant(a != b, "equal channels")
          case .udp(let a, let b): invariant(a != b && a > 0, "bad ports")
          }
        case .pause, .close: break
        }
      }
      invariant(responses == 1, "not exactly one response")
    }
  }
  return 0
}

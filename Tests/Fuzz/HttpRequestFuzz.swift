// fuzz-target: http
// fuzz-modules: HTTP
// fuzz-summary: HTTP/1.1 request parser (HttpConnection.receive in chunks, poll, checkTimeout)
//
// Input: byte 0 is a control byte, the rest is what a client sends on one connection.
//   bit 0     small limits (256-byte head, 128-byte body, 8 headers, 2 requests per call,
//             512 bytes buffered) instead of the server's defaults
//   bits 1-7  seed of the chunk sizes the bytes arrive in (1...64 bytes, or all at once for 0)
// Invariants:
// - the same bytes give the same requests and the same final error whether they arrive all at
//   once or in chunks (except PIPELINE_OVERFLOW, which depends on what is buffered per call: then
//   the requests before it must be a prefix of the other feeding's);
// - `poll` drains `hasBufferedInput` in a bounded number of calls; an error finishes the
//   connection, and later input repeats that error;
// - every request is well formed (tchar method, HTTP/1.0 or 1.1, header names lower-case tchar,
//   values without control characters or surrounding blanks, body within the limit, at most
//   maxHeaderCount headers, origin-form path or "*"), and re-serialized it parses to itself;
// - errors have one of the documented statuses; once the deadlines pass, checkTimeout reports
//   (or the connection is finished).
@testable import HTTP
import Wire

struct RequestSnapshot: Equatable {
  var method: String
  var target: String
  var path: String
  var query: String?
  var version: String
  var headers: [String]
  var body: [UInt8]

  init(_ r: HttpRequest) {
    method = r.method
    target = r.target
    path = r.path
    query = r.query
    version = r.version
    headers = r.headers.flatMap { [$0.name, $0.value] }
    body = r.body
  }
}

struct Outcome {
  var requests: [RequestSnapshot] = []
  var error: HttpError? = nil
  var finished = false
}

let allowedErrorStatuses: Set<Int> = [400, 408, 411, 413, 414, 417, 431, 501, 505]

func smallLimits() -> HttpLimits {
  var l = HttpLimits()
  l.maxHeaderBytes = 256
  l.maxBodyBytes = 128
  l.maxHeaderCount = 8
  l.maxRequestsPerReceive = 2
  l.maxBufferedBytes = 512
  return l
}

func checkRequest(_ r: HttpRequest, _ limits: HttpLimits) {
  invariant(!r.method.isEmpty && r.method.utf8.allSatisfy(isTchar), "method not a token: " + r.method)
  invariant(r.version == "HTTP/1.1" || r.version == "HTTP/1.0", "version " + r.version)
  invariant(r.body.count <= limits.maxBodyBytes, "body over the limit: " + String(r.body.count))
  invariant(r.headers.count <= limits.maxHeaderCount, "too many headers: " + String(r.headers.count))
  invariant(r.path == "*" || r.path.utf8.first == UInt8(ascii: "/"), "path " + r.path)
  invariant(r.target.utf8.allSatisfy { $0 > 32 && $0 < 127 }, "target has blanks or controls")
  for h in r.headers {
    invariant(!h.name.isEmpty && h.name.utf8.allSatisfy { isTchar($0) && !($0 >= 65 && $0 <= 90) },
              "header name " + h.name)
    invariant(!h.value.utf8.contains { ($0 < 32 && $0 != 9) || $0 == 127 }, "control byte in a header value")
    invariant(h.value.utf8.first != 32 && h.value.utf8.first != 9 && h.value.utf8.last != 32
              && h.value.utf8.last != 9, "header value not trimmed")
  }
  if r.version == "HTTP/1.1" {
    invariant(r.headerValues("host").count == 1, "HTTP/1.1 request without exactly one Host")
  }
  invariant(r.header("transfer-encoding") == nil, "request with Transfer-Encoding accepted")
  if let cl = r.header("content-length"), let n = parseContentLength(cl) {
    invariant(n == r.body.count, "body length differs from Content-Length")
  }
  // Written out again, it parses to the same request.
  // (roomy head limit: invalid UTF-8 in values comes back as U+FFFD, 3 bytes for 1)
  var roomy = HttpLimits()
  roomy.maxHeaderBytes = 1 << 30
  var re = HttpConnection(limits: roomy, now: 0)
  switch re.receive(serialize(r), now: 0) {
  case .requests(let rs):
    invariant(RequestSnapshot(rs[0]) == RequestSnapshot(r), "re-serialized request parses differently")
  case .error(let e):
    invariant(false, "re-serialized request rejected: " + e.code + " " + e.message)
  case .needMore:
    invariant(false, "re-serialized request incomplete")
  }
}

/// The request as bytes again: LF line ends, "name:value" headers, the body.
func serialize(_ r: HttpRequest) -> [UInt8] {
  var out = Array((r.method + " " + r.target + " " + r.version + "\n").utf8)
  for h in r.headers { out += Array((h.name + ":" + h.value + "\n").utf8) }
  out.append(10)
  out += r.body
  return out
}

/// Feeds `chunks` to a fresh connection, draining with poll, and checks the loop contract.
func run(_ chunks: [ArraySlice<UInt8>], _ limits: HttpLimits, checkEach: Bool) -> Outcome {
  var c = HttpConnection(limits: limits, now: 0)
  var o = Outcome()
  func take(_ r: HttpReceiveResult) {
    switch r {
    case .requests(let rs):
      invariant(!rs.isEmpty, "empty .requests")
      invariant(rs.count <= max(1, limits.maxRequestsPerReceive), "more requests than the per-call bound")
      invariant(o.error == nil, "requests after an error")
      for q in rs {
        if checkEach { checkRequest(q, limits) }
        o.requests.append(RequestSnapshot(q))
      }
    case .error(let e):
      invariant(allowedErrorStatuses.contains(e.status), "undocumented status " + String(e.status))
      invariant(!e.code.isEmpty, "error without code")
      if let first = o.error {
        invariant(first == e, "a second, different error: " + first.code + " then " + e.code)
      }
      o.error = e
      invariant(c.isFinished, "not finished after an error")
    case .needMore:
      break
    }
  }
  var total = 0
  for chunk in chunks {
    total += chunk.count
    let finishedBefore = c.isFinished
    let r = chunk.withUnsafeBytes { c.receive($0, now: 0) }
    if finishedBefore {
      // a finished connection ignores input; after an error it repeats the error
      switch r {
      case .requests: invariant(false, "requests from a finished connection")
      case .error(let e): invariant(o.error == e, "a different error after finishing")
      case .needMore: invariant(o.error == nil, "an errored connection answered needMore")
      }
      continue
    }
    take(r)
    var polls = 0
    while c.hasBufferedInput {
      polls += 1
      invariant(polls <= total + 2, "poll does not drain hasBufferedInput")
      take(c.poll(now: 0))
    }
    invariant(c.buf.count - c.pos <= max(limits.maxBufferedBytes, limits.maxHeaderBytes + limits.maxBodyBytes) + chunk.count,
              "buffered input beyond the limit")
  }
  o.finished = c.isFinished
  if checkEach {
    _ = c.takeInterimResponse()
    invariant(c.takeInterimResponse() == nil, "interim response handed out twice")
    // Once every deadline has passed the connection is closed one way or the other.
    let late: UInt64 = 1 << 62
    if let t = c.checkTimeout(now: late) {
      if case .error(let e) = t { invariant(e.status == 408, "timeout with status " + String(e.status)) }
      invariant(c.isFinished, "not finished after a timeout")
      invariant(c.nextDeadline == nil, "deadline after a timeout")
    } else {
      invariant(c.nextDeadline == nil, "deadline passed without a timeout")
    }
  }
  return o
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
  guard size >= 1 else { return 0 }
  let input = fuzzInput(data, size)
  let control = input[0]
  let stream = input[1...]
  let limits = control & 1 != 0 ? smallLimits() : HttpLimits()

  // All at once, then in chunks.
  let whole = run([stream], limits, checkEach: true)
  var chunks: [ArraySlice<UInt8>] = []
  var rng = FuzzRandom(seed: UInt64(control >> 1))
  var at = stream.startIndex
  while at < stream.endIndex {
    let n = control >> 1 == 0 ? stream.count : 1 + rng.below(64)
    let end = min(stream.endIndex, at + n)
    chunks.append(stream[at..<end])
    at = end
  }
  let pieces = run(chunks, limits, checkEach: true)

  let overflow = whole.error?.code == "PIPELINE_OVERFLOW" || pieces.error?.code == "PIPELINE_OVERFLOW"
  if overflow {
    let (short, long) = whole.requests.count <= pieces.requests.count ? (whole, pieces) : (pieces, whole)
    invariant(Array(long.requests.prefix(short.requests.count)) == short.requests,
              "requests before PIPELINE_OVERFLOW differ between feedings")
  } else {
    invariant(whole.requests == pieces.requests,
              "chunking changed the requests (" + String(whole.requests.count) + " vs " + String(pieces.requests.count) + ")")
    invariant(whole.error == pieces.error,
              "chunking changed the error: " + (whole.error?.code ?? "none") + " vs " + (pieces.error?.code ?? "none"))
    invariant(whole.finished == pieces.finished, "chunking changed whether the connection finished")
  }

  return 0
}

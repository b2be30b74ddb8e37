// Sans-IO HTTP/1.1 connection state: incremental request parsing with hard limits and deadlines.
//
// Decisions (tested in HTTPTests):
// - Lines may end in CRLF or a bare LF (RFC 9112 §2.2 permits accepting LF); a CR that is not
//   directly followed by LF is rejected (400 BAD_REQUEST / BAD_HEADER).
// - Empty lines before a request line are ignored (RFC 9112 §2.2) but count toward maxHeaderBytes.
// - Chunked request bodies are not supported: `Transfer-Encoding: chunked` answers 411 (send
//   Content-Length), any other transfer coding 501; Transfer-Encoding together with
//   Content-Length answers 400 (request smuggling).
// - An HTTP/1.1 request must carry exactly one Host header (RFC 9112 §3.2).
// - `Expect: 100-continue` queues an interim "100 Continue" (see `takeInterimResponse`);
//   any other expectation answers 417.
import Wire

/// What `HttpConnection.receive` produced.
public enum HttpReceiveResult: Sendable {
  /// Complete requests, in order (at most `HttpLimits.maxRequestsPerReceive`).
  case requests([HttpRequest])
  /// The input is unacceptable: answer `HttpResponse(error:)` with `keepAlive: false`, then close.
  case error(HttpError)
  /// No complete request yet.
  case needMore
}

/// What `HttpConnection.checkTimeout` found.
public enum HttpTimeout: Equatable, Sendable {
  /// A header or body deadline passed (408): answer it, then close.
  case error(HttpError)
  /// The connection sat idle too long: close it silently.
  case idle
}

/// One client connection's protocol state (sans-IO). The event loop feeds received bytes and the
/// current monotonic time and asks what to do; it owns the socket and writes the responses.
///
/// Loop contract: call `receive` with each read; answer every returned request in order; while
/// `hasBufferedInput` is true, call `poll(now:)` (pipelined requests beyond the per-call bound,
/// or an error found after earlier requests); call `checkTimeout` when `nextDeadline` passes;
/// close after answering an `.error` or a request whose `keepAlive` is false (the connection
/// ignores any later input then).
public struct HttpConnection: Sendable {
  enum Phase: Sendable {
    case idle  // between requests (or fresh): no byte of the next request yet
    case head  // reading request line and headers
    case body  // reading Content-Length body bytes
    case done  // answered a non-keep-alive request; input is ignored
    case closed  // an error or timeout was reported; input is ignored
  }

  public let limits: HttpLimits
  var phase: Phase = .idle
  /// Received, unconsumed bytes; `buf[pos...]` is the input not yet turned into requests.
  var buf: [UInt8] = []
  var pos = 0
  /// Head parsing: next byte to scan and start of the current line (absolute indices in `buf`).
  var scan = 0
  var lineStart = 0
  var sawRequestLine = false
  var method = ""
  var target = ""
  var path = ""
  var query: String? = nil
  var version = ""
  var headers: [(name: String, value: String)] = []
  var bodyLength = 0
  /// Timers.
  var fresh = true
  var idleSince: UInt64
  var headStart: UInt64 = 0
  var bodyStart: UInt64 = 0
  /// An error found after requests were already returned in the same call.
  var pendingError: HttpError? = nil
  var failure: HttpError? = nil
  var stoppedAtBound = false
  var interim: [UInt8]? = nil

  /// A fresh connection accepted at `now`.
  public init(limits: HttpLimits, now: UInt64) {
    self.limits = limits
    self.idleSince = now
  }

  /// Feeds bytes read from the socket. Returns up to `limits.maxRequestsPerReceive` complete
  /// requests, an error after which the connection must answer and close, or `.needMore`.
  public mutating func receive(_ bytes: UnsafeRawBufferPointer, now: UInt64) -> HttpReceiveResult {
    switch phase {
    case .done, .closed:
      return failure.map { .error($0) } ?? .needMore
    default:
      buf.append(contentsOf: bytes)
      return process(now: now)
    }
  }

  /// `receive` for a byte array.
  public mutating func receive(_ bytes: [UInt8], now: UInt64) -> HttpReceiveResult {
    bytes.withUnsafeBytes { receive($0, now: now) }
  }

  /// Continues with buffered input without new bytes (see `hasBufferedInput`).
  public mutating func poll(now: UInt64) -> HttpReceiveResult {
    switch phase {
    case .done, .closed: return failure.map { .error($0) } ?? .needMore
    default: return process(now: now)
    }
  }

  /// True when `poll` would make progress: more pipelined requests were held back by the
  /// per-call bound, or an error follows the requests already returned.
  public var hasBufferedInput: Bool {
    switch phase {
    case .done, .closed: return false
    default: return pendingError != nil || (stoppedAtBound && pos < buf.count)
    }
  }

  /// True once the connection will accept no more requests (after an error, a timeout or a
  /// non-keep-alive request): close it after writing what is pending.
  public var isFinished: Bool {
    switch phase {
    case .done, .closed: return true
    default: return false
    }
  }

  /// Bytes to write before the next response ("HTTP/1.1 100 Continue" after a head with
  /// `Expect: 100-continue`), once; nil when there are none.
  public mutating func takeInterimResponse() -> [UInt8]? {
    defer { interim = nil }
    return interim
  }

  /// The next instant at which `checkTimeout` has something to report, if any.
  public var nextDeadline: UInt64? {
    switch phase {
    case .idle: return addSat(idleSince, fresh ? limits.headerTimeoutNs : limits.idleTimeoutNs)
    case .head: return addSat(headStart, limits.headerTimeoutNs)
    case .body: return addSat(bodyStart, limits.bodyTimeoutNs)
    // bounds how long the loop may spend writing the last response to a client that does not read
    case .done: return addSat(idleSince, limits.idleTimeoutNs)
    case .closed: return nil
    }
  }

  /// Checks the deadlines: 408 once the head or body deadline passed (answer, then close),
  /// `.idle` once a keep-alive (or fresh, silent) connection waited too long (close silently).
  /// Reports once; the connection is finished afterwards.
  public mutating func checkTimeout(now: UInt64) -> HttpTimeout? {
    guard let deadline = nextDeadline, now >= deadline else { return nil }
    switch phase {
    case .head:
      let e = HttpError(status: 408, code: "REQUEST_TIMEOUT", message: "request header not received in time")
      fail(e)
      return .error(e)
    case .body:
      let e = HttpError(status: 408, code: "REQUEST_TIMEOUT", message: "request body not received in time")
      fail(e)
      return .error(e)
    default:
      phase = .closed
      release()
      return .idle
    }
  }

}

/// 1*DIGIT without sign or spaces, overflow-checked (at most Int.max); nil otherwise.
func parseContentLength(_ s: String) -> Int? {
  var v = 0
  var any = false
  for c in s.utf8 {
    guard c >= 48 && c <= 57 else { return nil }
    let (m, o1) = v.multipliedReportingOverflow(by: 10)
    let (a, o2) = m.addingReportingOverflow(Int(c - 48))
    guard !o1, !o2 else { return nil }
    v = a
    any = true
  }
  return any ? v : nil
}

@inline(__always) func addSat(_ a: UInt64, _ b: UInt64) -> UInt64 {
  let (v, o) = a.addingReportingOverflow(b)
  return o ? UInt64.max : v
}

// The connection table's request path: bytes read become requests, each answered in order by
// the routes, with keep-alive, pipelining and clients that wait for a JPEG; and its deadlines.
import HTTP
import Wire

extension HttpServer {
  /// Bytes read from the connection: parses them and answers every complete request with
  /// `handler` (request, client address, came over TLS), in order. Keep-alive holds while the
  /// request asks for it and the answer is not a server error (a 5xx may leave the server's view
  /// of the connection uncertain); otherwise, and after a parse error, the connection stops
  /// reading and closes once its output is flushed.
  public mutating func received(
    _ id: ConnectionID, _ bytes: UnsafeRawBufferPointer, now: UInt64,
    handler: (HttpRequest, SocketAddress, Bool) -> HttpReply
  ) {
    guard let i = index(of: id), !clients[i].closeAfterWrite, clients[i].waiting == nil else {
      // a stream client has nothing more to ask; what it (or a closing client) sends is dropped
      return
    }
    let streamsBefore = streamClients
    let canStream = streamsBefore < limits.maxStreamClients
    let first = clients[i].conn.receive(bytes, now: now)
    if let interim = clients[i].conn.takeInterimResponse() { emit(.write(id, interim)) }
    answer(first, at: i, now: now, canStream: canStream, handler: handler)
    var rounds = 0
    while clients[i].conn.hasBufferedInput && !clients[i].closeAfterWrite && clients[i].waiting == nil
      && rounds < limits.pipelineRounds
    {
      answer(clients[i].conn.poll(now: now), at: i, now: now, canStream: canStream, handler: handler)
      rounds += 1
    }
    // a waiting snapshot answers last: what was pipelined behind it is dropped, and the answer
    // then says Connection: close (the client asks again)
    if case .snapshot(let q, let since, _, let head) = clients[i].waiting, clients[i].conn.hasBufferedInput {
      clients[i].waiting = .snapshot(quality: q, since: since, keepAlive: false, isHead: head)
    }
    if case .stream = clients[i].waiting { emit(.streamClients(streamsBefore + 1)) }
  }

  mutating func answer(
    _ result: HttpReceiveResult, at i: Int, now: UInt64, canStream: Bool,
    handler: (HttpRequest, SocketAddress, Bool) -> HttpReply
  ) {
    let id = clients[i].id, peer = clients[i].peer
    switch result {
    case .needMore: break
    case .error(let e):
      emit(.log(.debug, "HTTP \(peer.description): \(e.status) \(e.code): \(e.message)"))
      emit(.write(id, HttpResponse(error: e).serialize(keepAlive: false)))
      emit(.answered(status: e.status))
      clients[i].closeAfterWrite = true
    case .requests(let reqs):
      clients[i].lastActive = now
      for (n, req) in reqs.enumerated() {
        let resp: HttpResponse
        switch handler(req, peer, clients[i].secure) {
        case .now(let r): resp = r
        case .snapshot(let q):
          emit(.log(.debug, "HTTP \(peer.description) \(req.method) \(req.path) → waits for a frame"))
          clients[i].waiting = .snapshot(quality: q, since: now, keepAlive: req.keepAlive && n == reqs.count - 1,
            isHead: req.isHead)
          emit(.snapshotWanted(quality: q))
          return
        case .stream where !canStream:
          resp = HttpResponse.error(503, code: "TOO_MANY_STREAMS",
            message: "the most MJPEG streams at once are open (--max-stream-clients)")
        case .file(let head, let path, let offset, let length):
          emit(.log(.debug, "HTTP \(peer.description) \(req.method) \(req.path) → \(head.status), \(length) bytes"))
          let keep = req.keepAlive && n == reqs.count - 1
          emit(.write(id, head.serialize(keepAlive: keep, isHead: req.isHead, bodyLength: length)))
          if req.isHead || length == 0 {
            if !keep { clients[i].closeAfterWrite = true }
            return
          }
          clients[i].waiting = .file(keepAlive: keep)
          emit(.sendFile(id, path: path, offset: offset, length: length))
          return
        case .stream:
          emit(.log(.info, "HTTP \(peer.description) \(req.method) \(req.path) → MJPEG stream"))
          clients[i].waiting = .stream(busy: true)
          emit(.streamStarted(id))
          emit(.write(id, Self.streamHead()))
          return
        }
        let level: LogLevel = resp.status >= 400 ? .info : .debug
        emit(.log(level, "HTTP \(peer.description) \(req.method) \(req.path) → \(resp.status)"))
        let keep = req.keepAlive && resp.status < 500
        emit(.write(id, resp.serialize(keepAlive: keep, isHead: req.isHead)))
        if !keep {
          clients[i].closeAfterWrite = true
          break
        }
      }
    }
  }

  /// Deadlines: a snapshot that waited too long gets 503; a request head or body that did not
  /// arrive in time gets its 408 and the connection closes right after it; an idle keep-alive
  /// connection closes silently.
  public mutating func handleTimeout(now: UInt64) {
    // (runs after every wake-up: nothing is looked at, and nothing allocated, before a deadline)
    guard let due = nextDeadline, now >= due else { return }
    var i = 0
    while i < clients.count {
      if expire(at: i, now: now) { clients.remove(at: i) } else { i += 1 }
    }
  }

  /// One connection's deadlines; true when it is gone from the table.
  mutating func expire(at i: Int, now: UInt64) -> Bool {
    let id = clients[i].id
    if case .snapshot(_, let since, let keep, let head) = clients[i].waiting {
      guard now &- since >= limits.snapshotTimeoutNs else { return false }
      let r = HttpResponse.error(503, code: "NO_FRAME", message: "the source delivered no frame within "
        + String(limits.snapshotTimeoutNs / 1_000_000_000) + " s (see /status)")
      emit(.write(id, r.serialize(keepAlive: keep, isHead: head)))
      emit(.answered(status: 503))
      clients[i].waiting = nil
      clients[i].lastActive = now
      if !keep { clients[i].closeAfterWrite = true }
      return false
    }
    guard clients[i].waiting == nil, let d = clients[i].conn.nextDeadline, now >= d,
      let t = clients[i].conn.checkTimeout(now: now)
    else { return false }
    if case .error(let e) = t {
      // Best effort: a client this slow gets its 408 if the socket takes it now, then the close.
      emit(.write(id, HttpResponse(error: e).serialize(keepAlive: false)))
      emit(.answered(status: e.status))
    }
    emit(.close(id))
    return true
  }
}

// GET /recordings and GET /recordings/NAME.mp4 in the core: the listing from the recording
// thread's report, the file handed to the runtime (with Range), names of any other form refused,
// access control like every route, and /status.
import Foundation
import HTTP
import Testing

@testable import App
@testable import Record

@Suite struct RecordingRouteTests {
  let closed = RecordingEntry(name: "2026-12-06T18-46-36Z.mp4", startUnixSeconds: 1_796_582_796, durationMs: 60_033,
    bytes: 6_000_000)
  let open = RecordingEntry(name: "2026-12-06T18-47-36Z.mp4", startUnixSeconds: 1_796_582_856, durationMs: 12_000,
    bytes: 1_200_000)

  func core(_ configure: (inout ServeOptions) -> Void = { _ in }) throws -> CoreHarness {
    let h = try makeCore {
      $0.recordDir = "/rec"
      configure(&$0)
    }
    var r = RecorderReport(dir: "/rec")
    r.entries = [closed]
    r.open = open
    r.phase = .recording(name: open.name)
    h.core.handleRecorder(r)
    return h
  }

  /// The file the runtime was asked to send on `id`.
  func sentFile(_ h: CoreHarness, _ req: HttpRequest) -> (ConnectionID, [ConnectionAction]) {
    let id = h.nextConnection
    h.nextConnection += 1
    h.core.handleConnection(.accepted(id, peer: loopback, secure: false), now: 1)
    var actions: [ConnectionAction] = []
    wireBytes(req).withUnsafeBytes { h.core.handleConnection(.received(id, $0), now: 1) }
    while true {
      switch h.core.pollOutput() {
      case .connection(let a): actions.append(a)
      case .timeout: return (id, actions)
      default: continue
      }
    }
  }

  @Test func theListingHasEverySegmentTheOpenOneLast() throws {
    let h = try core()
    let r = h.handle(request("GET", "/recordings"), now: 1)
    #expect(r.status == 200)
    let list = try JSONSerialization.jsonObject(with: Data(r.body)) as! [[String: Any]]
    #expect(list.map { $0["name"] as! String } == [closed.name, open.name])
    #expect(list[0]["bytes"] as! Int == 6_000_000 && list[0]["duration"] as! Double == 60.033)
  }

  @Test func aSegmentIsHandedToTheRuntimeWholeOrByRange() throws {
    let h = try core()
    let (id, whole) = sentFile(h, request("GET", "/recordings/" + closed.name))
    #expect(whole.contains(ConnectionAction.sendFile(id, path: "/rec/" + closed.name, offset: 0, length: 6_000_000)))
    guard case .write(_, let head)? = whole.first else { Issue.record("no head"); return }
    let text = String(decoding: head, as: UTF8.self)
    #expect(text.hasPrefix("HTTP/1.1 200 OK") && text.contains("Content-Length: 6000000") && text.contains("video/mp4"))
    #expect(!h.core.http.wantsInput(id), "no requests are read while the file goes out")
    h.core.handleConnection(.flushed(id), now: 2)
    #expect(h.core.http.wantsInput(id), "keep-alive after it")
    let (id2, part) = sentFile(h, request("GET", "/recordings/" + open.name, headers: [("Range", "bytes=1000-")]))
    #expect(part.contains(ConnectionAction.sendFile(id2, path: "/rec/" + open.name, offset: 1000, length: 1_199_000)))
    guard case .write(_, let head2)? = part.first else { Issue.record("no head"); return }
    #expect(String(decoding: head2, as: UTF8.self).contains("Content-Range: bytes 1000-1199999/1200000"))
    let r = h.handle(request("GET", "/recordings/" + closed.name, headers: [("Range", "bytes=7000000-")]), now: 3)
    #expect(r.status == 416 && r.header("Content-Range") == "bytes */6000000")
  }

  @Test func onlyListedNamesOfTheSegmentFormAreServed() throws {
    let h = try core()
    for path in ["/recordings/..%2F..%2Fetc%2Fpasswd", "/recordings/../../etc/passwd", "/recordings/a.mp4",
                 "/recordings/2026-12-06T18-00-00Z.mp4", "/recordings/" + closed.name + "/x"] {
      #expect(h.handle(request("GET", path), now: 1).status == 404, "\(path)")
    }
    let off = try makeCore()
    #expect(off.handle(request("GET", "/recordings"), now: 1).status == 404, "without --record")
  }

  @Test func recordingsNeedTheCredentialsLikeEveryRoute() throws {
    let h = try core { $0.auth.users = [UserCredential(name: "u", verifier: .plain(password: "p"))] }
    #expect(h.handle(request("GET", "/recordings"), now: 1).status == 401)
    #expect(h.handle(request("GET", "/recordings/" + closed.name), now: 1).status == 401)
    let auth = "Basic " + Data("u:p".utf8).base64EncodedString()
    #expect(h.handle(request("GET", "/recordings", authorization: auth), now: 1).status == 200)
  }

  @Test func statusSaysWhyRecordingPaused() throws {
    let h = try core()
    var r = RecorderReport(dir: "/rec")
    r.entries = [closed]
    r.phase = .paused(RecorderFault(code: "RECORD_DISK_FULL", message: "a write failed: errno 28", since: 5),
      retryAt: 30_000_000_005)
    h.core.handleRecorder(r)
    h.drain()
    let s = h.statusJSON(now: 10)
    #expect(s.contains("\"state\":\"paused\"") && s.contains("\"error\":\"RECORD_DISK_FULL\""))
    #expect(h.logs.contains { $0.message.contains("recording paused: RECORD_DISK_FULL") })
    #expect(h.captures.contains(.consumers(1)), "recording keeps the encoder running")
  }
}

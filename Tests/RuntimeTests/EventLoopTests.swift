// The network loop against a scripted operating system: what it reads reaches the core, what
// the core asks for is written, sent and closed, each connection flushed once per turn.
import App
import CRTCam
import DTLS
import Testing
import Wire

@testable import Runtime

@Suite struct EventLoopTests {
  static let http: Int32 = 3, udp: Int32 = 4, wake: Int32 = 5, stop: Int32 = 6
  static let client = SocketAddress(ip: [127, 0, 0, 1], port: 40_000)

  /// A loop over a fake system, its core made as `serve` makes it (test pattern options, no source
  /// thread: the test publishes the source's state and JPEGs itself).
  static func makeLoop(_ system: FakeSystem, _ configure: (inout ServeOptions) -> Void = { _ in })
    throws -> (loop: EventLoop<FakeIO>, shared: CaptureShared)
  {
    var o = ServeOptions()
    configure(&o)
    let random = try DtlsRandom(deterministicSeed: Array("event-loop-tests".utf8))
    let cert = try DtlsCertificate.generate(commonName: "rtcam", random: random)
    let core = ServerCore(options: o, certificate: cert, random: random,
      candidates: [SocketAddress(ip: [127, 0, 0, 1], port: 8189)], now: system.now)
    let shared = CaptureShared(ring: FrameRing(slots: 4, slotCapacity: 1 << 16), wakeFd: -1, stillOptions: o.stills)
    let sockets = LoopSockets(http: http, udp: udp, udpIsV6: false, wake: wake, stop: stop)
    return (EventLoop(io: FakeIO(system: system), core: core, sockets: sockets, shared: shared), shared)
  }

  /// One turn of the loop as `run` makes it (without the stop check).
  static func step(_ loop: EventLoop<FakeIO>, _ system: FakeSystem) {
    if loop.waitForEvents(now: system.now) > 0 { loop.serviceDescriptors(now: system.now) }
    loop.turn()
  }

  static func get(_ target: String) -> [UInt8] { Array("GET \(target) HTTP/1.1\r\nHost: cam\r\n\r\n".utf8) }

  @Test func aRequestIsReadAnsweredAndWrittenInOneWrite() throws {
    let system = FakeSystem()
    system.accepts[Self.http] = [(fd: 20, peer: Self.client)]
    system.input[20] = [Self.get("/status")]
    system.stopAfterPolls = 3
    let (loop, _) = try Self.makeLoop(system)
    loop.run()
    let writes = system.writes[20] ?? []
    #expect(writes.count == 1, "one write for the whole response")
    let text = String(decoding: system.written(20), as: UTF8.self)
    #expect(text.hasPrefix("HTTP/1.1 200 OK\r\n") && text.contains("\"version\""))
    // on stop every connection is closed
    #expect(system.closed.contains(20))
  }

  @Test func aJpegReachesEveryStreamClientInOneWriteEach() throws {
    let system = FakeSystem()
    let clients: [Int32] = [20, 21, 22]
    system.accepts[Self.http] = clients.map { (fd: $0, peer: Self.client) }
    for fd in clients { system.input[fd] = [Self.get("/stream.mjpg")] }
    system.stopAfterPolls = 3
    let (loop, shared) = try Self.makeLoop(system)
    shared.source.publish(.running(SourceFormat(width: 640, height: 480, fps: 30)))
    loop.turn()  // the core hears that the source runs
    // the clients connect (a turn), ask for the stream and get its head (the next)
    Self.step(loop, system)
    Self.step(loop, system)
    for fd in clients {
      #expect(String(decoding: system.written(fd), as: UTF8.self).hasPrefix("HTTP/1.1 200 OK\r\nContent-Type: multipart"))
      #expect(system.sendBuffers[fd] != nil, "a stream connection's send buffer is kept small")
    }
    let before = clients.map { system.writes[$0]?.count ?? 0 }
    // the capture side made a JPEG for the stream
    let jpeg: [UInt8] = [0xFF, 0xD8, 1, 2, 3, 0xFF, 0xD9]
    jpeg.withUnsafeBytes { shared.stills.publish($0, work: StillWork(quality: 80, forStream: true, forSnapshot: false), captureTimeNs: 1) }
    loop.deliverStills()
    for (i, fd) in clients.enumerated() {
      let w = system.writes[fd] ?? []
      #expect(w.count == before[i] + 1, "one write per client for the part")
      let part = String(decoding: w.last ?? [], as: UTF8.self)
      #expect(part.hasPrefix("--rtcamframe\r\nContent-Type: image/jpeg\r\nContent-Length: 7\r\n\r\n"))
    }
  }

  @Test func aClientThatHangsUpIsClosedAndForgotten() throws {
    let system = FakeSystem()
    system.accepts[Self.http] = [(fd: 20, peer: Self.client)]
    system.input[20] = [Array("GET / HT".utf8), []]  // half a request, then the end of the stream
    system.stopAfterPolls = 4
    let (loop, _) = try Self.makeLoop(system)
    Self.step(loop, system)  // accepted
    Self.step(loop, system)  // the half request read
    #expect(loop.core.http.count == 1 && system.closed.isEmpty)
    Self.step(loop, system)  // read returns 0
    #expect(system.closed == [20])
    #expect(loop.core.http.count == 0 && loop.outputs.isEmpty)
  }

  @Test func junkDatagramsGetNoAnswer() throws {
    let system = FakeSystem()
    system.datagrams = [([0x00, 0x01, 0, 0], Self.client), ([0x80, 0xC9, 0, 1, 0, 0, 0, 1], Self.client), ([], Self.client)]
    let (loop, _) = try Self.makeLoop(system)
    loop.readDatagrams(now: system.now)
    #expect(system.datagrams.isEmpty && system.sentTo.isEmpty)
  }

  @Test func theLoopSleepsUntilTheCoresDeadline() throws {
    let system = FakeSystem()
    system.accepts[Self.http] = [(fd: 20, peer: Self.client)]
    system.input[20] = [Array("GET / HT".utf8)]  // a request head that never completes
    let (loop, _) = try Self.makeLoop(system)
    Self.step(loop, system)
    Self.step(loop, system)
    let deadline = try #require(loop.coreDeadline)
    #expect(deadline == loop.core.http.nextDeadline)
    // polls sleep at most a second at a time; the 408 goes out once the deadline has passed
    system.stopAfterPolls = system.polls + 40
    loop.run()
    #expect(String(decoding: system.written(20), as: UTF8.self).hasPrefix("HTTP/1.1 408 "))
    #expect(system.closed.first == 20)
  }
}

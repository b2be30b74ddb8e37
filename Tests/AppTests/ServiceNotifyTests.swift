import Testing

@testable import App

/// sd_notify's environment and the watchdog's timing, with a fake clock.
@Suite struct ServiceNotifyTests {
  static let ms: UInt64 = 1_000_000

  @Test func theEnvironmentDecidesWhetherAndWhere() {
    #expect(ServiceNotify(notifySocket: nil, watchdogUsec: "1000000", watchdogPid: nil, pid: 7) == nil)
    for bad in ["", "relative/path", "@", "/" + String(repeating: "x", count: 107)] {
      #expect(ServiceNotify(notifySocket: bad, watchdogUsec: nil, watchdogPid: nil, pid: 7) == nil, "\(bad)")
    }
    let plain = ServiceNotify(notifySocket: "/run/systemd/notify", watchdogUsec: nil, watchdogPid: nil, pid: 7)
    #expect(plain?.socketPath == "/run/systemd/notify" && plain?.pingIntervalNs == nil && plain?.nextDeadline == nil)
    #expect(ServiceNotify(notifySocket: "@abstract", watchdogUsec: nil, watchdogPid: nil, pid: 7)?.socketPath == "@abstract")
    // WatchdogSec=10s: a ping every 5 s; meant for another process, or nonsense: no watchdog
    #expect(ServiceNotify(notifySocket: "/n", watchdogUsec: "10000000", watchdogPid: "7", pid: 7)?.pingIntervalNs == 5_000 * Self.ms)
    #expect(ServiceNotify(notifySocket: "/n", watchdogUsec: "10000000", watchdogPid: "8", pid: 7)?.pingIntervalNs == nil)
    for usec in ["0", "-5", "abc", "", "99999999999999999999"] {
      #expect(ServiceNotify(notifySocket: "/n", watchdogUsec: usec, watchdogPid: nil, pid: 7)?.pingIntervalNs == nil, "\(usec)")
    }
  }

  @Test func pingsAtHalfTheTimeoutFromTheLoop() throws {
    var n = try #require(ServiceNotify(notifySocket: "/n", watchdogUsec: "2000000", watchdogPid: nil, pid: 1))
    /// What the policy asks to send after the loop turned at `t`.
    func turn(_ t: UInt64) -> [String] {
      n.handleTimeout(now: t)
      var sent: [String] = []
      while case .send(let m) = n.pollOutput() { sent.append(m) }
      return sent
    }
    var pings: [UInt64] = []
    // the loop turns every 100 ms for 5 s
    for step in 0...50 {
      let t = UInt64(step) * 100 * Self.ms
      for m in turn(t) {
        #expect(m == "WATCHDOG=1")
        pings.append(t)
      }
    }
    #expect(pings == ([0, 1_000, 2_000, 3_000, 4_000, 5_000] as [UInt64]).map { $0 * Self.ms })
    #expect(n.pollOutput() == .timeout(6_000 * Self.ms))
    // a loop that stalls sends nothing until it turns again
    #expect(turn(5_900 * Self.ms).isEmpty && turn(9_000 * Self.ms) == ["WATCHDOG=1"])
    // readiness and stopping, in order
    n.handleReady(status: "serving")
    n.handleStopping()
    #expect(n.pollOutput() == .send("READY=1\nSTATUS=serving") && n.pollOutput() == .send("STOPPING=1"))
  }
}

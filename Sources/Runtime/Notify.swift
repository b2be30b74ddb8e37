// sd_notify datagrams to systemd (Type=notify, WatchdogSec=): READY=1 once serving, WATCHDOG=1
// from the network loop, STOPPING=1 on the way out. The policy is App's ServiceNotify.
import App
import CRTCam
import Wire

final class ServiceNotifier {
  var policy: ServiceNotify
  /// A failed send is logged once (systemd gone, or a wrong NOTIFY_SOCKET), not every ping.
  var failedOnce = false

  /// nil when rtcam is not started by systemd with NOTIFY_SOCKET.
  init?() {
    func env(_ name: String) -> String? { getenv(name).map { String(cString: $0) } }
    guard let p = ServiceNotify(notifySocket: env("NOTIFY_SOCKET"), watchdogUsec: env("WATCHDOG_USEC"),
      watchdogPid: env("WATCHDOG_PID"), pid: Int(getpid()))
    else { return nil }
    policy = p
  }

  func send(_ message: String) {
    var text = message
    let e = text.withUTF8 { m in
      policy.socketPath.withCString { path in rtc_unix_datagram(path, m.baseAddress, m.count) }
    }
    if e != 0 && !failedOnce {
      failedOnce = true
      log(.warn, "NOTIFY_FAILED: cannot tell systemd (" + policy.socketPath + "): " + errnoText(e))
    }
  }

  /// From the network loop, every turn.
  func tick(now: UInt64) {
    policy.handleTimeout(now: now)
    flush()
  }

  func ready(status: String) {
    policy.handleReady(status: status)
    flush()
  }

  func stopping() {
    policy.handleStopping()
    flush()
  }

  /// Sends what the policy asks for.
  func flush() {
    while case .send(let message) = policy.pollOutput() { send(message) }
  }
}

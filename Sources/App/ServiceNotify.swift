// systemd's readiness and watchdog protocol (sd_notify), without the socket: where to send,
// whether the watchdog is on, which message is due when. The runtime sends the datagrams.
import Wire

/// What the notify policy asks of its caller (`pollOutput`).
public enum NotifyOutput: Equatable, Sendable {
  /// Send this message to `socketPath`.
  case send(String)
  /// Nothing more now; call `handleTimeout` at this time (nil: no watchdog).
  case timeout(UInt64?)
}

/// Where and how often to tell systemd that rtcam is alive, from the environment systemd sets
/// (NOTIFY_SOCKET, WATCHDOG_USEC, WATCHDOG_PID).
public struct ServiceNotify: Equatable, Sendable {
  /// The socket's path; a leading "@" means Linux's abstract namespace (sent as a NUL byte).
  public let socketPath: String
  /// Half the watchdog timeout (systemd's advice), or nil when the unit has no WatchdogSec.
  public let pingIntervalNs: UInt64?
  /// When the next WATCHDOG=1 is due.
  var nextPingNs: UInt64 = 0
  /// Messages waiting for `pollOutput` (READY, WATCHDOG, STOPPING: a few at most).
  var pending: [String] = []

  /// Longest socket path (sockaddr_un's sun_path holds 108 bytes with its NUL).
  public static let maxPathBytes = 107
  /// WATCHDOG_USEC above this (a day) is taken as a mistake: no watchdog rather than none in time.
  public static let maxWatchdogUsec: UInt64 = 86_400_000_000

  /// nil when NOTIFY_SOCKET is unset, empty, not absolute or abstract, or too long (then rtcam
  /// does not run under systemd's notify protocol). A WATCHDOG_PID naming another process turns
  /// the watchdog off (it is meant for that process).
  public init?(notifySocket: String?, watchdogUsec: String?, watchdogPid: String?, pid: Int) {
    guard let s = notifySocket, let first = s.utf8.first, first == UInt8(ascii: "/") || first == UInt8(ascii: "@"),
      s.utf8.count >= 2, s.utf8.count <= ServiceNotify.maxPathBytes
    else { return nil }
    socketPath = s
    var interval: UInt64? = nil
    if let u = watchdogUsec, let usec = parseDecimal(u, max: ServiceNotify.maxWatchdogUsec), usec > 0 {
      let forUs = watchdogPid.map { parseDecimal($0, max: UInt64(Int32.max)) == pid } ?? true
      if forUs { interval = UInt64(usec) * 1000 / 2 }
    }
    pingIntervalNs = interval
  }

  /// The message once rtcam serves.
  public static func ready(status: String) -> String { "READY=1\nSTATUS=" + status }
  public static let stopping = "STOPPING=1"
  public static let ping = "WATCHDOG=1"

  /// rtcam serves (every socket is bound): READY=1 with a status line.
  public mutating func handleReady(status: String) { pending.append(Self.ready(status: status)) }

  /// rtcam is stopping.
  public mutating func handleStopping() { pending.append(Self.stopping) }

  /// Called from the network loop on every turn: a WATCHDOG=1 when one is due now (the loop
  /// only turns while it is healthy, so a hung loop stops the pings and systemd restarts rtcam).
  public mutating func handleTimeout(now: UInt64) {
    guard let interval = pingIntervalNs, now >= nextPingNs else { return }
    nextPingNs = now &+ interval
    pending.append(Self.ping)
  }

  /// The next message to send, then `.timeout` with the latest time the loop must wake up for
  /// the next ping.
  public mutating func pollOutput() -> NotifyOutput {
    if !pending.isEmpty { return .send(pending.removeFirst()) }
    return .timeout(nextDeadline)
  }

  /// The latest time the loop must wake up for the next ping.
  public var nextDeadline: UInt64? { pingIntervalNs == nil ? nil : nextPingNs }
}

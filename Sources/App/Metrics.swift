// GET /metrics: Prometheus text exposition format 0.0.4. Counters the core keeps itself (sessions,
// HTTP responses, logins, camera faults, media totals of closed sessions) plus what the capture
// thread counts, rendered on request; nothing here runs per packet.
import Peer
import Wire

/// What the core counts for /metrics.
public struct MetricsCounters: Sendable {
  public var sessionsOpened: UInt64 = 0
  /// Closed sessions by PeerCloseReason code.
  public var sessionsClosed: [String: UInt64] = [:]
  /// HTTP responses by status class: index 1 = 1xx ... 5 = 5xx.
  public var httpResponses = [UInt64](repeating: 0, count: 6)
  public var authFailures: UInt64 = 0
  /// Camera or source faults by code, counted when the fault begins or changes.
  public var sourceFaults: [String: UInt64] = [:]
  /// Media counters of sessions that have ended (live sessions are added at scrape time).
  public var closedStats = PeerStats()
  /// RTSP: connections accepted and refused (limits), requests, answers by class, PLAYs, bad
  /// input, sessions reaped for silence, datagrams from no client.
  public var rtspConnections: UInt64 = 0
  public var rtspRefused: UInt64 = 0
  public var rtspRequests: UInt64 = 0
  public var rtspResponses = [UInt64](repeating: 0, count: 6)
  public var rtspPlays: UInt64 = 0
  public var rtspBadRequests: UInt64 = 0
  public var rtspReaped: UInt64 = 0
  public var rtspStrayDatagrams: UInt64 = 0

  public init() {}


  public mutating func countResponse(status: Int) { Self.count(status, in: &httpResponses) }

  public mutating func countRtspResponse(status: Int) { Self.count(status, in: &rtspResponses) }

  /// Counts a response under its status class (index 1 = 1xx ... 5 = 5xx).
  static func count(_ status: Int, in classes: inout [UInt64]) {
    let c = status / 100
    if c >= 1 && c <= 5 { classes[c] += 1 }
  }

  /// The classes that were answered, as the labels of a metric ("2xx": count).
  static func classLabels(_ classes: [UInt64]) -> [String: UInt64] {
    var out: [String: UInt64] = [:]
    for c in 1...5 where classes[c] > 0 { out[String(c) + "xx"] = classes[c] }
    return out
  }

  public mutating func addClosed(_ s: PeerStats) { Self.accumulate(s, into: &closedStats) }

  /// Adds a session's media counters to a total.
  static func accumulate(_ s: PeerStats, into t: inout PeerStats) {
    t.framesSent += s.framesSent
    t.packetsSent += s.packetsSent
    t.bytesSent += s.bytesSent
    t.retransmissions += s.retransmissions
    t.nacks += s.nacks
    t.plis += s.plis
    t.firs += s.firs
    t.framesLayerDropped += s.framesLayerDropped
    t.framesCongestionDropped += s.framesCongestionDropped
    t.transportFeedbacks += s.transportFeedbacks
  }
}

/// Builds the exposition text: one HELP and TYPE line per family, samples after it.
public struct PrometheusText {
  public private(set) var text = ""

  public init() {}

  mutating func family(_ name: String, _ type: String, _ help: String) {
    text += "# HELP " + name + " " + help + "\n# TYPE " + name + " " + type + "\n"
  }

  mutating func sample(_ name: String, _ labels: [(String, String)] = [], _ value: String) {
    text += name
    if !labels.isEmpty {
      text += "{"
      for (i, l) in labels.enumerated() {
        if i > 0 { text += "," }
        text += l.0 + "=\"" + Self.escape(l.1) + "\""
      }
      text += "}"
    }
    text += " " + value + "\n"
  }

  public mutating func counter(_ name: String, _ help: String, _ value: UInt64) {
    family(name, "counter", help)
    sample(name, [], String(value))
  }

  public mutating func gauge(_ name: String, _ help: String, _ value: String) {
    family(name, "gauge", help)
    sample(name, [], value)
  }

  /// A counter with one label, one sample per key (sorted, so scrapes are stable).
  public mutating func labelled(_ name: String, _ help: String, label: String, _ values: [String: UInt64]) {
    family(name, "counter", help)
    for k in values.keys.sorted() { sample(name, [(label, k)], String(values[k]!)) }
  }

  /// A gauge with one label, one sample per (label value, value) pair, in the order given.
  public mutating func labelledGauge(_ name: String, _ help: String, label: String, _ values: [(String, String)]) {
    family(name, "gauge", help)
    for (k, v) in values { sample(name, [(label, k)], v) }
  }

  public mutating func histogram(_ name: String, _ help: String, bounds: [Double], counts: [UInt64], sumSeconds: Double) {
    family(name, "histogram", help)
    var cumulative: UInt64 = 0
    for (i, b) in bounds.enumerated() {
      cumulative += i < counts.count ? counts[i] : 0
      sample(name + "_bucket", [("le", formatSeconds(b))], String(cumulative))
    }
    if counts.count > bounds.count { cumulative += counts[bounds.count] }
    sample(name + "_bucket", [("le", "+Inf")], String(cumulative))
    sample(name + "_sum", [], formatSeconds(sumSeconds))
    sample(name + "_count", [], String(cumulative))
  }

  /// Label values escape backslash, double quote and newline (exposition format 0.0.4).
  static func escape(_ s: String) -> String {
    var out = ""
    for c in s.unicodeScalars {
      switch c {
      case "\\": out += "\\\\"
      case "\"": out += "\\\""
      case "\n": out += "\\n"
      default: out.unicodeScalars.append(c)
      }
    }
    return out
  }
}

/// Seconds with up to 6 decimals and no exponent ("0.033", "12.5", "1700000000").
public func formatSeconds(_ v: Double) -> String {
  guard v.isFinite, v >= 0 else { return "0" }
  let micro = UInt64((v * 1e6).rounded())
  let whole = micro / 1_000_000
  var frac = micro % 1_000_000
  guard frac != 0 else { return String(whole) }
  var digits = 6
  while frac % 10 == 0 { frac /= 10; digits -= 1 }
  var f = String(frac)
  while f.utf8.count < digits { f = "0" + f }
  return String(whole) + "." + f
}

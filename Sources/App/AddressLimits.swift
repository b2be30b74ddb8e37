// Per-source-address limits, so that one address cannot lock out everyone else: failed
// logins, offers and viewer sessions per address. Counted in fixed one-minute windows.
import Wire

/// The limits' numbers (options with defaults).
public struct AddressLimitOptions: Equatable, Sendable {
  /// Failed authentication attempts per address per minute; then 429 until the minute is over.
  public var authFailuresPerMinute = 10
  /// Offers (new sessions) per address per minute; a page reconnecting with backoff needs a few.
  public var offersPerMinute = 30
  /// Viewer sessions one address may hold at once (clamped to --max-viewers).
  public var viewersPerAddress = 4
  /// HTTP connections one address may hold at once; more evict that address's idlest one.
  public var connectionsPerAddress = 16
  /// Snapshots (GET /snapshot.jpg) per address per minute: each costs a JPEG encode; a
  /// dashboard polling every second needs 60, a printer's timelapse far fewer.
  public var snapshotsPerMinute = 120

  public init() {}
}

/// The host part of an address: the key for per-address limits (the port is the client's choice).
public func addressKey(_ a: SocketAddress) -> SocketAddress { a.withPort(0) }

/// Events per key in fixed windows. The table is bounded: when full, the entry whose window began
/// first is dropped (an attacker with many addresses only evicts entries, never grows memory).
public struct WindowCounter: Sendable {
  public let limit: Int
  public let windowNs: UInt64
  public let maxKeys: Int
  var entries: [SocketAddress: (start: UInt64, count: Int)] = [:]

  public init(limit: Int, windowNs: UInt64 = 60_000_000_000, maxKeys: Int = 1024) {
    self.limit = limit
    self.windowNs = windowNs
    self.maxKeys = maxKeys
  }

  /// Nanoseconds until `key` may act again, or nil when it is under its limit.
  public func blockedFor(_ key: SocketAddress, now: UInt64) -> UInt64? {
    guard let e = entries[key], now &- e.start < windowNs, e.count >= limit else { return nil }
    return e.start + windowNs - now
  }

  /// Counts one event for `key`.
  public mutating func record(_ key: SocketAddress, now: UInt64) {
    if var e = entries[key], now &- e.start < windowNs {
      e.count += 1
      entries[key] = e
      return
    }
    if entries[key] == nil, entries.count >= maxKeys {
      var oldest: SocketAddress? = nil
      var oldestStart = UInt64.max
      for (k, e) in entries where e.start < oldestStart {
        oldestStart = e.start
        oldest = k
      }
      if let o = oldest { entries[o] = nil }
    }
    entries[key] = (now, 1)
  }

  public var trackedKeys: Int { entries.count }
}

/// Whole seconds for a Retry-After header (at least 1).
public func retryAfterSeconds(_ ns: UInt64) -> Int { max(1, Int((ns + 999_999_999) / 1_000_000_000)) }

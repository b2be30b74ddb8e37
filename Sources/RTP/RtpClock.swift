// RTP and NTP clocks (RFC 3550 sections 4 and 5.1): the timestamps a sender writes.

/// 90 kHz RTP timestamp for a capture time: `offset + (captureNs - baseNs) * 9 / 100000`,
/// truncated to 32 bits (wraps like RTP timestamps do). Times before `baseNs` count backwards.
public func rtpTimestamp90k(captureNs: UInt64, baseNs: UInt64, offset: UInt32) -> UInt32 {
  if captureNs >= baseNs {
    return offset &+ UInt32(truncatingIfNeeded: (captureNs - baseNs) / 100_000 * 9
      + (captureNs - baseNs) % 100_000 * 9 / 100_000)
  }
  let back = baseNs - captureNs
  return offset &- UInt32(truncatingIfNeeded: back / 100_000 * 9 + back % 100_000 * 9 / 100_000)
}

/// Seconds between the NTP epoch (1900) and the Unix epoch (1970).
let ntpUnixOffsetSeconds: UInt64 = 2_208_988_800

/// 64-bit NTP timestamp (RFC 3550 section 4: 32.32 fixed point seconds since 1900) from
/// nanoseconds since the Unix epoch. The seconds wrap in 2036 like NTP's do.
public func ntpTimestamp(unixNs: UInt64) -> UInt64 {
  let seconds = unixNs / 1_000_000_000 + ntpUnixOffsetSeconds
  let nanos = unixNs % 1_000_000_000
  let fraction = (nanos << 32) / 1_000_000_000
  return UInt64(UInt32(truncatingIfNeeded: seconds)) << 32 | fraction
}

/// The middle 32 bits of a 64-bit NTP timestamp (16.16 fixed point seconds): the form of a
/// report block's LSR and of the "now" its round trip is computed against (RFC 3550 section 6.4.1).
public func compactNtp(_ ntp: UInt64) -> UInt32 {
  UInt32(truncatingIfNeeded: ntp >> 16)
}

/// Compact NTP units (1/65536 s) in a second.
public let compactNtpUnitsPerSecond: UInt64 = 65_536

/// Round trips longer than this are taken as a stale or forged LSR, not a measurement: RTCP
/// reports flow every few seconds at most, and a minute-long round trip leaves nothing to adapt.
let maxRoundTripUnits = UInt32(60 * compactNtpUnitsPerSecond)

/// Round-trip time from a reception report block (RFC 3550 section 6.4.1): `now - LSR - DLSR`,
/// all in compact NTP (1/65536 s), where `nowCompactNtp` is `compactNtp` of the wall clock the
/// sender reports' NTP times come from, when the report arrived. Nil when the block has no LSR
/// (0: no sender report received yet), when the delay the receiver claims is longer than the time
/// since that sender report (negative), or when the result is over a minute (absurd). The
/// arithmetic wraps like the 32-bit fields do.
public func roundTripNs(lastSenderReport: UInt32, delaySinceLastSenderReport: UInt32,
                        nowCompactNtp: UInt32) -> UInt64? {
  guard lastSenderReport != 0 else { return nil }
  let sinceReport = nowCompactNtp &- lastSenderReport
  // more than half the 32-bit range "since" the report: the report is from the future
  guard sinceReport < 1 << 31, delaySinceLastSenderReport <= sinceReport else { return nil }
  let units = sinceReport - delaySinceLastSenderReport
  guard units <= maxRoundTripUnits else { return nil }
  return UInt64(units) * 1_000_000_000 / compactNtpUnitsPerSecond
}

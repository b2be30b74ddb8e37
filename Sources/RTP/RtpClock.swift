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

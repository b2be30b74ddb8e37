// The values of --record-max-bytes and --record-max-age.
import App
import Wire

/// "2G", "500M", "64K", "1T" (powers of 1024) or plain bytes; at least 1 MB (a segment is about
/// 6 MB at the default bitrate: less would delete every segment as it closes).
func byteSize(_ text: String, _ name: String) throws(OptionError) -> UInt64 {
  let minimum: UInt64 = 1 << 20
  var digits = text
  var unit: UInt64 = 1
  if let last = text.utf8.last {
    switch last {
    case UInt8(ascii: "K"), UInt8(ascii: "k"): unit = 1 << 10
    case UInt8(ascii: "M"), UInt8(ascii: "m"): unit = 1 << 20
    case UInt8(ascii: "G"), UInt8(ascii: "g"): unit = 1 << 30
    case UInt8(ascii: "T"), UInt8(ascii: "t"): unit = 1 << 40
    default: break
    }
    if unit > 1 { digits = String(text.dropLast()) }
  }
  guard let n = parseDecimal(digits, max: UInt64(1) << 50), n > 0 else {
    throw OptionError(name + " must be a size such as 2G, 500M or 1048576, not '" + text + "'")
  }
  let (bytes, overflow) = UInt64(n).multipliedReportingOverflow(by: unit)
  guard !overflow, bytes >= minimum else {
    throw OptionError(name + " must be at least 1M (a segment is several megabytes), not '" + text + "'")
  }
  return bytes
}

/// "7d", "12h", "30m", "90s" or plain seconds; at least a minute, at most ten years.
func ageSeconds(_ text: String, _ name: String) throws(OptionError) -> Int64 {
  var digits = text
  var unit: Int64 = 1
  if let last = text.utf8.last {
    switch last {
    case UInt8(ascii: "s"): unit = 1
    case UInt8(ascii: "m"): unit = 60
    case UInt8(ascii: "h"): unit = 3600
    case UInt8(ascii: "d"): unit = 86_400
    default: unit = 0
    }
    if unit > 0 { digits = String(text.dropLast()) } else { unit = 1 }
  }
  guard let n = parseDecimal(digits, max: 10 * 366 * 86_400), n > 0 else {
    throw OptionError(name + " must be an age such as 7d, 12h, 30m or 3600, not '" + text + "'")
  }
  let seconds = Int64(n) * unit
  guard seconds >= 60, seconds <= 10 * 366 * 86_400 else {
    throw OptionError(name + " must be from a minute to ten years, not '" + text + "'")
  }
  return seconds
}

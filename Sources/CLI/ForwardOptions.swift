// Parsing of --forward URL, --forward-key KEY and --forward-keyframe-interval SECONDS (their rows
// are in OptionTable+Access.swift).
import App
import Peer
import Wire

/// One of the forward options (`--forward`, `--forward-key`, `--forward-keyframe-interval`)
/// into `f`; errors name the option.
func forwardOption(_ spec: OptionSpec, _ value: String, _ f: inout ForwardOptions) throws(OptionError) {
  do throws(ForwardError) {
    switch spec.key {
    case .forward:
      let t = try ForwardTarget.parse(value)
      // HOST: numeric only (no resolver in the binary); inet_pton has the last word at start
      guard looksLikeIP(t.host), t.host.utf8.contains(UInt8(ascii: ":")) == value.contains("[") else {
        throw ForwardError(spec.name + " HOST must be a numeric IPv4 address or a bracketed IPv6 address ([fd00::1]); rtcam resolves no names, not '" + t.host + "'")
      }
      guard f.targets.count < ForwardOptions.maxTargets else {
        throw ForwardError(spec.name + " may be given at most " + String(ForwardOptions.maxTargets) + " times")
      }
      f.targets.append(t)
    case .forwardKey:
      f.key = try ForwardKey(base64: value)
    case .forwardKeyframeInterval:
      do { f.keyframeIntervalSeconds = try spec.number(value) } catch { throw ForwardError(error.message) }
    default:
      throw ForwardError(spec.name + " is not a forward option")
    }
  } catch {
    throw OptionError(error.message)
  }
}

/// The checks across the forward options; `at` is the config line prefix of the last one set.
func checkForwardOptions(_ f: ForwardOptions, at: String) throws(OptionError) {
  let secure = f.targets.contains { $0.secure }
  if secure && f.key == nil {
    throw OptionError(at + "an srtp:// --forward needs --forward-key (base64 of the 30-byte AES_CM_128_HMAC_SHA1_80 master key and salt, Janus's srtpcrypto)")
  }
  if !secure && f.key != nil {
    throw OptionError(at + "--forward-key goes with an srtp:// --forward")
  }
  if f.targets.isEmpty && f.keyframeIntervalSeconds > 0 {
    throw OptionError(at + "--forward-keyframe-interval goes with --forward")
  }
}

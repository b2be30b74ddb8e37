import App
import Encoder
import Testing

@testable import CLI

/// --min-bitrate and --max-bitrate: the bounds bandwidth adaptation keeps the encoder's target
/// within, around --bitrate (where it starts).
@Suite struct BitrateBoundsTests {
  func serve(_ args: [String], config: String? = nil) throws(OptionError) -> ServeOptions {
    let file = config.map { ConfigFile(path: "rtcam.conf", bytes: Array($0.utf8)) }
    guard case .serve(let o) = try parseCommandLine((file == nil ? [] : ["--config", "rtcam.conf"]) + args, config: file)
    else {
      Issue.record("expected serve for \(args)")
      return ServeOptions()
    }
    return o
  }

  func message(_ args: [String], config: String? = nil) -> String? {
    do {
      _ = try serve(args, config: config)
      return nil
    } catch {
      return error.message
    }
  }

  @Test func defaultsAre150kAnd2MAroundTheDefaultBitrate() throws {
    let o = try serve([])
    #expect(o.minBitrate == 150_000 && o.bitrate == 800_000 && o.maxBitrate == 2_000_000)
    #expect(o == ServeOptions())
  }

  /// A bound not given moves to --bitrate when its default would be on the wrong side of it.
  @Test func boundsNotGivenFollowTheBitrate() throws {
    let low = try serve(["--bitrate", "100k"])
    #expect(low.minBitrate == 100_000 && low.maxBitrate == 2_000_000)
    let high = try serve(["--bitrate", "3M"])
    #expect(high.minBitrate == 150_000 && high.maxBitrate == 3_000_000)
    let given = try serve(["--min-bitrate", "300k", "--max-bitrate", "1.5M"])
    #expect(given.minBitrate == 300_000 && given.bitrate == 800_000 && given.maxBitrate == 1_500_000)
    let equal = try serve(["--min-bitrate", "500k", "--bitrate", "500k", "--max-bitrate", "500k"])
    #expect(equal.minBitrate == 500_000 && equal.maxBitrate == 500_000)
  }

  @Test func boundsGivenOnTheWrongSideAreErrors() {
    #expect(message(["--min-bitrate", "1M"]) == "--min-bitrate 1M is above --bitrate 800k")
    #expect(message(["--max-bitrate", "500k"]) == "--bitrate 800k is above --max-bitrate 500k")
    #expect(message(["--bitrate", "3M", "--max-bitrate", "2M"]) == "--bitrate 3M is above --max-bitrate 2M")
    #expect(message(["--bitrate", "100k", "--min-bitrate", "150k"]) == "--min-bitrate 150k is above --bitrate 100k")
    // a config file line is named
    #expect(message([], config: "max-bitrate = 400k\n") == "rtcam.conf:1: --bitrate 800k is above --max-bitrate 400k")
    // the command line wins over the file, then the check runs
    #expect(message(["--max-bitrate", "1M"], config: "max-bitrate = 400k\n") == nil)
  }

  @Test func valuesOutsideTheRangeAreRefused() {
    for (option, value) in [("--min-bitrate", "49999"), ("--max-bitrate", "15M"), ("--min-bitrate", "abc")] {
      let m = message([option, value])
      #expect(m?.hasPrefix(option + " must be bits per second from 50k to 14M") == true, "\(m ?? "accepted")")
    }
  }

  /// The rows' ranges end where the encoder's ends, and their defaults say the code's values.
  @Test func theRowsAgreeWithTheCode() {
    for key in [OptionKey.minBitrate, .maxBitrate] {
      guard case .bitrate(let r) = key.spec.value, case .described(let d) = key.spec.defaultValue else {
        Issue.record("\(key) is a bitrate with a described default")
        continue
      }
      #expect(r.upperBound == EncoderSettings.bitrateRange.upperBound)
      let value = key == .minBitrate ? ServeOptions.defaultMinBitrate : ServeOptions.defaultMaxBitrate
      #expect(d.hasPrefix(bitrateText(value) + ","), "\(d)")
      #expect(!key.spec.commands.contains(.probe), "probe does not adapt")
    }
  }
}

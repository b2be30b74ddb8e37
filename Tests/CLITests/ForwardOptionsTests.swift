import Testing
import App
import Peer
import Wire
@testable import CLI

@Suite struct ForwardOptionsTests {
  static let key = Base64.encode([UInt8](repeating: 7, count: 30))

  func serve(_ args: [String], config: String? = nil) throws -> ServeOptions {
    let file = config.map { ConfigFile(path: "/etc/rtcam/rtcam.conf", bytes: Array($0.utf8)) }
    let all = config == nil ? args : ["--config", "/etc/rtcam/rtcam.conf"] + args
    guard case .serve(let o) = try parseCommandLine(all, config: file) else {
      Issue.record("expected serve")
      return ServeOptions()
    }
    return o
  }

  func message(_ args: [String], config: String? = nil) -> String? {
    do {
      _ = try serve(args, config: config)
      return nil
    } catch let e as OptionError {
      return e.message
    } catch {
      return "\(error)"
    }
  }

  @Test func targetsKeyAndInterval() throws {
    let o = try serve(["--forward", "rtp://10.0.0.2:5004", "--forward", "srtp://[fd00::2]:5006?rtcp=6000",
                       "--forward-key", Self.key, "--forward-keyframe-interval", "2"])
    #expect(o.forward.targets.map { $0.url } == ["rtp://10.0.0.2:5004", "srtp://[fd00::2]:5006?rtcp=6000"])
    #expect(o.forward.targets[1].host == "fd00::2" && o.forward.targets[1].rtcpPort == 6000)
    #expect(o.forward.key?.key == [UInt8](repeating: 7, count: 16))
    #expect(o.forward.keyframeIntervalSeconds == 2)
    #expect(ServeOptions().forward == ForwardOptions())
  }

  @Test func fromTheConfigFileRepeatableWithTheCommandLineReplacingIt() throws {
    let conf = "forward = srtp://10.0.0.2:5006\nforward = rtp://10.0.0.3:5004\nforward-key = \(Self.key)\n"
    let o = try serve([], config: conf)
    #expect(o.forward.targets.count == 2 && o.forward.key != nil)
    let p = try serve(["--forward", "srtp://10.0.0.9:7000"], config: conf)
    #expect(p.forward.targets.map { $0.url } == ["srtp://10.0.0.9:7000"])
  }

  @Test func errors() {
    #expect(message(["--forward", "rtp://cam.local:5004"])?.contains("resolves no names") == true)
    #expect(message(["--forward", "rtp://fd00::2:5004"])?.hasPrefix("--forward must be") == true)
    #expect(message(["--forward", "rtp://[10.0.0.2]:5004"])?.contains("bracketed IPv6") == true)
    #expect(message(["--forward", "udp://10.0.0.2:5004"])?.hasPrefix("--forward must be") == true)
    #expect(message(["--forward", "srtp://10.0.0.2:5004"])?.contains("needs --forward-key") == true)
    #expect(message(["--forward", "rtp://10.0.0.2:5004", "--forward-key", Self.key]) == "--forward-key goes with an srtp:// --forward")
    #expect(message(["--forward-key", "c2hvcnQ="])?.hasPrefix("--forward-key must be the base64 of 30 bytes") == true)
    #expect(message(["--forward-keyframe-interval", "3"]) == "--forward-keyframe-interval goes with --forward")
    #expect(message(["--forward", "rtp://10.0.0.2:5004", "--forward-keyframe-interval", "-1"])?.hasPrefix("--forward-keyframe-interval must be") == true)
    let nine = (0..<9).flatMap { ["--forward", "rtp://10.0.0.2:\(5000 + 2 * $0)"] }
    #expect(message(nine) == "--forward may be given at most 8 times")
    // config lines name their place
    #expect(message([], config: "fps = 30\nforward = srtp://10.0.0.2:5006\n")?.hasPrefix("/etc/rtcam/rtcam.conf:2: ") == true)
  }

  @Test func helpTellsTheForwardOptions() {
    for word in ["--forward URL", "srtp://HOST:PORT", "--forward-key KEY", "--forward-keyframe-interval N", "no names", "everyone (repeatable)"] {
      #expect(helpText.contains(word), "help lacks \(word)")
    }
  }
}

import DTLS
import HTTP
import Peer
import Testing
import Wire

@testable import App

/// Counters and durations that outgrow 32 bits on a long-running camera. On armv7 `Int` is 32
/// bits, so each of these must be carried and printed as 64-bit values, never through `Int(...)`
/// (which would trap): 2^31 ms of uptime is 24.8 days, 2^32 bytes a few hours of one viewer.
@Suite struct WideCountersTests {
  func makeCore(now: UInt64) throws -> CoreHarness { try AppTests.makeCore(seed: "wide-counters-tests", now: now) }

  static let big: UInt64 = 5_000_000_000  // > 2^32
  static let huge: UInt64 = 1 << 62

  @Test func statusPrintsCountersAboveTwoToTheThirtyTwo() throws {
    let start: UInt64 = 7_000
    let core = try makeCore(now: start)
    var c = CaptureCounters()
    c.framesCaptured = Self.big
    c.framesEncoded = Self.big + 1
    c.keyframes = Self.big + 2
    c.bytesEncoded = Self.huge
    c.framesDropped = Self.big + 3
    c.framesIdle = Self.big + 4
    core.core.handleCaptureCounters(c)
    // the connection table's counters (a test reaches into it: serving 5e9 JPEGs takes a while)
    core.core.http.snapshotsServed = Self.big + 5
    core.core.http.streamFramesSent = Self.big + 6
    core.core.http.streamFramesDropped = Self.big + 7
    core.core.handleConnection(.gone(0), now: start)  // the core reads them after any connection event
    // 100 days up: 8_640_000_000 ms, beyond both Int32 and UInt32
    let text = core.statusJSON(now: start + 100 * 86_400 * 1_000_000_000)
    for field in ["\"uptime_ms\":8640000000", "\"frames_captured\":5000000000", "\"frames\":5000000001",
                  "\"keyframes\":5000000002", "\"bytes\":4611686018427387904", "\"dropped\":5000000003",
                  "\"idle_frames\":5000000004", "\"snapshots\":5000000005", "\"stream_frames\":5000000006",
                  "\"stream_frames_dropped\":5000000007"] {
      #expect(text.contains(field), "\(field) in \(text)")
    }
    let j = try parseJson(Array(text.utf8))
    #expect(j["uptime_ms"]?.int64Value == 8_640_000_000)
    #expect(j["encoder"]?["bytes"]?.int64Value == 1 << 62)
  }

  @Test func metricsTotalsOfClosedSessionsAddUpPastTwoToTheThirtyTwo() throws {
    let core = try makeCore(now: 0)
    var s = PeerStats()
    s.bytesSent = Self.big
    s.packetsSent = Self.big / 1000
    s.framesSent = 3
    s.nacks = Self.big
    core.core.status.metrics.addClosed(s)
    core.core.status.metrics.addClosed(s)
    let text = core.metricsText()
    #expect(text.contains("\nrtcam_rtp_sent_bytes_total 10000000000\n"))
    #expect(text.contains("\nrtcam_rtp_packets_sent_total 10000000\n"))
    #expect(text.contains("\nrtcam_nacks_received_total 10000000000\n"))
  }

  @Test func retryDelaysAndTimeoutsFormatWithoutInt() {
    #expect(wholeSeconds(2_000_000_000) == "2 s")
    #expect(wholeSeconds(500_000_000) == "0.5 s")
    // 10^9 s is 10^10 tenths, not an Int32
    #expect(wholeSeconds(1_000_000_000_000_000_000) == "1000000000 s")
    #expect(wholeSeconds(1_000_000_000_100_000_000) == "1000000000.1 s")
  }
}

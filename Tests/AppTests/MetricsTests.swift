import DTLS
import HTTP
import Testing
import TestSupport
import Wire

@testable import App

/// /metrics in the Prometheus text format 0.0.4, and the counters behind it.
@Suite struct MetricsTests {
  func makeCore(startedUnixNs: UInt64 = 0, _ configure: (inout ServeOptions) -> Void = { _ in }) throws -> CoreHarness {
    try AppTests.makeCore(seed: "metrics-tests", now: 0, startedUnixNs: startedUnixNs, configure)
  }

  /// sample name with labels -> value, from the text; fails on a line that is not a comment or sample.
  func samples(_ text: String) throws -> [String: String] {
    var out: [String: String] = [:]
    for line in text.split(separator: "\n") {
      if line.hasPrefix("# HELP ") || line.hasPrefix("# TYPE ") { continue }
      let parts = line.split(separator: " ")
      try #require(parts.count == 2, "sample line: \(line)")
      out[String(parts[0])] = String(parts[1])
    }
    return out
  }

  @Test func exposition() throws {
    let core = try makeCore(startedUnixNs: 1_700_000_000_250_000_000)
    var counters = CaptureCounters()
    counters.framesCaptured = 90
    counters.framesEncoded = 60
    counters.encodeTimes = EncodeTimes(sumNs: 25_500_000)
    for (i, n) in [0, 2, 5, 1, 0, 0, 0, 0, 1].enumerated() { counters.encodeTimes[i] = UInt64(n) }
    core.core.handleCaptureCounters(counters)
    core.core.handleSource(.running(SourceFormat(width: 640, height: 480, fps: 30)))
    let r = core.handle(request("GET", "/metrics"), now: 1)
    #expect(r.status == 200)
    #expect(r.header("Content-Type") == "text/plain; version=0.0.4; charset=utf-8")
    let text = String(decoding: r.body, as: UTF8.self)
    #expect(text.contains("# TYPE rtcam_frames_encoded_total counter\n"))
    #expect(text.contains("# TYPE rtcam_encode_duration_seconds histogram\n"))
    let m = try samples(text)
    #expect(m["rtcam_frames_captured_total"] == "90")
    #expect(m["rtcam_frames_encoded_total"] == "60")
    #expect(m["rtcam_source_up"] == "1")
    #expect(m["rtcam_encode_duration_seconds_bucket{le=\"0.001\"}"] == "0")
    #expect(m["rtcam_encode_duration_seconds_bucket{le=\"0.002\"}"] == "2")
    #expect(m["rtcam_encode_duration_seconds_bucket{le=\"0.005\"}"] == "7")
    #expect(m["rtcam_encode_duration_seconds_bucket{le=\"0.1\"}"] == "8")
    #expect(m["rtcam_encode_duration_seconds_bucket{le=\"+Inf\"}"] == "9")
    #expect(m["rtcam_encode_duration_seconds_count"] == "9")
    #expect(m["rtcam_encode_duration_seconds_sum"] == "0.0255")
    #expect(m["rtcam_process_start_time_seconds"] == "1700000000.25")
    #expect(m["rtcam_viewers"] == "0")
    // every sample's family has HELP and TYPE first
    var declared: Set<String> = []
    for line in text.split(separator: "\n") {
      if line.hasPrefix("# TYPE ") { declared.insert(String(line.split(separator: " ")[2])) }
      else if !line.hasPrefix("#") {
        let name = String(line.prefix { $0 != "{" && $0 != " " })
        let family = ["_bucket", "_sum", "_count"].reduce(name) { n, suffix in
          n.hasSuffix(suffix) && declared.contains(String(n.dropLast(suffix.count))) ? String(n.dropLast(suffix.count)) : n
        }
        #expect(declared.contains(family), "\(name) before its TYPE line")
      }
    }
  }

  @Test func sessionsHttpAuthAndFaultsAreCounted() throws {
    let core = try makeCore { $0.auth.users = [UserCredential(name: "cam", verifier: .plain(password: "pw"))] }
    let login = "Basic " + Base64.encode(Array("cam:pw".utf8))
    let offer = try fixture("chromium-156-recvonly-offer.sdp")
    #expect(core.handle(request("POST", "/whep", authorization: login, contentType: "application/sdp", body: offer),
      now: 1).status == 201)
    _ = core.handle(request("GET", "/status", authorization: "Basic " + Base64.encode(Array("cam:no".utf8))), now: 1)
    _ = core.handle(request("GET", "/status"), now: 1)
    _ = core.handle(request("GET", "/nope", authorization: login), now: 1)
    // the session never sees ICE: it times out
    core.poll(now: 31_000_000_000, unixNs: 0)
    core.core.handleSource(.retrying(.capture(.cameraLost("gone"))))
    core.core.handleSource(.retrying(.capture(.cameraLost("gone; not back yet"))))  // same fault, still going
    core.core.handleSource(.running(SourceFormat(width: 640, height: 480, fps: 30)))
    core.core.handleSource(.retrying(.capture(.cameraBusy("busy"))))
    let text = String(decoding: core.handle(request("GET", "/metrics", authorization: login), now: 2).body, as: UTF8.self)
    let m = try samples(text)
    #expect(m["rtcam_sessions_opened_total"] == "1")
    #expect(m["rtcam_sessions_closed_total{reason=\"ICE_TIMEOUT\"}"] == "1")
    #expect(m["rtcam_sessions"] == "0")
    #expect(m["rtcam_http_responses_total{class=\"2xx\"}"] == "1")
    #expect(m["rtcam_http_responses_total{class=\"4xx\"}"] == "3")
    #expect(m["rtcam_auth_failures_total"] == "1")
    #expect(m["rtcam_source_faults_total{code=\"CAMERA_LOST\"}"] == "1")
    #expect(m["rtcam_source_faults_total{code=\"CAMERA_BUSY\"}"] == "1")
    #expect(m["rtcam_source_up"] == "0")
    // /metrics itself needs the login like every route
    #expect(core.handle(request("GET", "/metrics"), now: 3).status == 401)
  }

  @Test func textHelpers() {
    #expect(formatSeconds(0.033) == "0.033")
    #expect(formatSeconds(12) == "12")
    #expect(formatSeconds(0.0000004) == "0")
    #expect(formatSeconds(-1) == "0")
    #expect(PrometheusText.escape("a\"b\\c\nd") == "a\\\"b\\\\c\\nd")
    #expect(EncodeTimes.bucket(ns: 500_000) == 0)
    #expect(EncodeTimes.bucket(ns: 1_000_000) == 0)
    #expect(EncodeTimes.bucket(ns: 1_000_001) == 1)
    #expect(EncodeTimes.bucket(ns: 2_000_000_000) == encodeTimeBucketBounds.count)
  }
}

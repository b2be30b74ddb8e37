// --record and its limits on the command line, and the RTSP options beside the other ports.
import App
import Testing

@testable import CLI

/// (OptionsTests' `serve` and `message` helpers.)
extension OptionsTests {
  @Test func sizesAndAgesTakeTheirUnits() throws {
    let o = try serve(["--record", "/rec/", "--record-segment", "30", "--record-max-bytes", "2G", "--record-max-age", "7d"])
    #expect(o.recordDir == "/rec" && o.recording.segmentSeconds == 30)
    #expect(o.recording.limits.maxBytes == 2 << 30 && o.recording.limits.maxAgeSeconds == 7 * 86_400)
    #expect(try serve(["--record", "/r", "--record-max-bytes", "1048576"]).recording.limits.maxBytes == 1_048_576)
    #expect(try serve(["--record", "/r", "--record-max-bytes", "500M"]).recording.limits.maxBytes == 500 << 20)
    #expect(try serve(["--record", "/r", "--record-max-age", "90m"]).recording.limits.maxAgeSeconds == 5400)
    #expect(try serve(["--record", "/r", "--record-max-age", "3600"]).recording.limits.maxAgeSeconds == 3600)
    #expect(try serve([]).recordDir == nil)
  }

  @Test func badValuesSayWhatIsWanted() {
    #expect(message(["--record", "/r", "--record-max-bytes", "lots"])?.contains("a size such as 2G") == true)
    #expect(message(["--record", "/r", "--record-max-bytes", "10K"])?.contains("at least 1M") == true)
    #expect(message(["--record", "/r", "--record-max-age", "5s"])?.contains("from a minute") == true)
    #expect(message(["--record", "/r", "--record-max-age", "1w"])?.contains("an age such as 7d") == true)
    #expect(message(["--record-max-age", "7d"])?.contains("go with --record DIR") == true)
    #expect(message(["--record", ""])?.contains("needs a directory") == true)
  }

  @Test func theRtspPortsMustNotMeetTheOthers() {
    #expect(message(["--rtsp-port", "8080"])?.contains("--rtsp-port N takes TCP port N and UDP ports N and N+1") == true)
    #expect(message(["--rtsp-port", "8188"])?.contains("must differ") == true, "N+1 is the UDP port")
    #expect(message(["--rtsp-port", "0", "--http-port", "8554"]) == nil, "0: RTSP off")
  }
}

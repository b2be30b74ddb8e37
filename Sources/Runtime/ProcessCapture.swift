// `serve` with a pipe source: a program's standard output (`exec:COMMAND`, `rpicam`), restarted
// with backoff when it exits, or rtcam's standard input (`stdin:`), which ends for good.
import App
import CRTCam
import Capture
import Encoder
import Synchronization
import Wire

/// Starts the capture thread for a program source. The program is started on that thread (so
/// its parent-death signal is tied to a thread that lives as long as the source), restarted after
/// it exits or fails with the supervisor's backoff (1 s doubling to 30 s), and stopped (SIGTERM,
/// then SIGKILL) when rtcam stops.
func startProcessCapture(name: String, argv: [String], options o: ServeOptions, rawLumaStride: Int?,
                         shared: CaptureShared) -> Bool {
  var po = PipeSourceOptions(width: o.width, height: o.height, fps: o.fps)
  po.rawLumaStride = rawLumaStride
  let options = po
  return startPipeCapture(name: name, bitrate: o.bitrate, preset: o.preset, policy: .backoff(RestartBackoff()), shared: shared) {
    () throws(CaptureError) -> ProcessSource in
    try ProcessSource(name: name, argv: argv, options: options, shouldStop: { shared.stopped })
  }
}

/// Starts the capture thread for `stdin:`: frames until the end of the input, which is final
/// (END_OF_STREAM in /status). No frame timeout: a pipe from the user may pause.
func startStdinCapture(options o: ServeOptions, shared: CaptureShared) -> Bool {
  var po = PipeSourceOptions(width: o.width, height: o.height, fps: o.fps)
  po.frameTimeoutNs = nil
  po.firstDataTimeoutNs = UInt64.max / 4  // "no limit" that still adds to now without overflow
  let options = po
  return startPipeCapture(name: "stdin:", bitrate: o.bitrate, preset: o.preset, policy: .never, shared: shared) {
    () throws(CaptureError) -> ProcessSource in
    try ProcessSource(standardInput: options, shouldStop: { shared.stopped })
  }
}

func startPipeCapture(name: String, bitrate: Int, preset: EncoderPreset, policy: RestartPolicy, shared: CaptureShared,
                      open: @escaping @Sendable () throws(CaptureError) -> ProcessSource) -> Bool {
  startRunner(bitrate: bitrate, preset: preset, shared: shared) {
    SourceKind<ProcessSource>(
      name: name, noun: "source", policy: policy, open: open,
      details: { s in s.pid.map { " (" + s.producer + ", pid " + String(Int($0)) + ")" } ?? "" },
      counters: { s in String(s.frames) + " frames" })
  }
}

/// True on a Raspberry Pi 5 (BCM2712, whose PiSP ISP pads YUV420 rows differently from the
/// earlier models'; see `rpicamLumaStride`): the device tree's compatible list names the SoC.
/// Read from sysfs: /proc/device-tree is only a link to it, and the service's ProcSubset=pid
/// hides it (board/rtcam.service).
public func runsOnPiSP() -> Bool {
  var fd = rtc_open("/sys/firmware/devicetree/base/compatible", O_RDONLY | O_CLOEXEC, 0)
  if fd < 0 { fd = rtc_open("/proc/device-tree/compatible", O_RDONLY | O_CLOEXEC, 0) }
  guard fd >= 0 else { return false }
  defer { close(fd) }
  // a few NUL-separated strings ("raspberrypi,5-model-b\0brcm,bcm2712\0"); 512 bytes is plenty
  var bytes = [UInt8](repeating: 0, count: 512)
  let n = bytes.withUnsafeMutableBytes { read(fd, $0.baseAddress, 512) }
  guard n > 0 else { return false }
  let text = String(decoding: bytes[0..<n].map { $0 == 0 ? UInt8(ascii: " ") : $0 }, as: UTF8.self)
  return text.utf8.count >= 7 && containsASCII(text, "bcm2712")
}

func containsASCII(_ haystack: String, _ needle: String) -> Bool {
  let h = Array(haystack.utf8), n = Array(needle.utf8)
  guard n.count <= h.count else { return false }
  for i in 0...(h.count - n.count) where Array(h[i..<(i + n.count)]) == n { return true }
  return false
}

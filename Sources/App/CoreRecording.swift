// Recording in the core: what the recording thread reports (/status, /metrics), the listing
// GET /recordings and the segment files GET /recordings/NAME.mp4 (with Range), behind the same
// access control as every route. The files themselves are read by the runtime (`sendFile`).
import HTTP
import Record
import Wire

extension ServerCore {
  /// The recording thread's latest report.
  public func handleRecorder(_ r: RecorderReport) {
    let before = status.recording?.phase
    status.recording = r
    guard before != r.phase else { return }
    switch r.phase {
    case .paused(let f, _):
      log(.warn, "recording paused: \(f.code): \(f.message); trying again in \(options.recording.retryNs / 1_000_000_000) s "
        + "(the live stream is not affected)")
    case .recording(let name):
      if case .paused? = before { log(.info, "recording again, into \(name)") }
    case .waitingForKeyframe: break
    }
  }

  /// Whether recording is configured: the encoder runs for it, and keyframes come at an interval.
  var recordingOn: Bool { options.recordDir != nil }

  /// GET /recordings: the segments as JSON (name, start, duration, bytes), oldest first.
  func recordingsRoute(_ r: RoutedRequest) -> HttpResponse {
    guard r.method.isRead else { return methodNotAllowed("GET") }
    guard options.recordDir != nil else {
      return .error(404, code: "NOT_RECORDING", message: "rtcam does not record (--record DIR)")
    }
    var resp = HttpResponse.json(200, RecordingList.json(status.recording?.all ?? []))
    resp.addCors()
    return resp
  }

  /// GET /recordings/NAME.mp4: the segment's bytes (200, or 206 for a Range), 404 for a name
  /// that is not a segment of the listing (only names of SegmentName's exact form can be: no
  /// path can be smuggled in), 416 for a range outside it.
  func recordingRoute(_ r: RoutedRequest, name: String) -> HttpReply {
    guard r.method.isRead else { return .now(methodNotAllowed("GET")) }
    guard let dir = options.recordDir, SegmentName.parse(name) != nil,
      let entry = (status.recording?.all ?? []).first(where: { $0.name == name }) else {
      return .now(.error(404, code: "NO_SUCH_RECORDING", message: "no recording named \(name) (see /recordings)"))
    }
    let size = entry.bytes
    var head = HttpResponse(status: 200, headers: [("Content-Type", "video/mp4"), ("Accept-Ranges", "bytes")])
    head.setHeader("Cache-Control", "no-cache")
    switch ByteRange.parse(r.request.header("range"), size: size) {
    case .full:
      return .file(head, path: dir + "/" + name, offset: 0, length: size)
    case .partial(let first, let last):
      head.status = 206
      head.setHeader("Content-Range", ByteRange.contentRange(first: first, last: last, size: size))
      return .file(head, path: dir + "/" + name, offset: first, length: last - first + 1)
    case .unsatisfiable:
      var resp = HttpResponse.error(416, code: "RANGE_NOT_SATISFIABLE", message: "the range is outside the \(size) bytes")
      resp.setHeader("Content-Range", ByteRange.unsatisfiedRange(size: size))
      return .now(resp)
    }
  }

  /// `"recording": {...}` (null without --record).
  func writeRecordingStatus(_ w: inout JsonWriter) {
    w.key("recording")
    guard let dir = options.recordDir else { return w.null() }
    let r = status.recording ?? RecorderReport(dir: dir)
    w.beginObject()
    w.key("dir"); w.string(dir)
    switch r.phase {
    case .waitingForKeyframe: w.key("state"); w.string("waiting_for_keyframe")
    case .recording: w.key("state"); w.string("recording")
    case .paused: w.key("state"); w.string("paused")
    }
    w.key("error"); if case .paused(let f, _) = r.phase { w.string(f.code) } else { w.null() }
    w.key("message"); if case .paused(let f, _) = r.phase { w.string(f.message) } else { w.null() }
    w.key("segment"); if let o = r.open { w.string(o.name) } else { w.null() }
    w.key("segments"); w.int(r.entries.count + (r.open == nil ? 0 : 1))
    var bytes: UInt64 = 0
    for e in r.all { bytes &+= e.bytes }
    w.key("bytes"); w.uint64(bytes)
    w.key("segment_seconds"); w.int(options.recording.segmentSeconds)
    w.key("max_bytes"); if let m = options.recording.limits.maxBytes { w.uint64(m) } else { w.null() }
    w.key("max_age_s"); if let m = options.recording.limits.maxAgeSeconds { w.int(Int(m)) } else { w.null() }
    w.key("frames"); w.int(r.stats.framesRecorded)
    w.key("fragments"); w.int(r.stats.fragments)
    w.key("bytes_written"); w.uint64(r.bytesWritten)
    w.key("deleted"); w.uint64(r.deleted)
    w.endObject()
  }

  /// rtcam_recording_*.
  func appendRecordingMetrics(_ m: inout PrometheusText) {
    guard options.recordDir != nil else { return }
    let r = status.recording
    var active = "0"
    if case .recording? = r?.phase { active = "1" }
    m.gauge("rtcam_recording_active", "1 while a segment is being written.", active)
    m.counter("rtcam_recording_bytes_written_total", "Bytes written to segment files.", r?.bytesWritten ?? 0)
    m.counter("rtcam_recording_fragments_total", "Fragments written (one write and fsync each).",
      UInt64(r?.stats.fragments ?? 0))
    m.counter("rtcam_recording_segments_deleted_total", "Segments deleted by retention.", r?.deleted ?? 0)
    m.labelled("rtcam_recording_faults_total", "Recording faults by code (a full disk, a failed write, a refused frame).",
      label: "code", r?.faults ?? [:])
  }
}

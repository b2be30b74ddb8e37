// What the help and docs/cli.md say after the options: the HTTP endpoints, the camera faults,
// probe's output and the exit codes.

/// The HTTP routes the server answers.
let httpEndpoints: [OptionDetail] = [
  OptionDetail(term: "GET /", text: "the viewer page"),
  OptionDetail(term: "POST /whep", text: "WHEP: body application/sdp offer -> 201 Created, Location, SDP answer"),
  OptionDetail(
    term: "POST /offer", text: "JSON {\"type\":\"offer\",\"sdp\":\"...\"} -> {\"type\":\"answer\",\"sdp\":\"...\",\"session\":\"ID\"}"),
  OptionDetail(term: "DELETE /whep/ID", text: "end a session"),
  OptionDetail(term: "GET /status", text: "JSON: source, encoder, sessions"),
  OptionDetail(term: "GET /snapshot.jpg", text: "the next frame as a JPEG (?quality=1-100); also /snapshot"),
  OptionDetail(term: "GET /stream.mjpg", text: "MJPEG (multipart/x-mixed-replace) at --mjpeg-fps; also /stream"),
  OptionDetail(term: "GET /metrics", text: "Prometheus metrics"),
]

/// Paragraphs after the endpoints (one literal each: then the array is data, not code).
let helpNotes: [String] = [
  """
  Camera faults (CAMERA_NOT_FOUND, CAMERA_BUSY, CAMERA_LOST, CAMERA_TIMEOUT, FORMAT_UNSUPPORTED, CAMERA_ERROR) go \
  to the log and /status; the page is still served and the camera is reopened every 2 s until it works, then \
  streaming resumes. Program sources report SOURCE_EXITED (exit status or signal), SOURCE_NOT_FOUND (cannot run \
  the command), SOURCE_SHORT_FRAME (the stream ended or stalled inside a frame) and SOURCE_TIMEOUT (no frame for \
  5 s; 10 s after a start); stdin: ends with END_OF_STREAM.
  """,
  """
  probe prints one JSON object: {"source", "driver", "card", "bus", "format", "width", "height", \
  "fps_requested", "fps_measured", "frames", "dropped", "damaged", "decode_ms", "encode_ms_p50", \
  "encode_ms_p95", "error"} (error: null or {"code", "message"}; driver/card/bus are null except for v4l2:).
  """,
  """
  Exit codes: 0 ok, 1 runtime failure (see the log; probe: the JSON error), 2 bad command line or config file \
  (unknown options name themselves, config errors name the file and line).
  """,
]

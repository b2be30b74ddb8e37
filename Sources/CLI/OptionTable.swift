// rtcam's options: one row each, the only place an option's name, value, default and help are
// written (OptionSpec.swift says what the fields mean). Sections are listed in OptionSection's
// order; within a section, in this order. After a change run tools/gen-cli-docs (it rewrites
// board/rtcam.conf and docs/cli.md; OptionTableTests fails until they match).
import App
import Encoder

/// Every option of every command.
let optionTable: [OptionSpec] = pictureAndGeneralOptions + networkAndHttpsOptions + accessOptions + otherCommandOptions

let pictureAndGeneralOptions: [OptionSpec] = [
  OptionSpec(
    .config, "--config", "PATH", .text, inConfig: false, in: .general,
    help: "read options from PATH first (the service uses /etc/rtcam/rtcam.conf): one `key = value` a line, keys are "
      + "the long options without the dashes (source = v4l2:/dev/video0, http-port = 8080, http-redirect = true), "
      + "whole-line # comments; values are taken as written (no quotes needed). Options marked repeatable may "
      + "repeat; any other key may appear once. The command line overrides the file; a repeatable option given "
      + "there replaces the file's lines of that key. Errors say FILE:LINE (exit 2)"),
  OptionSpec(
    .source, "--source", "SPEC", .text, for: [.serve, .probe], in: .picture,
    default: .described("the first usable camera among /dev/video*, else testsrc; the log says which"),
    help: "where frames come from",
    details: [
      OptionDetail(term: "testsrc", text: "moving test pattern with frame counter and time strip"),
      OptionDetail(term: "y4m:PATH", text: "a YUV4MPEG2 (4:2:0) file, looped at its own frame rate"),
      OptionDetail(
        term: "v4l2:DEVICE",
        text: "a V4L2 camera such as /dev/video0, capturing YU12, YV12, NV12, NV21, YUYV, UYVY or MJPEG (decoded) "
          + "at the size and rate closest to --size and --fps that it offers"),
      OptionDetail(
        term: "exec:COMMAND",
        text: "run COMMAND (looked up on PATH, no shell: quote with ' \" and \\; use exec:sh -c '...' for pipes) "
          + "and read raw I420 frames of --size from its standard output, or Y4M when it starts with YUV4MPEG2; "
          + "restarted when it exits (1 s, doubling to 30 s), stopped with rtcam"),
      OptionDetail(
        term: "rpicam",
        text: "a Raspberry Pi camera module through rpicam-vid: exec:rpicam-vid -t 0 -n --width W --height H "
          + "--framerate F --codec yuv420 [--rpicam-args] -o -"),
      OptionDetail(term: "stdin:", text: "raw I420 frames of --size (or Y4M) on standard input; the source ends with the input"),
    ],
    examples: ["v4l2:/dev/video0", "rpicam", "testsrc"]),
  OptionSpec(
    .rpicamArgs, "--rpicam-args", "ARGS", .text, for: [.serve, .probe], in: .picture,
    help: "extra rpicam-vid arguments for --source rpicam, split like exec: (e.g. \"--hflip --vflip --awb indoor\")",
    examples: ["--hflip --vflip"]),
  OptionSpec(.size, "--size", "WxH", .size, for: [.serve, .probe], in: .picture, default: .value("640x480"), help: "picture size"),
  OptionSpec(
    .fps, "--fps", "N", .number(1...120), for: [.serve, .probe], in: .picture, default: .value("30"),
    help: "frames per second"),
  OptionSpec(
    .format, "--format", "FOURCC", .text, for: [.serve, .probe], in: .picture,
    default: .described("the camera's closest match, uncompressed before MJPG when both reach the size and rate"),
    help: "V4L2 pixel format to capture: YU12 (or I420), YV12, NV12, NV21, YUYV, UYVY or MJPG (decoded); YU12 and "
      + "YV12 need no copy",
    examples: ["MJPG"]),
  OptionSpec(
    .bitrate, "--bitrate", "N", .bitrate(50_000...50_000_000), for: [.serve, .probe], in: .picture,
    default: .value("800k"), help: "H.264 target bitrate in bit/s, suffix k or M allowed"),
  OptionSpec(
    .preset, "--preset", "P", .choice(EncoderPreset.allCases.map { $0.name }), for: [.serve, .probe], in: .picture,
    default: .value(EncoderPreset.default.name),
    help: "encoder speed/quality trade-off; none adds latency, /status shows it as encoder.preset"),
  OptionSpec(
    .help, "--help", "", .flag, alias: "-h", for: [.serve, .probe], inConfig: false, in: .info,
    help: "show this help and exit"),
  OptionSpec(
    .version, "--version", "", .flag, alias: "-V", inConfig: false, in: .info,
    help: "print the version and target architecture (e.g. rtcam 0.1.0 (aarch64, embedded)) and exit"),
]

let networkAndHttpsOptions: [OptionSpec] = [
  OptionSpec(
    .listen, "--listen", "ADDR", .address, in: .network, default: .value("::"),
    help: "address for HTTP and media; :: is every address, IPv4 too", examples: ["0.0.0.0", "::", "127.0.0.1"]),
  OptionSpec(
    .httpPort, "--http-port", "N", .number(1...65535), in: .network, default: .value("8080"),
    help: "HTTP port for the viewer page and the offer endpoints"),
  OptionSpec(
    .udpPort, "--udp-port", "N", .number(1...65535), in: .network, default: .value("8189"),
    help: "the one UDP port all viewers' media uses"),
  OptionSpec(
    .iceHost, "--ice-host", "ADDR", .address, repeatable: true, in: .network,
    default: .described("every non-loopback interface address"),
    help: "advertise ADDR as the ICE host candidate, the address viewers send media to, instead of every interface "
      + "address: behind port forwarding or NAT, in tests",
    examples: ["192.168.1.20"]),
  OptionSpec(
    .maxViewers, "--max-viewers", "N", .number(1...64), in: .network, default: .value("8"), help: "simultaneous viewers"),
  OptionSpec(
    .logLevel, "--log-level", "LEVEL", .choice(["error", "warn", "info", "debug"]), in: .network,
    default: .value("info"), help: "the least severe messages the log shows"),
  OptionSpec(
    .tlsCert, "--tls-cert", "PEM", .text, in: .https,
    help: "serve HTTPS with this certificate chain; goes with --tls-key", examples: ["/etc/rtcam/cert.pem"]),
  OptionSpec(
    .tlsKey, "--tls-key", "PEM", .text, in: .https, help: "the unencrypted private key of --tls-cert",
    examples: ["/etc/rtcam/key.pem"]),
  OptionSpec(
    .tls, "--tls", "self-signed", .text, in: .https,
    help: "make a self-signed certificate once and keep it in --state-dir (https-cert.pem, https-key.pem)",
    examples: ["self-signed"]),
  OptionSpec(
    .httpsPort, "--https-port", "N", .number(1...65535), in: .https, default: .value("8443"),
    help: "HTTPS port; HTTP keeps serving on --http-port"),
  OptionSpec(
    .httpRedirect, "--http-redirect", "", .flag, in: .https, default: .value("false"),
    help: "HTTP answers every request with a 301 redirect to the same path over HTTPS"),
  OptionSpec(
    .stateDir, "--state-dir", "PATH", .absolutePath, in: .https, default: .value("/var/lib/rtcam"),
    help: "where rtcam keeps state across restarts (the self-signed certificate); the service's "
      + "StateDirectory=rtcam is this directory"),
]

// rtcam's options: one row each, the only place an option's name, value, default and help are
// written (OptionSpec.swift says what the fields mean). Sections are listed in OptionSection's
// order; within a section, in this order. After a change run tools/gen-cli-docs (it rewrites
// board/rtcam.conf and docs/cli.md; OptionTableTests fails until they match).
//
// Literal values only (see OptionSpec): where a value is also a constant elsewhere (a range in
// App, the encoder's presets), OptionTableTests checks that the two agree.

/// Every option of every command.
let optionTable: [OptionSpec] = [
  OptionSpec(
    key: .config, name: "--config", metavar: "PATH", value: .text, configFile: false, section: .general,
    help: """
      read options from PATH first (the service uses /etc/rtcam/rtcam.conf): one `key = value` a line, keys \
      are the long options without the dashes (source = v4l2:/dev/video0, http-port = 8080, http-redirect = \
      true), whole-line # comments; values are taken as written (no quotes needed). Options marked repeatable \
      may repeat; any other key may appear once. The command line overrides the file; a repeatable option \
      given there replaces the file's lines of that key. Errors say FILE:LINE (exit 2)
      """),
  OptionSpec(
    key: .source, name: "--source", metavar: "SPEC", value: .text, commands: [.serve, .probe], section: .picture,
    defaultValue: .described(
      "the first usable camera among /dev/video*, else a camera module through rpicam-vid, else testsrc; the log says which"),
    help: "where frames come from",
    details: [
      OptionDetail(term: "testsrc", text: "moving test pattern with frame counter and time strip"),
      OptionDetail(term: "y4m:PATH", text: "a YUV4MPEG2 (4:2:0) file, looped at its own frame rate"),
      OptionDetail(
        term: "v4l2:DEVICE",
        text: """
          a V4L2 camera such as /dev/video0, capturing YU12, YV12, NV12, NV21, YUYV, UYVY or MJPEG (decoded) \
          at the size and rate closest to --size and --fps that it offers
          """),
      OptionDetail(
        term: "exec:COMMAND",
        text: """
          run COMMAND (looked up on PATH, no shell: quote with ' " and \\; use exec:sh -c '...' for pipes) and \
          read raw I420 frames of --size from its standard output, or Y4M when it starts with YUV4MPEG2; \
          restarted when it exits (1 s, doubling to 30 s), stopped with rtcam
          """),
      OptionDetail(
        term: "rpicam",
        text: """
          a Raspberry Pi camera module through rpicam-vid: exec:rpicam-vid -t 0 -n --width W --height H \
          --framerate F --codec yuv420 [--rpicam-args] -o -
          """),
      OptionDetail(term: "stdin:", text: "raw I420 frames of --size (or Y4M) on standard input; the source ends with the input"),
    ],
    examples: ["v4l2:/dev/video0", "rpicam", "testsrc"]),
  OptionSpec(
    key: .rpicamArgs, name: "--rpicam-args", metavar: "ARGS", value: .text, commands: [.serve, .probe],
    section: .picture,
    help: "extra rpicam-vid arguments for --source rpicam, split like exec: (e.g. \"--hflip --vflip --awb indoor\")",
    examples: ["--hflip --vflip"]),
  OptionSpec(
    key: .size, name: "--size", metavar: "WxH", value: .size, commands: [.serve, .probe], section: .picture,
    defaultValue: .value("640x480"), help: "picture size"),
  OptionSpec(
    key: .fps, name: "--fps", metavar: "N", value: .number(1...120), commands: [.serve, .probe], section: .picture,
    defaultValue: .value("30"), help: "frames per second"),
  OptionSpec(
    key: .format, name: "--format", metavar: "FOURCC", value: .text, commands: [.serve, .probe], section: .picture,
    defaultValue: .described("the camera's closest match, uncompressed before MJPG when both reach the size and rate"),
    help: """
      V4L2 pixel format to capture: YU12 (or I420), YV12, NV12, NV21, YUYV, UYVY or MJPG (decoded); YU12 and \
      YV12 need no copy
      """,
    examples: ["MJPG"]),
  OptionSpec(
    key: .bitrate, name: "--bitrate", metavar: "N", value: .bitrate(50_000...50_000_000), commands: [.serve, .probe],
    section: .picture, defaultValue: .value("800k"), help: "H.264 bitrate in bit/s until viewers' feedback steers it, and for receivers without feedback; suffix k or M allowed"),
  OptionSpec(
    key: .preset, name: "--preset", metavar: "P", value: .choice(["speed", "balanced", "quality"]),
    commands: [.serve, .probe], section: .picture, defaultValue: .value("balanced"),
    help: "encoder speed/quality trade-off; none adds latency, /status shows it as encoder.preset"),
  OptionSpec(
    key: .encoder, name: "--encoder", metavar: "E", value: .text, commands: [.serve, .probe], section: .picture,
    defaultValue: .value("auto"),
    help: """
      which encoder: auto (a V4L2 memory-to-memory H.264 encoder, such as a Pi's bcm2835-codec, \
      when one is found by its capabilities, else OpenH264), openh264, v4l2m2m (the first found) \
      or v4l2m2m:/dev/videoN. When the hardware encoder fails, OpenH264 takes over at once and the \
      hardware one is retried later; /status says which runs and why (encoder.name, \
      encoder.reason). probe: `--encoder` alone lists the encoder nodes with their formats and controls
      """,
    examples: ["openh264", "v4l2m2m:/dev/video11"]),
  OptionSpec(
    key: .listen, name: "--listen", metavar: "ADDR", value: .address, section: .network, defaultValue: .value("::"),
    help: "address for HTTP and media; :: is every address, IPv4 too", examples: ["0.0.0.0", "::", "127.0.0.1"]),
  OptionSpec(
    key: .httpPort, name: "--http-port", metavar: "N", value: .number(1...65535), section: .network,
    defaultValue: .value("8080"), help: "HTTP port for the viewer page and the offer endpoints"),
  OptionSpec(
    key: .udpPort, name: "--udp-port", metavar: "N", value: .number(1...65535), section: .network,
    defaultValue: .value("8189"), help: "the one UDP port all viewers' media uses"),
  OptionSpec(
    key: .iceHost, name: "--ice-host", metavar: "ADDR", value: .address, repeatable: true, section: .network,
    defaultValue: .described("every non-loopback interface address"),
    help: """
      advertise ADDR as the ICE host candidate, the address viewers send media to, instead of every interface \
      address: behind port forwarding or NAT, in tests
      """,
    examples: ["192.168.1.20"]),
  OptionSpec(
    key: .maxViewers, name: "--max-viewers", metavar: "N", value: .number(1...64), section: .network,
    defaultValue: .value("8"), help: "simultaneous viewers"),
  OptionSpec(
    key: .rtspPort, name: "--rtsp-port", metavar: "N", value: .number(0...65534), section: .network,
    defaultValue: .value("8554"),
    help: """
      RTSP port: rtsp://HOST:N/stream for NVRs, Home Assistant, VLC, ffmpeg and GStreamer, over TCP (interleaved) \
      or UDP (RTP from UDP port N, RTCP from N+1); the same stream and credentials (Basic) as the page; 0 turns \
      RTSP off
      """),
  OptionSpec(
    key: .rtspTimeout, name: "--rtsp-timeout", metavar: "SECONDS", value: .number(5...3600), section: .network,
    defaultValue: .value("60"),
    help: """
      an RTSP session ends after this long without a request or RTCP report from a UDP client, or of an \
      interleaved client not reading its stream
      """),
  OptionSpec(
    key: .rtspKeyframeInterval, name: "--rtsp-keyframe-interval", metavar: "SECONDS", value: .number(0...60),
    section: .network, defaultValue: .value("2"),
    help: """
      while RTSP clients play or rtcam records, a keyframe at least this often (players joining mid-stream and \
      NVRs and recordings cutting segments wait for one; RTSP cannot ask); 0: only when a client starts (2 s \
      while recording)
      """),
  OptionSpec(
    key: .minBitrate, name: "--min-bitrate", metavar: "N", value: .bitrate(50_000...14_000_000), section: .network,
    defaultValue: .described("150k, or --bitrate when that is lower"),
    help: """
      the least bandwidth adaptation lowers the encoder's bitrate to, for the weakest viewer's link (a link that \
      carries less gets fewer frames: the base temporal layer); at most --bitrate
      """,
    examples: ["150k", "300k"]),
  OptionSpec(
    key: .maxBitrate, name: "--max-bitrate", metavar: "N", value: .bitrate(50_000...14_000_000), section: .network,
    defaultValue: .described("2M, or --bitrate when that is higher"),
    help: "the most bandwidth adaptation raises the encoder's bitrate to, for the best-served viewer; at least --bitrate",
    examples: ["2M", "4M"]),
  OptionSpec(
    key: .logLevel, name: "--log-level", metavar: "LEVEL", value: .choice(["error", "warn", "info", "debug"]),
    section: .network, defaultValue: .value("info"), help: "the least severe messages the log shows"),
  OptionSpec(
    key: .tlsCert, name: "--tls-cert", metavar: "PEM", value: .text, section: .https,
    help: "serve HTTPS with this certificate chain; goes with --tls-key", examples: ["/etc/rtcam/cert.pem"]),
  OptionSpec(
    key: .tlsKey, name: "--tls-key", metavar: "PEM", value: .text, section: .https,
    help: "the unencrypted private key of --tls-cert", examples: ["/etc/rtcam/key.pem"]),
  OptionSpec(
    key: .tls, name: "--tls", metavar: "self-signed", value: .text, section: .https,
    help: "make a self-signed certificate once and keep it in --state-dir (https-cert.pem, https-key.pem)",
    examples: ["self-signed"]),
  OptionSpec(
    key: .httpsPort, name: "--https-port", metavar: "N", value: .number(1...65535), section: .https,
    defaultValue: .value("8443"), help: "HTTPS port; HTTP keeps serving on --http-port"),
  OptionSpec(
    key: .httpRedirect, name: "--http-redirect", value: .flag, section: .https, defaultValue: .value("false"),
    help: "HTTP answers every request with a 301 redirect to the same path over HTTPS"),
  OptionSpec(
    key: .stateDir, name: "--state-dir", metavar: "PATH", value: .absolutePath, section: .https,
    defaultValue: .value("/var/lib/rtcam"),
    help: """
      where rtcam keeps state across restarts (the self-signed certificate); the service's \
      StateDirectory=rtcam is this directory
      """),
  OptionSpec(
    key: .auth, name: "--auth", metavar: "USER:PASSWORD", value: .text, repeatable: true, section: .access,
    help: "HTTP Basic login required on every page and endpoint; visible to `ps`: prefer --auth-file",
    examples: ["USER:PASSWORD"]),
  OptionSpec(
    key: .authFile, name: "--auth-file", metavar: "PATH", value: .text, repeatable: true, section: .access,
    help: """
      users with salted PBKDF2-SHA256 hashes, one `rtcam passwd` line each (# comments); the service reads it \
      as its dynamic user, in the group video (chown root:video, chmod 640)
      """,
    examples: ["/etc/rtcam/users"]),
  OptionSpec(
    key: .token, name: "--token", metavar: "TOKEN", value: .text, repeatable: true, section: .access,
    help: "Bearer token accepted on /whep, /offer and /whep/ID (WHIP/WHEP players), 8-256 visible ASCII characters",
    examples: ["TOKEN"]),
  OptionSpec(
    key: .tokenFile, name: "--token-file", metavar: "PATH", value: .text, repeatable: true, section: .access,
    help: "tokens, one a line (# comments); read like --auth-file", examples: ["/etc/rtcam/tokens"]),
  OptionSpec(
    key: .maxConnectionsPerIP, name: "--max-connections-per-ip", metavar: "N", value: .number(1...64),
    section: .access, defaultValue: .value("16"),
    help: "HTTP connections one address may hold; a new one drops that address's idlest"),
  OptionSpec(
    key: .maxViewersPerIP, name: "--max-viewers-per-ip", metavar: "N", value: .number(1...64), section: .access,
    defaultValue: .value("4"), help: "viewer sessions one address may hold, then 429"),
  OptionSpec(
    key: .authFailuresPerMinute, name: "--auth-failures-per-minute", metavar: "N", value: .number(1...10_000),
    section: .access, defaultValue: .value("10"), help: "failed logins per address per minute, then 429"),
  OptionSpec(
    key: .offersPerMinute, name: "--offers-per-minute", metavar: "N", value: .number(1...10_000), section: .access,
    defaultValue: .value("30"), help: "offers per address per minute, then 429"),
  OptionSpec(
    key: .snapshotsPerMinute, name: "--snapshots-per-minute", metavar: "N", value: .number(1...10_000),
    section: .access, defaultValue: .value("120"), help: "GET /snapshot.jpg per address per minute, then 429"),
  OptionSpec(
    key: .mjpegFps, name: "--mjpeg-fps", metavar: "N", value: .number(1...30), section: .stills,
    defaultValue: .value("10"), help: "frames per second of /stream.mjpg at most"),
  OptionSpec(
    key: .mjpegQuality, name: "--mjpeg-quality", metavar: "N", value: .number(1...100), section: .stills,
    defaultValue: .value("80"), help: "JPEG quality of stream frames and the default of /snapshot.jpg"),
  OptionSpec(
    key: .maxStreamClients, name: "--max-stream-clients", metavar: "N", value: .number(0...32), section: .stills,
    defaultValue: .value("4"), help: "/stream.mjpg clients at once; 0 turns the stream off"),
  OptionSpec(
    key: .record, name: "--record", metavar: "DIR", value: .text, section: .recording,
    help: """
      record to DIR (it must exist and be writable): fragmented MP4 (H.264 in avc1), one file per segment \
      named by its UTC start (2026-12-06T18-46-36Z.mp4), each fragment of about a second written with one \
      write and fsync, so a crash or power cut loses at most the last second; a full disk pauses recording \
      (the code is in /status) and it tries again every 30 s. GET /recordings lists them, \
      GET /recordings/NAME.mp4 plays them (with Range), behind the same access control
      """,
    examples: ["/var/lib/rtcam/recordings"]),
  OptionSpec(
    key: .recordSegment, name: "--record-segment", metavar: "SECONDS", value: .number(10...3600), section: .recording,
    defaultValue: .value("60"), help: "length of each segment file (it starts at a keyframe)"),
  OptionSpec(
    key: .recordMaxBytes, name: "--record-max-bytes", metavar: "SIZE", value: .text, section: .recording,
    defaultValue: .off,
    help: "delete the oldest segments when all of them take more than SIZE (bytes, or with K, M, G, T: powers of 1024)",
    examples: ["2G", "500M"]),
  OptionSpec(
    key: .recordMaxAge, name: "--record-max-age", metavar: "AGE", value: .text, section: .recording,
    defaultValue: .off,
    help: "delete segments older than AGE (seconds, or with s, m, h, d)", examples: ["7d", "12h"]),
  OptionSpec(
    key: .forward, name: "--forward", metavar: "URL", value: .text, repeatable: true, section: .forwarding,
    help: """
      also send the encoded stream as H.264 RTP (payload type 96) to an RTP ingest such as a Janus Streaming \
      mountpoint: rtp://HOST:PORT (plain) or srtp://HOST:PORT (SRTP with --forward-key); HOST is a numeric IPv4 \
      address or a bracketed IPv6 one (no names). Sender reports go to its RTCP port (PORT+1, or ?rtcp=N) once a \
      second and its PLI/FIR there get a keyframe. Up to 8; the stream is encoded once for everyone
      """,
    examples: ["rtp://192.168.1.20:5004", "srtp://192.168.1.20:5006"]),
  OptionSpec(
    key: .forwardKey, name: "--forward-key", metavar: "KEY", value: .text, section: .forwarding,
    help: """
      base64 of the 30-byte AES_CM_128_HMAC_SHA1_80 master key and salt of the srtp:// forwards (Janus's \
      srtpsuite = 80, srtpcrypto = KEY)
      """,
    examples: ["BASE64KEY"]),
  OptionSpec(
    key: .forwardKeyframeInterval, name: "--forward-keyframe-interval", metavar: "N", value: .seconds(0...3600),
    section: .forwarding, defaultValue: .value("0"),
    help: "a keyframe at least every N seconds for targets that send no feedback; 0: only when asked"),
  OptionSpec(
    key: .frames, name: "--frames", metavar: "N", value: .number(1...100_000), commands: .probe, section: .probe,
    defaultValue: .value("30"), help: "frames to capture and encode"),
  OptionSpec(
    key: .h264Out, name: "--h264-out", metavar: "FILE", value: .text, commands: .probe, section: .probe,
    help: "also write the encoded Annex-B stream to FILE, at most 64 MiB"),
  OptionSpec(
    key: .codec, name: "--codec", metavar: "C", value: .choice(["h264", "fwht"]), commands: .probe, section: .probe,
    defaultValue: .value("h264"),
    help: "with --encoder v4l2m2m:DEV: the coded format asked of it (fwht: the kernel's vicodec, for tests)"),
  OptionSpec(
    key: .json, name: "--json", value: .flag, commands: .devices, section: .devices,
    help: "print one JSON document instead of the list"),
  OptionSpec(
    key: .iterations, name: "--iterations", metavar: "N", value: .number(1000...1_000_000), commands: .passwd,
    section: .passwd, defaultValue: .value("100000"), help: "PBKDF2-SHA256 iterations of the hash"),
  OptionSpec(
    key: .help, name: "--help", short: "h", value: .flag, commands: [.serve, .probe], configFile: false,
    section: .info, help: "show this help and exit"),
  OptionSpec(
    key: .version, name: "--version", short: "V", value: .flag, configFile: false, section: .info,
    help: "print the version and target architecture (e.g. rtcam 0.1.0 (aarch64, embedded)) and exit"),
]

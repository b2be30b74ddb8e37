// The option table, continued (OptionTable.swift): access control, stills, forwarding, and the
// options of probe, devices and passwd.
import App

let accessOptions: [OptionSpec] = [
  OptionSpec(
    .auth, "--auth", "USER:PASSWORD", .text, repeatable: true, in: .access,
    help: "HTTP Basic login required on every page and endpoint; visible to `ps`: prefer --auth-file",
    examples: ["USER:PASSWORD"]),
  OptionSpec(
    .authFile, "--auth-file", "PATH", .text, repeatable: true, in: .access,
    help: "users with salted PBKDF2-SHA256 hashes, one `rtcam passwd` line each (# comments); the service reads it "
      + "as its dynamic user, in the group video (chown root:video, chmod 640)",
    examples: ["/etc/rtcam/users"]),
  OptionSpec(
    .token, "--token", "TOKEN", .text, repeatable: true, in: .access,
    help: "Bearer token accepted on /whep, /offer and /whep/ID (WHIP/WHEP players), 8-256 visible ASCII characters",
    examples: ["TOKEN"]),
  OptionSpec(
    .tokenFile, "--token-file", "PATH", .text, repeatable: true, in: .access,
    help: "tokens, one a line (# comments); read like --auth-file", examples: ["/etc/rtcam/tokens"]),
  OptionSpec(
    .maxConnectionsPerIP, "--max-connections-per-ip", "N", .number(1...64), in: .access, default: .value("16"),
    help: "HTTP connections one address may hold; a new one drops that address's idlest"),
  OptionSpec(
    .maxViewersPerIP, "--max-viewers-per-ip", "N", .number(1...64), in: .access, default: .value("4"),
    help: "viewer sessions one address may hold, then 429"),
  OptionSpec(
    .authFailuresPerMinute, "--auth-failures-per-minute", "N", .number(1...10_000), in: .access,
    default: .value("10"), help: "failed logins per address per minute, then 429"),
  OptionSpec(
    .offersPerMinute, "--offers-per-minute", "N", .number(1...10_000), in: .access, default: .value("30"),
    help: "offers per address per minute, then 429"),
  OptionSpec(
    .snapshotsPerMinute, "--snapshots-per-minute", "N", .number(1...10_000), in: .access, default: .value("120"),
    help: "GET /snapshot.jpg per address per minute, then 429"),
  OptionSpec(
    .mjpegFps, "--mjpeg-fps", "N", .number(1...30), in: .stills, default: .value("10"),
    help: "frames per second of /stream.mjpg at most"),
  OptionSpec(
    .mjpegQuality, "--mjpeg-quality", "N", .number(StillOptions.qualityRange), in: .stills, default: .value("80"),
    help: "JPEG quality of stream frames and the default of /snapshot.jpg"),
  OptionSpec(
    .maxStreamClients, "--max-stream-clients", "N", .number(0...32), in: .stills, default: .value("4"),
    help: "/stream.mjpg clients at once; 0 turns the stream off"),
  OptionSpec(
    .forward, "--forward", "URL", .text, repeatable: true, in: .forwarding,
    help: "also send the encoded stream as H.264 RTP (payload type 96) to an RTP ingest such as a Janus Streaming "
      + "mountpoint: rtp://HOST:PORT (plain) or srtp://HOST:PORT (SRTP with --forward-key); HOST is a numeric IPv4 "
      + "address or a bracketed IPv6 one (no names). Sender reports go to its RTCP port (PORT+1, or ?rtcp=N) once a "
      + "second and its PLI/FIR there get a keyframe. Up to " + String(ForwardOptions.maxTargets)
      + "; the stream is encoded once for everyone",
    examples: ["rtp://192.168.1.20:5004", "srtp://192.168.1.20:5006"]),
  OptionSpec(
    .forwardKey, "--forward-key", "KEY", .text, in: .forwarding,
    help: "base64 of the 30-byte AES_CM_128_HMAC_SHA1_80 master key and salt of the srtp:// forwards (Janus's "
      + "srtpsuite = 80, srtpcrypto = KEY)",
    examples: ["BASE64KEY"]),
  OptionSpec(
    .forwardKeyframeInterval, "--forward-keyframe-interval", "N",
    .seconds(0...ForwardOptions.maxKeyframeIntervalSeconds), in: .forwarding, default: .value("0"),
    help: "a keyframe at least every N seconds for targets that send no feedback; 0: only when asked"),
]

let otherCommandOptions: [OptionSpec] = [
  OptionSpec(
    .frames, "--frames", "N", .number(1...100_000), for: [.probe], in: .probe, default: .value("30"),
    help: "frames to capture and encode"),
  OptionSpec(
    .h264Out, "--h264-out", "FILE", .text, for: [.probe], in: .probe,
    help: "also write the encoded Annex-B stream to FILE, at most " + String(ProbeOptions.maxH264OutBytes >> 20) + " MiB"),
  OptionSpec(
    .json, "--json", "", .flag, for: [.devices], in: .devices, help: "print one JSON document instead of the list"),
  OptionSpec(
    .iterations, "--iterations", "N", .number(PasswordHashLine.iterationRange), for: [.passwd], in: .passwd,
    default: .value(String(PasswordHashLine.defaultIterations)), help: "PBKDF2-SHA256 iterations of the hash"),
]

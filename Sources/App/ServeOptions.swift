import Encoder
import Record
import Wire

/// Options of `rtcam serve` (the default command).
public struct ServeOptions: Equatable, Sendable {
  /// "testsrc", "y4m:PATH", "v4l2:DEVICE", "exec:COMMAND", "rpicam" or "stdin:"; nil = the
  /// default (camera if present, else test pattern).
  public var source: String? = nil
  /// Extra arguments for rpicam-vid with `--source rpicam` (--rpicam-args, already split).
  public var rpicamArgs: [String] = []
  /// V4L2 pixel format to capture (--format YUYV, ...); nil = the camera's best match.
  public var pixelFormat: String? = nil
  public var width = 640
  public var height = 480
  public var fps = 30
  /// The encoder's bitrate at start (--bitrate), bit/s.
  public var bitrate = 800_000
  /// The bounds bandwidth adaptation keeps the encoder's target within (--min-bitrate,
  /// --max-bitrate), bit/s; minBitrate <= bitrate <= maxBitrate (the command line checks it).
  public var minBitrate = ServeOptions.defaultMinBitrate
  public var maxBitrate = ServeOptions.defaultMaxBitrate
  /// The encoder's temporal layers (1...4; 3: 7.5, 15 and 30 fps at 30 fps): viewers on slow
  /// links are sent the lower layers only.
  public var temporalLayers = 3
  /// The encoder's speed/quality trade-off (--preset).
  public var preset = EncoderPreset.default
  /// Which encoder (--encoder): a hardware H.264 encoder when one is found, else OpenH264.
  public var encoder = EncoderRequest.auto
  /// Address the HTTP server (and the UDP media socket) bind to. "::" accepts IPv4 too.
  public var listen = "::"
  public var httpPort = 8080
  public var udpPort = 8189
  /// Addresses advertised as ICE host candidates; empty = every non-loopback interface address.
  public var iceHosts: [String] = []
  public var maxViewers = 8
  public var logLevel = LogLevel.info
  /// Who may watch (off when empty): --auth, --auth-file, --token, --token-file.
  public var auth = AuthConfig()
  /// --auth-file and --token-file paths, read into `auth` by the command line before serving.
  public var authFiles: [String] = []
  public var tokenFiles: [String] = []
  /// HTTPS: off, a certificate and key from PEM files, or a self-signed one kept in `stateDir`.
  public var tls = TlsMode.off
  public var httpsPort = 8443
  /// Where rtcam keeps what must survive a restart (the self-signed HTTPS identity).
  public var stateDir = "/var/lib/rtcam"
  /// The HTTP port answers every request with a redirect to HTTPS (needs `tls`).
  public var redirectHTTP = false
  /// Per-address limits: --max-connections-per-ip, --max-viewers-per-ip, ...
  public var limits = AddressLimitOptions()
  /// Stills and MJPEG (GET /snapshot.jpg, GET /stream.mjpg).
  public var stills = StillOptions()
  /// --forward targets (App/ForwardOptions.swift).
  public var forward = ForwardOptions()
  /// The RTSP server (--rtsp-port, --rtsp-timeout; App/RtspClients.swift).
  public var rtsp = RtspOptions()
  /// --record DIR: fragmented MP4 segments there (nil: no recording), with --record-segment,
  /// --record-max-bytes and --record-max-age.
  public var recordDir: String? = nil
  public var recording = RecorderConfig()

  public init() {}

  /// --min-bitrate when not given (or --bitrate, when that is lower): about what a 640x480
  /// picture's base layer needs to stay recognisable (issue 19's lowest link is 150 kbit/s).
  public static let defaultMinBitrate = 150_000
  /// --max-bitrate when not given (or --bitrate, when that is higher): room above the default
  /// --bitrate (800k) for a good link, well below what a Pi's encoder and Wi-Fi sustain.
  public static let defaultMaxBitrate = 2_000_000
}

/// How `serve` offers HTTPS.
public enum TlsMode: Equatable, Sendable {
  case off
  /// --tls-cert PEM --tls-key PEM
  case files(certificate: String, key: String)
  /// --tls self-signed: made once, then kept in --state-dir so browsers can keep an exception.
  case selfSigned
}

/// Options of the JPEG routes.
public struct StillOptions: Equatable, Sendable {
  /// Frames per second of /stream.mjpg at most (--mjpeg-fps): each one is a JPEG encode on the
  /// capture thread and a copy per client, so it stays below the camera's rate by default.
  public var streamFps = 10
  /// JPEG quality of stream frames (--mjpeg-quality) and the default of /snapshot.jpg.
  public var quality = 80
  /// MJPEG stream clients at once (--max-stream-clients).
  public var maxStreamClients = 4

  /// Qualities accepted (libjpeg's 1...100 scale; `?quality=` is checked against it).
  public static let qualityRange = 1...100

  public init() {}
}

// The application core's inputs and outputs: what the runtime reports to `ServerCore`, and what
// the core asks the runtime to do (`CoreOutput`, one at a time from `pollOutput`).
import Peer
import Wire

/// Where a datagram goes: a viewer's media address on the shared UDP port, or one of a
/// --forward target's two sockets (by the target's index in the forward list).
public enum Destination: Equatable, Sendable {
  case viewer(SocketAddress)
  case forward(Int, ForwardChannel)
  /// Interleaved RTP/RTCP ("$"-framed) on an RTSP client's connection: queued after what the
  /// connection has waiting, like its answers.
  case rtspConnection(ConnectionID)
  /// A datagram from the RTSP server's UDP ports (RTP: --rtsp-port, RTCP: the one above) to a
  /// UDP client's port.
  case rtspUdp(SocketAddress, ForwardChannel)
}

/// What the capture side is asked to do.
public enum CaptureCommand: Equatable, Sendable {
  /// Some viewer or forward needs a keyframe (joined, PLI, FIR, a failed frame, recovery).
  case keyframe
  /// A client waits for a still at this JPEG quality.
  case snapshot(quality: Int)
  /// MJPEG stream clients connected now (stream JPEGs are made only while there are some).
  case streamClients(Int)
  /// Receivers of the H.264 stream now (connected viewers and forwards): with none, frames are
  /// captured but not encoded.
  case consumers(Int)
  /// The encoder's target bitrate (bit/s), from the viewers' estimates (`LayerPolicy`): applied
  /// before the next frame, without a keyframe.
  case bitrate(Int)
}

/// What the core asks of the runtime.
public enum CoreOutput {
  /// A datagram; the bytes are valid until the next call into the core. For a forward the
  /// runtime reports what became of it (`handleSendResult`).
  case transmit(UnsafeRawBufferPointer, to: Destination)
  case connection(ConnectionAction)
  case capture(CaptureCommand)
  /// A line for the log (already filtered by the configured level).
  case log(LogLevel, String)
  /// Nothing more now: give the core its next input, or call `handleTimeout` at this time.
  case timeout(UInt64?)
}

/// What happened on an HTTP client connection.
public enum ConnectionEvent {
  /// Accepted from `peer`; `secure`: on the HTTPS listener (after TLS, the bytes are plaintext).
  case accepted(ConnectionID, peer: SocketAddress, secure: Bool)
  /// Accepted on the RTSP listener (--rtsp-port); the connection's events go to the RTSP server.
  case acceptedRtsp(ConnectionID, peer: SocketAddress)
  /// Bytes read (plaintext).
  case received(ConnectionID, UnsafeRawBufferPointer)
  /// Everything queued for the connection was written.
  case flushed(ConnectionID)
  /// The peer closed, or a read or write failed: the runtime has closed it.
  case gone(ConnectionID)
}

/// The source as /status shows it: what it is, its state and the last known picture format.
public struct SourceStatus: Equatable, Sendable {
  public var spec = ""
  public var state = SourceState.starting
  /// The configured format until the source reports its own.
  public var format = SourceFormat(width: 0, height: 0, fps: 0)
  public var bitrate = 0
  public init(spec: String = "", format: SourceFormat = SourceFormat(width: 0, height: 0, fps: 0), bitrate: Int = 0) {
    self.spec = spec
    self.format = format
    self.bitrate = bitrate
  }
}

// The bounds every client connection is held to (see HttpConnection.swift).

/// Hard limits for one client connection. Every limit is enforced while bytes arrive, so a client
/// can neither make the server buffer without bound nor hold a connection open forever.
public struct HttpLimits: Sendable {
  /// Request line + header lines + the empty line, counted from the first byte of the request
  /// (including ignored leading empty lines). A head of exactly this size is accepted.
  public var maxHeaderBytes = 8192
  /// Header fields per request; more answer 431.
  public var maxHeaderCount = 64
  /// Content-Length above this answers 413 before any body byte is read.
  public var maxBodyBytes = 65536
  /// Deadline for a complete request head, measured from the request's first byte
  /// (and for a fresh connection that sends nothing, from the connection's start).
  public var headerTimeoutNs: UInt64 = 10_000_000_000
  /// Deadline for the body, measured from the moment the head was complete.
  public var bodyTimeoutNs: UInt64 = 10_000_000_000
  /// How long a keep-alive connection may sit without a new request, measured from the moment the
  /// last request was complete.
  public var idleTimeoutNs: UInt64 = 30_000_000_000
  /// At most this many requests are returned by one `receive`/`poll` call; the rest stay buffered
  /// (see `HttpConnection.hasBufferedInput`).
  public var maxRequestsPerReceive = 4
  /// Unparsed (pipelined) input held between calls; more is answered with 400 PIPELINE_OVERFLOW.
  /// Never less than maxHeaderBytes + maxBodyBytes in effect.
  public var maxBufferedBytes = 262_144

  public init() {}
}

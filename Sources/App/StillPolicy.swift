// Which captured frames become JPEGs for /snapshot.jpg and /stream.mjpg: the policy the capture
// thread asks once per frame (no allocation) before it hands a frame to its JPEG thread.

/// What to encode as JPEG from one captured frame.
public struct StillWork: Equatable, Sendable {
  public var quality: Int
  /// For the MJPEG stream clients (this frame is due at the stream's rate).
  public var forStream: Bool
  /// For the waiting snapshot requests.
  public var forSnapshot: Bool

  public init(quality: Int, forStream: Bool, forSnapshot: Bool) {
    self.quality = quality
    self.forStream = forStream
    self.forSnapshot = forSnapshot
  }
}

/// Which captured frames become JPEGs: every frame while a snapshot is wanted (the next frame
/// answers it), and frames at --mjpeg-fps at most while stream clients are connected. Nothing
/// otherwise: no JPEG is made that nobody asked for.
public struct StillPolicy: Sendable {
  public let streamIntervalNs: UInt64
  public let streamQuality: Int
  /// When the next stream frame is due (0: at once).
  var nextStreamNs: UInt64 = 0

  public init(options: StillOptions) {
    streamIntervalNs = 1_000_000_000 / UInt64(max(options.streamFps, 1))
    streamQuality = options.quality
  }

  /// A frame was captured at `now`. `snapshotQuality`: the quality a waiting snapshot asked for.
  public mutating func frame(now: UInt64, streamClients: Int, snapshotQuality: Int?) -> StillWork? {
    // a quarter interval early still counts, so a 30 fps camera gives 10 fps, not 7.5, at 10
    let streamDue = streamClients > 0 && now &+ streamIntervalNs / 4 >= nextStreamNs
    if let q = snapshotQuality, !(streamDue && q == streamQuality) {
      return StillWork(quality: q, forStream: false, forSnapshot: true)
    }
    guard streamDue else { return nil }
    // keep the average rate; after a pause start again from now
    nextStreamNs = now &- min(now, nextStreamNs) > streamIntervalNs ? now &+ streamIntervalNs : nextStreamNs &+ streamIntervalNs
    return StillWork(quality: streamQuality, forStream: true, forSnapshot: snapshotQuality != nil)
  }
}

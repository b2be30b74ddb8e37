// Media sinks: what receives the encoded frames. A frame is cut into RTP payloads once
// (`PacketizedFrame`); every sink (a viewer, a --forward target; later an RTSP client or a
// recorder) writes its own RTP header and protection in front of each payload.
import RTP

/// A receiver of encoded frames. The application core fans a frame out by asking every sink
/// whether it takes the frame, then for each of the frame's packets in turn, and finally tells
/// it the frame is over. The bytes a sink returns stay valid until its next call.
public protocol MediaSink: AnyObject {
  /// Whether this sink takes `frame` (one call per frame, before its packets): not while it
  /// waits for a keyframe, is not connected, or has nowhere to send.
  func beginFrame(_ frame: PacketizedFrame, now: UInt64) -> Bool
  /// Packet `i` of the frame with this sink's RTP header (and SRTP, if it protects), or nil when
  /// there is nothing to send now: a paced sink queued it (it leaves later, through the sink's
  /// own outputs), or it could not be made (the failure is counted, the rest of the frame is
  /// skipped and the sink asks for a keyframe, an event of its own).
  func mediaPacket(_ frame: PacketizedFrame, _ i: Int) -> UnsafeRawBufferPointer?
  /// Every packet of the frame was handed out (or skipped).
  func endFrame(_ frame: PacketizedFrame, now: UInt64)
}

/// One sink's part in the current frame: set by `beginFrame`, read for each packet.
struct SinkFrame {
  /// Takes the current frame.
  var active = false
  /// A packet of the current frame failed: the rest is skipped.
  var failed = false
  /// The frame's RTP timestamp in this sink's stream.
  var timestamp: UInt32 = 0
}

// Which temporal layers one receiver is sent. Upper-layer frames are not referenced by lower
// layers, so a receiver can be given fewer frames per second without a keyframe; its RTP
// sequence numbers stay contiguous because a frame that is not sent is never numbered.

/// A receiver's temporal-layer limit and the frames it must skip.
struct LayerGate {
  /// The highest temporal layer this receiver is sent.
  private(set) var maxLayer: UInt8
  /// A higher limit the core allowed: it takes effect at the next base-layer frame (an upper
  /// layer frame may reference an earlier upper-layer frame this receiver was not sent).
  private(set) var pendingLayer: UInt8? = nil
  /// A frame of this (upper) layer was dropped: frames of this layer and above may reference it,
  /// so they are dropped until a frame of a lower layer comes.
  private(set) var droppedFrom: UInt8? = nil

  init(maxLayer: UInt8) { self.maxLayer = maxLayer }

  /// Whether a frame of `layer` may be sent, as far as the layers go (a keyframe always may).
  mutating func admits(layer: UInt8, keyframe: Bool) -> Bool {
    if keyframe || layer == 0 {
      droppedFrom = nil
      if let p = pendingLayer {
        maxLayer = p
        pendingLayer = nil
      }
    }
    if keyframe { return true }
    if layer > maxLayer { return false }
    if let d = droppedFrom, layer >= d { return false }
    return true
  }

  /// Whether a frame of `layer`, above the limit, could still be sent now and then: it is of the
  /// layer just above the limit and nothing of its layer was skipped since the last lower-layer
  /// frame. Such frames are predicted only from lower layers (each layer's frames reference the
  /// nearest earlier frame of a lower layer in OpenH264's dyadic pattern; the top layer is not
  /// referenced at all), and the layers above them are not sent, so any subset of them decodes.
  func mayTakeExtra(layer: UInt8, keyframe: Bool) -> Bool {
    guard !keyframe, maxLayer < UInt8.max, layer == maxLayer + 1 else { return false }
    if let d = droppedFrom, layer >= d { return false }
    return true
  }

  /// A frame of `layer` (above the base) was dropped for another reason (a full queue).
  mutating func dropped(layer: UInt8) {
    droppedFrom = min(droppedFrom ?? layer, layer)
  }

  /// The core's limit: lower takes effect at once, higher at the next base-layer frame.
  mutating func limit(_ layer: UInt8) {
    if layer <= maxLayer {
      maxLayer = layer
      pendingLayer = nil
    } else {
      pendingLayer = layer
    }
  }
}

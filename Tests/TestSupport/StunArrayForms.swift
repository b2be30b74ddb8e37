// The array form of ICE's in-place STUN routing read (rtcam reads its receive buffer in place).
import ICE

/// `stunLocalUfrag` for a byte array.
public func stunLocalUfrag(_ datagram: [UInt8]) -> String? {
  datagram.withUnsafeBytes { stunLocalUfrag($0) }
}

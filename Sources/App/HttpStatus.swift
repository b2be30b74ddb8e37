import SDP

extension SdpError {
  /// HTTP status for a rejected offer.
  var httpStatus: Int {
    switch self {
    case .tooLarge: return 413
    case .malformed: return 400
    default: return 422
    }
  }
}

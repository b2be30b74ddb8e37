// The names /status shows for the estimator's states.

extension BandwidthUsage {
  /// The delay-based detector's signal, as /status names it.
  public var name: String {
    switch self {
    case .normal: return "normal"
    case .overusing: return "overusing"
    case .underusing: return "underusing"
    }
  }
}

extension RateControlState {
  /// The rate controller's state, as /status names it.
  public var name: String {
    switch self {
    case .increase: return "increase"
    case .hold: return "hold"
    case .decrease: return "decrease"
    }
  }
}

// RecordError: what the recording core reports when its input cannot be taken.

/// Errors from the recording core. Every one carries a stable code (`RECORD_...`) for logs and
/// /metrics; none is fatal to the process.
public enum RecordError: Error, Equatable, Sendable {
  /// The SPS could not be parsed (truncated, out-of-range field, unsupported form).
  case badSps
  /// A keyframe without SPS or PPS before the writer has a configuration.
  case missingParameterSets
  /// An SPS or PPS longer than `FragmentLimits.maxParameterSetBytes`.
  case parameterSetTooLarge
  /// One access unit larger than the fragment buffer: it cannot be recorded.
  case frameTooLarge
  /// A frame whose capture time is before the previous frame's.
  case timeWentBackwards
  /// An MP4 box whose size field is impossible (smaller than its header or past the end).
  case badBox

  /// The stable code for logs and metrics.
  public var code: String {
    switch self {
    case .badSps: return "RECORD_BAD_SPS"
    case .missingParameterSets: return "RECORD_MISSING_PARAMETER_SETS"
    case .parameterSetTooLarge: return "RECORD_PARAMETER_SET_TOO_LARGE"
    case .frameTooLarge: return "RECORD_FRAME_TOO_LARGE"
    case .timeWentBackwards: return "RECORD_TIME_WENT_BACKWARDS"
    case .badBox: return "RECORD_BAD_BOX"
    }
  }
}

import Wire

/// How much the log says; the core tags each line it wants written with one.
public enum LogLevel: Int, Equatable, Comparable, Sendable {
  case error = 0, warn, info, debug
  public init?(name: String) {
    switch name.asciiLowercased {
    case "error": self = .error
    case "warn", "warning": self = .warn
    case "info": self = .info
    case "debug": self = .debug
    default: return nil
    }
  }
  public var name: String {
    switch self {
    case .error: return "error"
    case .warn: return "warn"
    case .info: return "info"
    case .debug: return "debug"
    }
  }
  public static func < (a: LogLevel, b: LogLevel) -> Bool { a.rawValue < b.rawValue }
  /// Whether a log set to this level shows a line of `level` (debug shows everything).
  public func shows(_ level: LogLevel) -> Bool { level <= self }
}

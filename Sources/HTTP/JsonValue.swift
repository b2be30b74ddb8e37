// A JSON value (RFC 8259) as the HTTP API reads it, with its accessors. Reading is JsonParser.swift,
// writing JsonWriter.swift.

/// A parsed JSON value. Objects keep their members in order (duplicate names are rejected by
/// `parseJson`); numbers keep their exact text (use `int64Value`).
public indirect enum JsonValue: Equatable {
  case object([(String, JsonValue)])
  case array([JsonValue])
  case string(String)
  /// The number's text as it appeared ("-12", "1.5e3").
  case number(String)
  case bool(Bool)
  case null

  /// Structural equality; object members compare in order, numbers by text.
  public static func == (a: JsonValue, b: JsonValue) -> Bool {
    switch (a, b) {
    case (.object(let x), .object(let y)):
      guard x.count == y.count else { return false }
      for i in 0..<x.count where x[i].0 != y[i].0 || x[i].1 != y[i].1 { return false }
      return true
    case (.array(let x), .array(let y)): return x == y
    case (.string(let x), .string(let y)): return x == y
    case (.number(let x), .number(let y)): return x == y
    case (.bool(let x), .bool(let y)): return x == y
    case (.null, .null): return true
    default: return false
    }
  }

  /// The member named `key` of an object (nil for other values or a missing member).
  public subscript(key: String) -> JsonValue? {
    guard case .object(let members) = self else { return nil }
    for m in members where m.0 == key { return m.1 }
    return nil
  }

  /// The element at `index` of an array (nil when out of range or not an array).
  public subscript(index: Int) -> JsonValue? {
    guard case .array(let items) = self, index >= 0, index < items.count else { return nil }
    return items[index]
  }

  public var stringValue: String? {
    if case .string(let s) = self { return s }
    return nil
  }

  public var boolValue: Bool? {
    if case .bool(let b) = self { return b }
    return nil
  }

  public var arrayValue: [JsonValue]? {
    if case .array(let a) = self { return a }
    return nil
  }

  public var objectValue: [(String, JsonValue)]? {
    if case .object(let o) = self { return o }
    return nil
  }

  public var isNull: Bool {
    if case .null = self { return true }
    return false
  }

  /// The number as Int64 when it is an integer without fraction or exponent and fits.
  public var int64Value: Int64? {
    guard case .number(let text) = self else { return nil }
    let u = Array(text.utf8)
    var i = 0
    var negative = false
    if i < u.count && u[i] == UInt8(ascii: "-") { negative = true; i += 1 }
    guard i < u.count else { return nil }
    let limit: UInt64 = negative ? UInt64(Int64.max) + 1 : UInt64(Int64.max)
    var v: UInt64 = 0
    while i < u.count {
      let c = u[i]
      guard c >= 48 && c <= 57 else { return nil }
      let (m, o1) = v.multipliedReportingOverflow(by: 10)
      let (s, o2) = m.addingReportingOverflow(UInt64(c - 48))
      guard !o1, !o2, s <= limit else { return nil }
      v = s
      i += 1
    }
    if negative { return v == UInt64(Int64.max) + 1 ? Int64.min : -Int64(v) }
    return Int64(v)
  }

  /// The number as Int when it is an integer that fits.
  public var intValue: Int? {
    guard let v = int64Value, v >= Int64(Int.min), v <= Int64(Int.max) else { return nil }
    return Int(v)
  }

  /// Compact JSON text for this value.
  public var jsonText: String {
    var w = JsonWriter()
    w.value(self)
    return w.text
  }
}

// JsonWriter: compact JSON output with escaping, for /status, errors and answers.
import Wire

/// Builds compact JSON text; strings are escaped with `Wire.jsonEscape`, commas are inserted
/// automatically. Inside an object call `key` before each value.
///
///     var w = JsonWriter()
///     w.object { w in
///       w.key("type"); w.string("answer")
///       w.key("viewers"); w.int(2)
///     }
///     w.text  // {"type":"answer","viewers":2}
public struct JsonWriter: Sendable {
  /// The UTF-8 text written so far.
  public private(set) var bytes: [UInt8] = []
  /// One entry per open container: true while it has no element yet.
  var firstInContainer: [Bool] = []
  var afterKey = false

  public init() {}

  /// The JSON text written so far.
  public var text: String { String(decoding: bytes, as: UTF8.self) }

  mutating func separator() {
    if afterKey {
      afterKey = false
      return
    }
    if let first = firstInContainer.last {
      if !first { bytes.append(UInt8(ascii: ",")) }
      firstInContainer[firstInContainer.count - 1] = false
    }
  }

  mutating func quoted(_ s: String) {
    bytes.append(UInt8(ascii: "\""))
    bytes.append(contentsOf: jsonEscape(s).utf8)
    bytes.append(UInt8(ascii: "\""))
  }

  public mutating func beginObject() {
    separator()
    bytes.append(UInt8(ascii: "{"))
    firstInContainer.append(true)
  }

  public mutating func endObject() {
    _ = firstInContainer.popLast()
    afterKey = false
    bytes.append(UInt8(ascii: "}"))
  }

  public mutating func beginArray() {
    separator()
    bytes.append(UInt8(ascii: "["))
    firstInContainer.append(true)
  }

  public mutating func endArray() {
    _ = firstInContainer.popLast()
    afterKey = false
    bytes.append(UInt8(ascii: "]"))
  }

  /// Writes an object whose members `body` writes.
  public mutating func object(_ body: (inout JsonWriter) -> Void) {
    beginObject()
    body(&self)
    endObject()
  }

  /// Writes an array whose elements `body` writes.
  public mutating func array(_ body: (inout JsonWriter) -> Void) {
    beginArray()
    body(&self)
    endArray()
  }

  /// Writes a member name; the next value written is its value.
  public mutating func key(_ name: String) {
    separator()
    quoted(name)
    bytes.append(UInt8(ascii: ":"))
    afterKey = true
  }

  public mutating func string(_ s: String) {
    separator()
    quoted(s)
  }

  public mutating func int(_ v: Int) {
    separator()
    bytes.append(contentsOf: String(v).utf8)
  }

  public mutating func int64(_ v: Int64) {
    separator()
    bytes.append(contentsOf: String(v).utf8)
  }

  public mutating func uint64(_ v: UInt64) {
    separator()
    bytes.append(contentsOf: String(v).utf8)
  }

  public mutating func bool(_ v: Bool) {
    separator()
    bytes.append(contentsOf: (v ? "true" : "false").utf8)
  }

  public mutating func null() {
    separator()
    bytes.append(contentsOf: "null".utf8)
  }

  /// Inserts already-valid JSON text as one value (e.g. `formatFixed(1234, decimals: 2)`).
  public mutating func raw(_ json: String) {
    separator()
    bytes.append(contentsOf: json.utf8)
  }

  /// Writes a parsed value.
  public mutating func value(_ v: JsonValue) {
    switch v {
    case .object(let members):
      beginObject()
      for (k, m) in members {
        key(k)
        value(m)
      }
      endObject()
    case .array(let items):
      beginArray()
      for item in items { value(item) }
      endArray()
    case .string(let s): string(s)
    case .number(let n): raw(n)
    case .bool(let b): bool(b)
    case .null: null()
    }
  }

  /// `key(name)` then `string(value)`.
  public mutating func field(_ name: String, _ value: String) {
    key(name)
    string(value)
  }

  /// `key(name)` then `int(value)`.
  public mutating func field(_ name: String, _ value: Int) {
    key(name)
    int(value)
  }

  /// `key(name)` then `bool(value)`.
  public mutating func field(_ name: String, _ value: Bool) {
    key(name)
    bool(value)
  }
}

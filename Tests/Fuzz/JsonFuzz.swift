// fuzz-target: json
// fuzz-modules: HTTP
// fuzz-summary: JSON reader (parseJson) and writer (JsonValue.jsonText), as used by POST /offer
//
// Input: JSON text (any bytes).
// Invariants:
// - a rejection's offset lies within the input;
// - whatever parses re-serializes (jsonText) to JSON that parses to the same value, and that text
//   is a fixed point (serializing the re-parsed value gives the same text);
// - a value that parses with maxDepth d also parses, equal, with d + 1, and is nested at most d deep;
//   one that fails with the default depth but parses with 256 is nested deeper than 16;
// - int64Value agrees with the standard library's Int64(text) for every number;
// - the /offer accessors (["type"], ["sdp"], stringValue) never trap.
@testable import HTTP
import Wire

func depth(_ v: JsonValue) -> Int {
  switch v {
  case .object(let m): return 1 + (m.map { depth($0.1) }.max() ?? 0)
  case .array(let a): return 1 + (a.map { depth($0) }.max() ?? 0)
  default: return 0
  }
}

func checkNumbers(_ v: JsonValue) {
  switch v {
  case .object(let m):
    var names = Set<String>()
    for (k, x) in m {
      invariant(names.insert(k).inserted, "duplicate member name kept: " + k)
      checkNumbers(x)
    }
  case .array(let a):
    for x in a { checkNumbers(x) }
  case .number(let text):
    invariant(v.int64Value == Int64(text), "int64Value of " + text + " differs from Int64(text)")
    if let i = v.intValue { invariant(Int64(i) == v.int64Value, "intValue differs from int64Value") }
  default:
    break
  }
}

func parses(_ b: [UInt8], maxDepth: Int) -> JsonValue? {
  do { return try parseJson(b, maxDepth: maxDepth) } catch { return nil }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
  let b = fuzzInput(data, size)
  let v: JsonValue
  do {
    v = try parseJson(b)
  } catch {
    invariant(error.offset >= 0 && error.offset <= b.count, "error offset outside the input")
    invariant(!error.message.isEmpty, "error without message")
    if let deep = parses(b, maxDepth: 256) {
      invariant(depth(deep) > 16, "rejected at depth 16 but only " + String(depth(deep)) + " deep")
    }
    return 0
  }
  let d = depth(v)
  invariant(d <= 16, "nested " + String(d) + " deep with maxDepth 16")
  checkNumbers(v)

  let text = v.jsonText
  let again: JsonValue
  do {
    again = try parseJson(Array(text.utf8), maxDepth: 16)
  } catch {
    invariant(false, "jsonText does not parse: " + error.message + " in " + String(text.prefix(200)))
    return 0
  }
  invariant(again == v, "jsonText parses to a different value: " + String(text.prefix(200)))
  invariant(again.jsonText == text, "jsonText is not a fixed point")

  if d > 0 {
    invariant(parses(b, maxDepth: d - 1) == nil, "parsed " + String(d) + " deep with maxDepth " + String(d - 1))
    invariant(parses(b, maxDepth: d) == v, "fails or differs with maxDepth = its depth")
  }

  // What ServerCore reads from an /offer body.
  if let t = v["type"]?.stringValue, t == "offer" { _ = v["sdp"]?.stringValue?.utf8.count }
  _ = v[0]
  _ = v[-1]
  _ = v[Int.max]
  _ = v.objectValue?.count
  _ = v.arrayValue?.count
  _ = v.boolValue
  _ = v.isNull
  return 0
}

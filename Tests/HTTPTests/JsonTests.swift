import Foundation
import Testing
import TestSupport
@testable import HTTP

func json(_ s: String, maxDepth: Int = 16) throws(JsonError) -> JsonValue { try parseJson(Array(s.utf8), maxDepth: maxDepth) }

func jsonFails(_ s: String, maxDepth: Int = 16) -> JsonError? {
  do {
    _ = try parseJson(Array(s.utf8), maxDepth: maxDepth)
    return nil
  } catch {
    return error
  }
}

@Suite struct JsonParseTests {
  @Test func offerForm() throws {
    let text = "{\"type\":\"offer\",\"sdp\":\"v=0\\r\\no=- 4611731400430051336 2 IN IP4 127.0.0.1\\r\\ns=-\\r\\nt=0 0\\r\\n\"}"
    let v = try json(text)
    #expect(v["type"]?.stringValue == "offer")
    #expect(v["sdp"]?.stringValue == "v=0\r\no=- 4611731400430051336 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n")
    #expect(v["missing"] == nil)
    #expect(v["type"]?["x"] == nil)
  }

  @Test func browserOfferFixture() throws {
    // the real Chromium offer wrapped the way the viewer page posts it
    let path = try fixturePath("chromium-156-recvonly-offer.sdp")
    guard let sdp = try? String(contentsOfFile: path, encoding: .utf8) else {
      Issue.record("fixture missing at \(path)")
      return
    }
    var w = JsonWriter()
    w.object { w in
      w.field("type", "offer")
      w.field("sdp", sdp)
    }
    let v = try parseJson(w.bytes)
    #expect(v["type"]?.stringValue == "offer")
    #expect(v["sdp"]?.stringValue == sdp)
    #expect(sdp.contains("\r\n") || sdp.contains("\n"))
  }

  @Test func nestedValues() throws {
    let v = try json(" { \"a\" : [1, -2, 3.5e-2, {\"b\": [true, false, null]}, []], \"c\": {}, \"d\": \"\" } ")
    #expect(v["a"]?[0] == .number("1"))
    #expect(v["a"]?[1]?.int64Value == -2)
    #expect(v["a"]?[2] == .number("3.5e-2"))
    #expect(v["a"]?[3]?["b"] == .array([.bool(true), .bool(false), .null]))
    #expect(v["a"]?[4] == .array([]))
    #expect(v["a"]?[5] == nil)
    #expect(v["a"]?[-1] == nil)
    #expect(v["c"] == .object([]))
    #expect(v["d"]?.stringValue == "")
    #expect(v["a"]?[3]?["b"]?[0]?.boolValue == true)
    #expect(v["a"]?[3]?["b"]?[2]?.isNull == true)
    #expect(v.objectValue?.map(\.0) == ["a", "c", "d"])
  }

  @Test func scalarsAtTopLevel() throws {
    #expect(try json("\"x\"") == .string("x"))
    #expect(try json("42") == .number("42"))
    #expect(try json(" true ") == .bool(true))
    #expect(try json("null") == .null)
  }

  @Test func escapes() throws {
    #expect(try json(#""a\nb\"c\\d\/e\tf\rg\bh\fi""#).stringValue == "a\nb\"c\\d/e\tf\rg\u{8}h\u{c}i")
    #expect(try json(#""caf\u00e9""#).stringValue == "café")
    #expect(try json(#""\u00E9\u20AC""#).stringValue == "é€")
    #expect(try json(#""\ud83d\ude00""#).stringValue == "😀")
    #expect(try json(#""x\uD83D\uDE00y""#).stringValue == "x😀y")
    #expect(try json(#""\u0000""#).stringValue == "\u{0}")
    #expect(try json("\"raw é 😀\"").stringValue == "raw é 😀")
  }

  @Test func badStrings() {
    #expect(jsonFails(#""\ud83d""#) != nil)  // lone high surrogate at end
    #expect(jsonFails(#""\ud83dx""#) != nil)
    #expect(jsonFails(#""\ud83d\u0041""#) != nil)  // high + non-low
    #expect(jsonFails(#""\ude00""#) != nil)  // lone low surrogate
    #expect(jsonFails(#""\ud83d\ud83d""#) != nil)
    #expect(jsonFails(#""\u12""#) != nil)
    #expect(jsonFails(#""\u12G4""#) != nil)
    #expect(jsonFails(#""\x""#) != nil)
    #expect(jsonFails("\"a\nb\"") != nil)  // raw control character
    #expect(jsonFails("\"abc") != nil)
    #expect(jsonFails("\"abc\\") != nil)
    #expect(throws: JsonError.self) { try parseJson([0x22, 0xC3, 0x28, 0x22]) }  // invalid UTF-8
    #expect(throws: JsonError.self) { try parseJson([0x22, 0xED, 0xA0, 0x80, 0x22]) }  // raw surrogate
    #expect(throws: JsonError.self) { try parseJson([0x22, 0xFF, 0x22]) }
  }

  @Test func errorsCarryMessageAndOffset() {
    let e = jsonFails("[1, 2,, 3]")
    #expect(e?.offset == 6)
    #expect(e?.message.isEmpty == false)
  }

  @Test func numbers() throws {
    for ok in ["0", "-0", "7", "-12", "1.5", "1e10", "1E+2", "-1.25e-3", "9223372036854775807", "123456789012345678901234567890"] {
      #expect(try json(ok) == .number(ok), "\(ok)")
    }
    for bad in ["01", "-", "+1", "1.", ".5", "1e", "1e+", "0x10", "--1", "1.e5", "NaN", "Infinity", "-Infinity"] {
      #expect(jsonFails(bad) != nil, "\(bad)")
    }
    #expect(try json("9223372036854775807").int64Value == Int64.max)
    #expect(try json("-9223372036854775808").int64Value == Int64.min)
    #expect(try json("9223372036854775808").int64Value == nil)
    #expect(try json("-9223372036854775809").int64Value == nil)
    #expect(try json("1.0").int64Value == nil)
    #expect(try json("1e3").int64Value == nil)
    #expect(try json("-0").int64Value == 0)
    #expect(try json("42").intValue == 42)
    #expect(try json("\"42\"").int64Value == nil)
  }

  @Test func depthLimit() throws {
    func nested(_ n: Int) -> String { String(repeating: "[", count: n) + String(repeating: "]", count: n) }
    #expect(try json(nested(16)) != .null)
    #expect(jsonFails(nested(17)) != nil)
    #expect(jsonFails(nested(100_000)) != nil)  // no stack overflow
    #expect(try json("{\"a\":{\"b\":1}}", maxDepth: 2)["a"]?["b"]?.int64Value == 1)
    #expect(jsonFails("{\"a\":{\"b\":1}}", maxDepth: 1) != nil)
    #expect(try json("1", maxDepth: 0) == .number("1"))
    #expect(jsonFails("[]", maxDepth: 0) != nil)
  }

  @Test func sizeLimit() {
    #expect(throws: JsonError.self) { try parseJson(Array("[1,2,3]".utf8), maxBytes: 6) }
    #expect((try? parseJson(Array("[1,2,3]".utf8), maxBytes: 7)) != nil)
  }

  @Test func structuralErrors() {
    for bad in ["", " ", "{", "}", "[", "[1", "[1,]", "{\"a\"}", "{\"a\":}", "{\"a\":1,}", "{a:1}", "{\"a\" 1}",
      "[1 2]", "tru", "nul", "falsey", "'x'", "{\"a\":1}{", "1 2", "[] x", "{\"a\":1}garbage", "\u{feff}1"]
    {
      #expect(jsonFails(bad) != nil, "\(bad)")
    }
  }

  @Test func duplicateNamesRejected() {
    #expect(jsonFails("{\"type\":\"offer\",\"type\":\"answer\"}")?.message == "duplicate member name")
  }

  @Test func equality() throws {
    #expect(try json("{\"a\":1,\"b\":[2]}") == json("{ \"a\": 1, \"b\": [ 2 ] }"))
    #expect(try json("{\"a\":1,\"b\":2}") != json("{\"b\":2,\"a\":1}"))  // ordered
    #expect(try json("1.0") != json("1"))  // numbers compare as text
  }
}

@Suite struct JsonWriterTests {
  @Test func objectsAndArrays() {
    var w = JsonWriter()
    w.object { w in
      w.field("type", "answer")
      w.field("viewers", 2)
      w.field("live", true)
      w.key("fps"); w.raw("29.97")
      w.key("list"); w.array { w in
        w.int(1); w.string("two"); w.null(); w.bool(false)
        w.object { _ in }
        w.array { _ in }
      }
      w.key("big"); w.int64(Int64.min)
      w.key("ubig"); w.uint64(UInt64.max)
    }
    #expect(w.text == "{\"type\":\"answer\",\"viewers\":2,\"live\":true,\"fps\":29.97,\"list\":[1,\"two\",null,false,{},[]],\"big\":-9223372036854775808,\"ubig\":18446744073709551615}")
    #expect((try? parseJson(w.bytes)) != nil)
  }

  @Test func escaping() throws {
    var w = JsonWriter()
    w.beginObject()
    w.key("k\"ey")
    w.string("a\"b\\c\nd\r\te\u{1}f\u{1f}é😀")
    w.endObject()
    #expect(w.text == "{\"k\\\"ey\":\"a\\\"b\\\\c\\nd\\r\\te\\u0001f\\u001fé😀\"}")
    let back = try parseJson(w.bytes)
    #expect(back["k\"ey"]?.stringValue == "a\"b\\c\nd\r\te\u{1}f\u{1f}é😀")
  }

  @Test func sdpAnswerRoundTrip() throws {
    let sdp = "v=0\r\no=- 1 2 IN IP4 0.0.0.0\r\na=fingerprint:sha-256 AB:CD\r\n"
    var w = JsonWriter()
    w.object { w in w.field("type", "answer"); w.field("sdp", sdp) }
    #expect(w.text == "{\"type\":\"answer\",\"sdp\":\"v=0\\r\\no=- 1 2 IN IP4 0.0.0.0\\r\\na=fingerprint:sha-256 AB:CD\\r\\n\"}")
    #expect(try parseJson(w.bytes)["sdp"]?.stringValue == sdp)
  }

  @Test func valueRoundTrip() throws {
    let text = "{\"a\":[1,-2.5e3,\"x\\u00e9\",true,null,{}],\"b\":{\"c\":\"\\\"\"}}"
    let v = try json(text)
    #expect(v.jsonText == "{\"a\":[1,-2.5e3,\"xé\",true,null,{}],\"b\":{\"c\":\"\\\"\"}}")
    #expect(try json(v.jsonText) == v)
  }

  @Test func topLevelScalarAndArray() {
    var w = JsonWriter()
    w.array { w in w.string("a"); w.string("b") }
    #expect(w.text == "[\"a\",\"b\"]")
    var s = JsonWriter()
    s.int(-5)
    #expect(s.text == "-5")
  }
}

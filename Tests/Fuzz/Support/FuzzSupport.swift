// Shared by every fuzz target (tools/fuzz compiles it into each): input helpers and invariant
// checks that stop the run with a message libFuzzer records next to the reproducer.

/// The fuzzer's input as an array.
@inline(__always) func fuzzInput(_ data: UnsafePointer<UInt8>, _ size: Int) -> [UInt8] {
  Array(UnsafeBufferPointer(start: data, count: size))
}

/// Stops the run (a crash for libFuzzer) when an invariant does not hold. Unlike `precondition`
/// the message survives -O, so the log says which invariant broke and where.
@inline(__always) func invariant(
  _ condition: @autoclosure () -> Bool, _ message: @autoclosure () -> String,
  file: StaticString = #fileID, line: UInt = #line
) {
  if !condition() { fatalError("fuzz invariant violated: " + message(), file: file, line: line) }
}

/// Lower-case hex of up to `limit` bytes, for invariant messages.
func fuzzHex(_ b: some Collection<UInt8>, limit: Int = 64) -> String {
  let digits = Array("0123456789abcdef".utf8)
  var out: [UInt8] = []
  for (i, c) in b.enumerated() {
    if i == limit { out += Array("...".utf8); break }
    out.append(digits[Int(c >> 4)])
    out.append(digits[Int(c & 15)])
  }
  return String(decoding: out, as: UTF8.self)
}

/// A small deterministic generator (SplitMix64) for choices derived from the input.
struct FuzzRandom {
  var state: UInt64
  init(seed: UInt64) { state = seed }
  mutating func next() -> UInt64 {
    state &+= 0x9E37_79B9_7F4A_7C15
    var z = state
    z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
    z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
    return z ^ (z >> 31)
  }
  /// 0..<n (n > 0).
  mutating func below(_ n: Int) -> Int { Int(next() % UInt64(n)) }
}

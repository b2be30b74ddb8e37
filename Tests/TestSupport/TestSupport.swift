// What every test target shares: a seeded PRNG, a fake clock for paced sources, and the fixtures
// in Tests/Fixtures (the repository stands alone: nothing is read from outside it).
import Capture
import Foundation

/// A small seeded PRNG (SplitMix64): the same seed gives the same sequence on every machine.
public struct TestPRNG: Sendable {
  public var state: UInt64

  public init(state: UInt64) { self.state = state }

  public mutating func next() -> UInt64 {
    state &+= 0x9E37_79B9_7F4A_7C15
    var z = state
    z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
    z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
    return z ^ (z >> 31)
  }

  public mutating func bytes(_ n: Int) -> [UInt8] { (0..<n).map { _ in UInt8(truncatingIfNeeded: next()) } }

  /// 0..<n (0 when n <= 1).
  public mutating func below(_ n: Int) -> Int { Int(next() % UInt64(max(n, 1))) }
}

/// A controllable clock: `sleepUntil` records the deadline and jumps the time there, so paced
/// sources run instantly and deterministically.
public final class FakeTime {
  public var mono: UInt64
  public var real: UInt64
  public var sleeps: [UInt64] = []

  public init(mono: UInt64 = 1_000_000_000, real: UInt64 = 1_700_000_000_123_000_000) {
    self.mono = mono
    self.real = real
  }

  /// Advances both clocks (time passing while the caller works).
  public func advance(_ ns: UInt64) {
    mono += ns
    real += ns
  }

  public var clock: CaptureClock {
    CaptureClock(
      monotonicNs: { self.mono },
      realtimeNs: { self.real },
      sleepUntil: { deadline in
        self.sleeps.append(deadline)
        if deadline > self.mono { self.advance(deadline - self.mono) }
      })
  }
}

public enum FixtureError: Error { case notFound(String) }

/// The path of Tests/Fixtures/<name>: found from this file (symlinks resolved, as the dev
/// package links test folders), walking up to the repository root.
public func fixturePath(_ name: String) throws -> String {
  var dir = URL(fileURLWithPath: #filePath).resolvingSymlinksInPath().deletingLastPathComponent()
  for _ in 0..<6 {
    let candidate = dir.appendingPathComponent("Fixtures/" + name).standardizedFileURL
    if FileManager.default.fileExists(atPath: candidate.path) { return candidate.path }
    dir = dir.deletingLastPathComponent()
  }
  throw FixtureError.notFound(name)
}

/// The text of Tests/Fixtures/<name> (SDP offers keep their CRLF line ends).
public func fixture(_ name: String) throws -> String {
  try String(contentsOfFile: try fixturePath(name), encoding: .utf8)
}

/// The path of `relative` (e.g. "board/rtcam.conf") in the repository: found like the fixtures,
/// walking up from this file to the folder that holds Package.swift.
public func repositoryPath(_ relative: String) throws -> String {
  var dir = URL(fileURLWithPath: #filePath).resolvingSymlinksInPath().deletingLastPathComponent()
  for _ in 0..<6 {
    if FileManager.default.fileExists(atPath: dir.appendingPathComponent("Package.swift").path) {
      return dir.appendingPathComponent(relative).standardizedFileURL.path
    }
    dir = dir.deletingLastPathComponent()
  }
  throw FixtureError.notFound(relative)
}

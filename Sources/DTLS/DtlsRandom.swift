import CRTCam
import Wire

/// A CTR-DRBG owned by the caller and handed to certificates and endpoints, so that protocol
/// code never reaches for randomness by itself. Seeded from mbedTLS's entropy sources
/// (the kernel), or from fixed bytes in tests.
///
/// Not thread-safe: use one instance per thread.
public final class DtlsRandom {
  let drbg: UnsafeMutablePointer<mbedtls_ctr_drbg_context>
  let entropy: UnsafeMutablePointer<mbedtls_entropy_context>
  /// Fixed seed for the deterministic mode (nil when seeded from the system).
  let fixedSeed: FixedSeed?

  /// Seeds from the system's entropy (mbedtls_entropy_func: getrandom / /dev/urandom).
  public init(personalization: String) throws(DtlsError) {
    drbg = .allocate(capacity: 1)
    entropy = .allocate(capacity: 1)
    fixedSeed = nil
    mbedtls_ctr_drbg_init(drbg)
    mbedtls_entropy_init(entropy)
    let pers = Array(personalization.utf8)
    let ret = pers.withUnsafeBufferPointer { p in
      mbedtls_ctr_drbg_seed(drbg, mbedtls_entropy_func, UnsafeMutableRawPointer(entropy), p.baseAddress, p.count)
    }
    guard ret == 0 else { throw .setup("ctr_drbg_seed", ret) }
  }

  /// Deterministic generator for tests: the same seed gives the same byte stream.
  /// Never use it for real associations.
  public init(deterministicSeed: [UInt8]) throws(DtlsError) {
    drbg = .allocate(capacity: 1)
    entropy = .allocate(capacity: 1)
    let seed = FixedSeed(deterministicSeed)
    fixedSeed = seed
    mbedtls_ctr_drbg_init(drbg)
    mbedtls_entropy_init(entropy)
    let ctx = Unmanaged.passUnretained(seed).toOpaque()
    let ret = mbedtls_ctr_drbg_seed(drbg, { ctx, out, len in
      guard let ctx, let out else { return -1 }
      Unmanaged<FixedSeed>.fromOpaque(ctx).takeUnretainedValue().fill(out, len)
      return 0
    }, ctx, nil, 0)
    guard ret == 0 else { throw .setup("ctr_drbg_seed", ret) }
  }

  deinit {
    mbedtls_ctr_drbg_free(drbg)
    mbedtls_entropy_free(entropy)
    drbg.deallocate()
    entropy.deallocate()
  }

  /// `n` random bytes.
  public func bytes(_ n: Int) -> [UInt8] {
    var out = [UInt8](repeating: 0, count: max(0, n))
    out.withUnsafeMutableBufferPointer { b in fill(b.baseAddress, b.count) }
    return out
  }

  /// Fills `count` bytes at `p` (in chunks of the DRBG's maximum request size).
  func fill(_ p: UnsafeMutablePointer<UInt8>?, _ count: Int) {
    guard let p else { return }
    var done = 0
    while done < count {
      let n = min(count - done, 1024)
      if mbedtls_ctr_drbg_random(UnsafeMutableRawPointer(drbg), p + done, n) != 0 {
        // The DRBG only fails on misuse (request too large) or when its entropy source
        // fails while reseeding; neither happens with a fixed seed or the kernel's entropy.
        // Never hand out predictable bytes: reseed and retry once, else stop the process.
        guard mbedtls_ctr_drbg_reseed(drbg, nil, 0) == 0,
          mbedtls_ctr_drbg_random(UnsafeMutableRawPointer(drbg), p + done, n) == 0
        else { fatalError("ctr_drbg failed") }
      }
      done += n
    }
  }

  /// The `f_rng` context for mbedTLS calls (`mbedtls_ctr_drbg_random` with this pointer).
  var rngContext: UnsafeMutableRawPointer { UnsafeMutableRawPointer(drbg) }
}

/// Entropy source for the deterministic mode: SHA-256(seed || counter) blocks.
final class FixedSeed {
  let seed: [UInt8]
  var counter: UInt32 = 0

  init(_ seed: [UInt8]) { self.seed = seed }

  func fill(_ out: UnsafeMutablePointer<UInt8>, _ len: Int) {
    var done = 0
    while done < len {
      var input = seed
      input.append(UInt8(truncatingIfNeeded: counter >> 24))
      input.append(UInt8(truncatingIfNeeded: counter >> 16))
      input.append(UInt8(truncatingIfNeeded: counter >> 8))
      input.append(UInt8(truncatingIfNeeded: counter))
      counter &+= 1
      let block = Digest.sha256(input)
      var i = 0
      while i < block.count && done < len {
        out[done] = block[i]
        done += 1
        i += 1
      }
    }
  }
}

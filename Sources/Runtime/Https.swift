// The HTTPS identity at start-up: from --tls-cert/--tls-key, or self-signed and kept in
// --state-dir so that a browser's exception for it survives restarts.
import App
import DTLS

/// A start-up failure: the exit code (2 for bad files, like a bad command line) and the message.
struct StartupFailure: Error {
  var exitCode: Int32
  var message: String
}

/// Reads a PEM certificate and key and checks that they belong together.
func loadIdentity(certPath: String, keyPath: String, hint: String = "") throws(StartupFailure) -> TlsIdentity {
  let cert: [UInt8]
  let key: [UInt8]
  do {
    cert = try readSmallFile(certPath, maxBytes: 1 << 16)
    key = try readSmallFile(keyPath, maxBytes: 1 << 16)
  } catch {
    throw StartupFailure(exitCode: 2, message: "TLS_BAD_FILE: " + error.message + hint)
  }
  do { return try TlsIdentity(certificate: cert, key: key, certName: certPath, keyName: keyPath) } catch {
    throw StartupFailure(exitCode: 2, message: error.code + ": " + error.message + hint)
  }
}

/// Makes a self-signed identity and keeps it in the state directory.
func makeSelfSigned(certPath: String, keyPath: String, random: DtlsRandom) throws(StartupFailure) -> TlsIdentity {
  let generated: DtlsCertificate
  let keyPEM: [UInt8]
  do {
    generated = try DtlsCertificate.generate(commonName: "rtcam", random: random)
  } catch {
    throw StartupFailure(exitCode: 1, message: "TLS_SETUP_FAILED: cannot make a certificate: " + error.detail)
  }
  do { keyPEM = try generated.privateKeyPEM() } catch {
    throw StartupFailure(exitCode: 1, message: error.code + ": " + error.message)
  }
  do {
    try writeSmallFile(keyPath, keyPEM, mode: 0o600)
    try writeSmallFile(certPath, generated.certificatePEM, mode: 0o644)
  } catch {
    throw StartupFailure(exitCode: 1, message: "STATE_DIR_FAILED: " + error.message + " (--state-dir)")
  }
  log(.info, "HTTPS: made a self-signed certificate, kept in \(certPath) (SHA-256 \(generated.fingerprintSDP))")
  return TlsIdentity(generated: generated)
}

/// The TLS configuration `serve` runs HTTPS with, or nil when HTTPS is off.
func makeTlsConfig(_ o: ServeOptions, random: DtlsRandom) throws(StartupFailure) -> TlsServerConfig? {
  let identity: TlsIdentity
  switch o.tls {
  case .off:
    return nil
  case .files(let certPath, let keyPath):
    identity = try loadIdentity(certPath: certPath, keyPath: keyPath)
  case .selfSigned:
    let certPath = o.stateDir + "/https-cert.pem"
    let keyPath = o.stateDir + "/https-key.pem"
    if fileExists(certPath) && fileExists(keyPath) {
      identity = try loadIdentity(certPath: certPath, keyPath: keyPath, hint: " (delete both files to make new ones)")
      log(.info, "HTTPS: self-signed certificate from \(certPath)")
    } else {
      identity = try makeSelfSigned(certPath: certPath, keyPath: keyPath, random: random)
    }
  }
  do { return try TlsServerConfig(identity: identity, random: random) } catch {
    throw StartupFailure(exitCode: 1, message: error.code + ": " + error.message)
  }
}

/// rtcam's version, printed by `rtcam --version` and reported in `/status`.
public let rtcamVersion = "0.1.0"

/// The CPU architecture this binary was built for.
public var buildArch: String {
  #if arch(arm64)
  return "aarch64"
  #elseif arch(x86_64)
  return "x86_64"
  #elseif arch(arm)
  return "armv7"
  #else
  return "unknown"
  #endif
}

/// "embedded" for the static device binary, "host" for the SwiftPM build.
public var buildFlavor: String {
  #if hasFeature(Embedded)
  return "embedded"
  #else
  return "host"
  #endif
}

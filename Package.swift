// swift-tools-version:6.0
// rtcam: a WebRTC camera appliance in one static binary.
//
// The same sources build two ways:
//   * here, as an ordinary SwiftPM package (host build, `swift test`), linking Debian's -dev libraries;
//   * as Embedded Swift through tools/build, one fully static binary per arch (the device build).
// Sources/ may import only CRTCam, the standard library and Synchronization.
// tools/build compiles the Swift modules in the order of `deviceModules` below (keep it in sync).
import PackageDescription

let cLibraries: [LinkerSetting] = [
  .linkedLibrary("srtp2"), .linkedLibrary("mbedtls"), .linkedLibrary("mbedx509"),
  .linkedLibrary("mbedcrypto"), .linkedLibrary("openh264"), .linkedLibrary("jpeg"),
  .linkedLibrary("m"), .linkedLibrary("pthread"),
]

// name, dependencies (besides CRTCam)
let deviceModules: [(String, [String])] = [
  ("Wire", []),
  ("ICE", ["Wire"]),
  ("SDP", ["Wire"]),
  ("RTP", ["Wire"]),
  // bandwidth estimation (GCC), the per-viewer pacer and the layer policy: sans-IO, time as input
  ("BWE", ["Wire"]),
  ("SRTP", ["Wire"]),
  ("DTLS", ["Wire"]),
  ("HTTP", ["Wire"]),
  // RTSP 1.0 for NVRs and players (sans-IO: requests, transports, the session's state)
  ("RTSP", ["Wire", "RTP"]),
  // recording (sans-IO): fragmented MP4 from H.264 frames, segment names, retention, listings
  ("Record", ["Wire", "RTP", "HTTP"]),
  ("Capture", ["Wire"]),
  ("Encoder", ["Wire", "Capture"]),
  ("Peer", ["Wire", "ICE", "SDP", "RTP", "BWE", "SRTP", "DTLS"]),
  // the application core (sans-IO): routes, sessions, connection and source policies, status
  ("App", ["Wire", "ICE", "SDP", "RTP", "BWE", "SRTP", "DTLS", "HTTP", "RTSP", "Record", "Capture", "Encoder", "Peer"]),
  // the runtime: poll loop, sockets, threads, frame ring, logging; carries out the core's actions
  ("Runtime", ["Wire", "ICE", "SDP", "RTP", "BWE", "SRTP", "DTLS", "HTTP", "RTSP", "Record", "Capture", "Encoder", "Peer", "App"]),
  // the command line: options, help, probe, devices
  ("CLI", ["Wire", "DTLS", "HTTP", "Record", "Capture", "Encoder", "Peer", "App", "Runtime"]),
]

// Extra modules a test target may use beyond its module's own dependencies.
let extraTestDependencies: [String: [String]] = [
  "Peer": ["Capture", "Encoder", "AllocCounter"],
  "Capture": ["AllocCounter"],
  "App": ["AllocCounter"],
  "BWE": ["AllocCounter"],
  "Encoder": ["AllocCounter"],
  "Record": ["Capture", "Encoder", "AllocCounter"],
]

let swiftSettings: [SwiftSetting] = [
  .enableExperimentalFeature("Extern"),
]

var targets: [Target] = [
  .target(name: "CRTCam", path: "Sources/CRTCam", linkerSettings: cLibraries),
  .executableTarget(
    name: "RTCam", dependencies: ["CLI", "Runtime", "CRTCam"], path: "Sources/RTCam",
    swiftSettings: swiftSettings),
]
// Shared by every test target: seeded PRNG, fake clock, fixtures (Tests/Fixtures), and what only
// tests need of the protocols: the RTP receive side (header parser, H.264 depacketizer), RTCP BYE,
// array forms of SRTP's and STUN's in-place calls, lists of what a DTLS endpoint handed out.
let testSupportDependencies = ["Capture", "RTP", "SRTP", "ICE", "DTLS"]
targets.append(.target(
  name: "TestSupport", dependencies: testSupportDependencies.map { .target(name: $0) },
  path: "Tests/TestSupport"))
// Counts heap allocations per thread (test binary only): pins the allocation-free paths.
targets.append(.target(name: "AllocCounter", path: "Tests/AllocCounter"))
for (name, deps) in deviceModules {
  targets.append(.target(
    name: name, dependencies: ["CRTCam"] + deps.map { .target(name: $0) },
    path: "Sources/\(name)", swiftSettings: swiftSettings))
  targets.append(.testTarget(
    name: "\(name)Tests",
    dependencies: [.target(name: name), "CRTCam", "TestSupport"] + (deps + (extraTestDependencies[name] ?? [])).map { .target(name: $0) },
    path: "Tests/\(name)Tests", resources: nil))
}

let package = Package(
  name: "rtcam",
  products: [.executable(name: "rtcam", targets: ["RTCam"])],
  targets: targets,
  swiftLanguageModes: [.v6]
)

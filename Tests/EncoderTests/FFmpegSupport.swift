import Foundation

/// The ffmpeg command (Debian's ffmpeg package; tools/setup installs it): an H.264 decoder that is
/// not OpenH264's own. Chromium decodes H.264 in software with FFmpeg's decoder, so what this one
/// takes without an error is what a browser's takes.
enum FFmpeg {
  static let path: String? = ["/usr/bin/ffmpeg", "/usr/local/bin/ffmpeg"].first {
    FileManager.default.isExecutableFile(atPath: $0)
  }

  struct Decoded {
    /// What `-v error` printed (empty: no error).
    var errors: String
    var exitStatus: Int32
    /// The luma plane of every picture the decoder put out, in output order.
    var pictures: [[UInt8]]
  }

  /// Decodes the Annex-B stream `stream` of `width`x`height` pictures with
  /// `ffmpeg -v error -i IN -fps_mode passthrough -f rawvideo -pix_fmt gray OUT` (every decoded
  /// picture once, none repeated or dropped for timing) in a fresh temporary directory.
  static func decode(_ stream: [UInt8], width: Int, height: Int, name: String) throws -> Decoded {
    guard let exe = path else { throw CocoaError(.fileNoSuchFile) }
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("rtcam-ffmpeg-" + UUID().uuidString)
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: dir) }
    let input = dir.appendingPathComponent(name + ".h264")
    let output = dir.appendingPathComponent(name + ".gray")
    let log = dir.appendingPathComponent(name + ".log")
    try Data(stream).write(to: input)
    guard FileManager.default.createFile(atPath: log.path, contents: nil) else { throw CocoaError(.fileWriteUnknown) }
    let p = Process()
    p.executableURL = URL(fileURLWithPath: exe)
    p.arguments = [
      "-nostdin", "-v", "error", "-f", "h264", "-i", input.path, "-fps_mode", "passthrough", "-f", "rawvideo",
      "-pix_fmt", "gray", "-y", output.path,
    ]
    p.standardInput = FileHandle.nullDevice
    p.standardOutput = FileHandle.nullDevice
    p.standardError = try FileHandle(forWritingTo: log)
    try p.run()
    p.waitUntilExit()
    let errors = String(decoding: try Data(contentsOf: log), as: UTF8.self)
    let raw = (try? Data(contentsOf: output)) ?? Data()
    let size = width * height
    var pictures: [[UInt8]] = []
    var offset = 0
    while offset + size <= raw.count {
      pictures.append([UInt8](raw[offset..<(offset + size)]))
      offset += size
    }
    return Decoded(errors: errors, exitStatus: p.terminationStatus, pictures: pictures)
  }
}

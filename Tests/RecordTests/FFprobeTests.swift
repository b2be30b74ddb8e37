import Foundation
import Testing

@testable import Record

/// The ffprobe command (Debian's ffmpeg package; tools/setup installs ffmpeg).
enum FFprobe {
  static let path: String? = ["/usr/bin/ffprobe", "/usr/local/bin/ffprobe"].first {
    FileManager.default.isExecutableFile(atPath: $0)
  }

  /// Where the checked files are left for a look (tools/record-check prints ffprobe on them).
  static let directory = "/tmp/rtcam-record-check"

  struct Result {
    var status: Int32
    var errors: String
    /// `key=value` lines of the default output (stream and format sections).
    var fields: [String: String]
  }

  /// `ffprobe -v error -count_frames -show_entries stream=codec_name,width,height,nb_read_frames
  /// -show_entries format=duration FILE`: every frame decoded and counted.
  static func probe(_ file: String) throws -> Result {
    guard let exe = path else { throw CocoaError(.fileNoSuchFile) }
    let p = Process()
    p.executableURL = URL(fileURLWithPath: exe)
    p.arguments = [
      "-v", "error", "-count_frames", "-show_entries", "stream=codec_name,width,height,nb_read_frames",
      "-show_entries", "format=duration", file,
    ]
    let out = Pipe()
    let err = Pipe()
    p.standardInput = FileHandle.nullDevice
    p.standardOutput = out
    p.standardError = err
    try p.run()
    let stdout = out.fileHandleForReading.readDataToEndOfFile()
    let stderr = err.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    var fields: [String: String] = [:]
    for line in String(decoding: stdout, as: UTF8.self).split(separator: "\n") {
      let kv = line.split(separator: "=", maxSplits: 1)
      if kv.count == 2 { fields[String(kv[0])] = String(kv[1]) }
    }
    return Result(status: p.terminationStatus, errors: String(decoding: stderr, as: UTF8.self), fields: fields)
  }

  static func write(_ bytes: [UInt8], _ name: String) throws -> String {
    try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    let path = directory + "/" + name
    try Data(bytes).write(to: URL(fileURLWithPath: path))
    return path
  }
}

/// Files from the writer through a real decoder: FFmpeg's (ffprobe counts the frames it decodes).
@Suite(.enabled(if: FFprobe.path != nil, "ffprobe not found (apt-get install ffmpeg)"), .serialized)
struct FFprobeTests {
  /// 3 s of 640x480 at 30 fps: 90 frames, 3 s.
  @Test func aWholeFile() throws {
    let file = Fmp4ScannerTests.file
    let r = try FFprobe.probe(try FFprobe.write(file, "whole.mp4"))
    print("whole.mp4 (\(file.count) bytes): status \(r.status) \(r.fields) \(r.errors)")
    #expect(r.status == 0 && r.errors.isEmpty, "\(r.errors)")
    #expect(r.fields["codec_name"] == "h264" && r.fields["width"] == "640" && r.fields["height"] == "480")
    #expect(r.fields["nb_read_frames"] == "90")
    let duration = try #require(Double(r.fields["duration"] ?? ""))
    #expect(abs(duration - 3.0) < 0.01, "duration \(duration)")
  }

  /// Cut in the middle of the last fragment's moof (a crash during its write). FFmpeg 5.1 reads
  /// every moof while opening a seekable file and gives up on a cut one ("error reading header"),
  /// so the runtime repairs a segment left open by a crash: it truncates it to the scanner's
  /// `completeBytes`, the end of the last complete fragment. Repaired, the file has the two whole
  /// fragments: 60 frames, 2 s.
  @Test func aFileCutInItsLastMoofPlaysOnceTruncatedToItsCompleteFragments() throws {
    let file = Fmp4ScannerTests.file
    let lastMoof = try #require(boxes(file)?.last { $0.type == "moof" })
    let cut = Array(file.prefix(lastMoof.start + lastMoof.size / 2))
    let asCut = try FFprobe.probe(try FFprobe.write(cut, "cut-moof.mp4"))
    print("cut-moof.mp4 (\(cut.count) of \(file.count) bytes): status \(asCut.status) \(asCut.fields) \(asCut.errors)")
    let summary = Fmp4Scanner.summarize(cut)
    #expect(summary.completeBytes == UInt64(lastMoof.start) && summary.samples == 60)
    let repaired = Array(cut.prefix(Int(summary.completeBytes)))
    let r = try FFprobe.probe(try FFprobe.write(repaired, "cut-moof-repaired.mp4"))
    print("cut-moof-repaired.mp4 (\(repaired.count) bytes): status \(r.status) \(r.fields) \(r.errors)")
    #expect(r.status == 0 && r.errors.isEmpty, "\(r.errors)")
    #expect(r.fields["codec_name"] == "h264" && r.fields["width"] == "640" && r.fields["height"] == "480")
    #expect(r.fields["nb_read_frames"] == "60", "\(r.errors)")
    let duration = try #require(Double(r.fields["duration"] ?? ""))
    #expect(abs(duration - 2.0) < 0.01, "duration \(duration)")
  }

  /// Cut in the middle of the last fragment's mdat: the complete fragments decode, and FFmpeg
  /// also takes the samples of the cut one that are wholly there (its moof lists them).
  @Test func aFileCutInItsLastMdat() throws {
    let file = Fmp4ScannerTests.file
    let lastMdat = try #require(boxes(file)?.last { $0.type == "mdat" })
    let cut = Array(file.prefix(lastMdat.start + lastMdat.size / 2))
    let r = try FFprobe.probe(try FFprobe.write(cut, "cut-mdat.mp4"))
    print("cut-mdat.mp4 (\(cut.count) of \(file.count) bytes): status \(r.status) \(r.fields) \(r.errors)")
    #expect(r.status == 0, "\(r.errors)")
    #expect(r.fields["codec_name"] == "h264" && r.fields["width"] == "640" && r.fields["height"] == "480")
    let frames = try #require(Int(r.fields["nb_read_frames"] ?? ""))
    #expect(frames >= 60 && frames < 90)
    // the scanner, for the listing, counts only the complete fragments
    #expect(Fmp4Scanner.summarize(cut).samples == 60)
  }

  /// 5 s with 2 s segments: three files of 60, 60 and 30 frames, each playable alone.
  @Test func segmentFiles() throws {
    var s = Fmp4Settings()
    s.segmentDurationNs = 2_000_000_000
    var rec = FileCollector(s)
    for au in try encodeTestPattern(count: 150) { try rec.push(au) }
    rec.finish()
    #expect(rec.files.count == 3)
    let frames = ["60", "60", "30"]
    for (i, f) in rec.files.enumerated() {
      let r = try FFprobe.probe(try FFprobe.write(f, "segment\(i).mp4"))
      #expect(r.status == 0 && r.errors.isEmpty, "\(r.errors)")
      #expect(r.fields["codec_name"] == "h264" && r.fields["width"] == "640" && r.fields["height"] == "480")
      #expect(r.fields["nb_read_frames"] == frames[i])
      let expected = i < 2 ? 2.0 : 1.0
      let duration = try #require(Double(r.fields["duration"] ?? ""))
      #expect(abs(duration - expected) < 0.01, "segment \(i): duration \(duration)")
    }
  }
}

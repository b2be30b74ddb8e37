// The recording directory: what is there at start (a segment a crash left open is cut back to
// its last whole fragment; every segment's duration read from its boxes), and retention.
import App
import CRTCam
import Record
import Wire

/// Checks --record DIR at start: it must be a directory rtcam can write to.
func checkRecordDirectory(_ dir: String) throws(StartupFailure) {
  var st = stat()
  guard stat(dir, &st) == 0 else {
    throw StartupFailure(exitCode: 2, message: "RECORD_DIR_MISSING: --record \(dir): \(errnoText(rtc_errno())) "
      + "(create it, and let rtcam's user write to it)")
  }
  guard (st.st_mode & UInt32(S_IFMT)) == UInt32(S_IFDIR) else {
    throw StartupFailure(exitCode: 2, message: "RECORD_DIR_MISSING: --record \(dir) is not a directory")
  }
  guard access(dir, W_OK | X_OK) == 0 else {
    throw StartupFailure(exitCode: 2, message: "RECORD_DIR_NOT_WRITABLE: --record \(dir): \(errnoText(rtc_errno()))")
  }
}

/// A segment file found in the directory.
struct FoundSegment {
  var name: String
  var start: Int64
  var bytes: UInt64
}

extension RecordThread {
  /// The segment files in the directory (names of SegmentName's form only), oldest first.
  func listSegments() -> [FoundSegment] {
    var out: [FoundSegment] = []
    guard let d = opendir(dir) else { return out }
    defer { closedir(d) }
    while let e = readdir(d), out.count < RecordingList.maxEntries * 2 {
      let name = withUnsafePointer(to: &e.pointee.d_name) { p in
        p.withMemoryRebound(to: CChar.self, capacity: 256) { String(cString: $0) }
      }
      guard let start = SegmentName.parse(name) else { continue }
      var st = stat()
      guard stat(dir + "/" + name, &st) == 0, (st.st_mode & UInt32(S_IFMT)) == UInt32(S_IFREG) else { continue }
      out.append(FoundSegment(name: name, start: start, bytes: UInt64(st.st_size)))
    }
    out.sort { $0.start != $1.start ? $0.start < $1.start : $0.name < $1.name }
    return out
  }

  /// At start: lists what earlier runs recorded. The newest segment may have been open at a
  /// crash or power cut: it is cut back to its last whole fragment (removed if none is whole).
  func loadDirectory() {
    let found = listSegments()
    var entries: [RecordingEntry] = []
    for (i, f) in found.enumerated() {
      let summary = scan(f.name, size: f.bytes)
      var bytes = f.bytes
      if i == found.count - 1, summary.completeBytes < f.bytes {
        if summary.fragments == 0 {
          _ = unlink(dir + "/" + f.name)
          log(.warn, "recording: \(f.name) held no whole fragment (cut by a crash or power loss): removed")
          continue
        }
        if truncate(dir + "/" + f.name, off_t(summary.completeBytes)) == 0 {
          log(.warn, "recording: \(f.name) ended inside a fragment (a crash or power loss): cut back to its "
            + "\(summary.fragments) whole fragments")
          bytes = summary.completeBytes
        }
      }
      entries.append(RecordingEntry(name: f.name, startUnixSeconds: f.start, durationMs: summary.durationMs, bytes: bytes))
    }
    state.entries = entries
    log(.info, "recording into \(dir): \(entries.count) segment(s) there from before")
    publish()
  }

  /// Reads a segment's boxes (headers, moov and moof bodies only) for its duration.
  func scan(_ name: String, size: UInt64) -> Fmp4Summary {
    var s = Fmp4Scanner(fileSize: size)
    let f = rtc_open(dir + "/" + name, O_RDONLY | O_CLOEXEC, 0)
    guard f >= 0 else { return s.summary }
    defer { close(f) }
    while case .read(let offset, let count) = s.step {
      var buf = [UInt8](repeating: 0, count: count)
      let n = buf.withUnsafeMutableBytes { pread(f, $0.baseAddress, count, off_t(offset)) }
      guard n == count else { break }
      s.feed(buf)
    }
    return s.summary
  }

  /// Deletes what --record-max-bytes and --record-max-age say must go, oldest first, never the
  /// open segment; the listing follows.
  func applyRetention() {
    recorder.retentionDone()
    let limits = recorder.config.limits
    guard limits.maxBytes != nil || limits.maxAgeSeconds != nil else { return }
    var files: [SegmentFile] = []
    for e in state.entries {
      files.append(SegmentFile(name: e.name, startUnixSeconds: e.startUnixSeconds, bytes: e.bytes,
        durationSeconds: e.durationMs / 1000))
    }
    if let o = state.open { files.append(SegmentFile(name: o.name, startUnixSeconds: o.startUnixSeconds, bytes: o.bytes)) }
    let doomed = Retention.toDelete(files, limits: limits, nowUnixSeconds: Int64(rtc_realtime_ns() / 1_000_000_000),
      open: state.open?.name)
    guard !doomed.isEmpty else { return }
    for name in doomed {
      if unlink(dir + "/" + name) == 0 || rtc_errno() == ENOENT {
        state.entries.removeAll { $0.name == name }
        state.deleted += 1
      }
    }
    log(.info, "recording: retention deleted \(doomed.count) segment(s), the oldest \(doomed[0])")
    publish()
  }
}

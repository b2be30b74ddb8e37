import Testing

@testable import Record

/// Durations of recorded files from their boxes, whole and cut by a crash.
@Suite struct Fmp4ScannerTests {
  /// 3 s of video in one segment file (three fragments), as the writer wrote it.
  static let file: [UInt8] = {
    var r = FileCollector()
    for au in threeSeconds { try? r.push(au) }
    r.finish()
    return r.files.first ?? []
  }()

  @Test func aWholeFile() throws {
    let s = Fmp4Scanner.summarize(Self.file)
    #expect(s.timescale == 90_000 && s.fragments == 3 && s.samples == 90)
    #expect(s.firstDecodeTime == 0 && abs(Int(s.durationTicks) - 270_000) <= 1)
    #expect(s.durationMs == 2999 || s.durationMs == 3000)
    #expect(s.completeBytes == UInt64(Self.file.count) && s.stoppedBy == nil)
  }

  /// Cut anywhere in the last fragment, the file still has the first two.
  @Test func aFileCutInItsLastFragment() throws {
    let top = try #require(boxes(Self.file))
    let lastMoof = try #require(top.last { $0.type == "moof" })
    for cut in [lastMoof.start + 3, lastMoof.start + 8, lastMoof.start + 100, lastMoof.end + 4, Self.file.count - 1] {
      let s = Fmp4Scanner.summarize(Array(Self.file.prefix(cut)))
      #expect(s.fragments == 2 && s.samples == 60, "cut at \(cut)")
      #expect(s.durationTicks == 180_000 && s.durationMs == 2000)
      #expect(s.completeBytes == UInt64(lastMoof.start) && s.stoppedBy == nil)
    }
    let initOnly = Fmp4Scanner.summarize(Array(Self.file.prefix(top[2].start + 20)))
    #expect(initOnly.fragments == 0 && initOnly.durationMs == 0 && initOnly.completeBytes == UInt64(top[2].start))
    #expect(Fmp4Scanner.summarize([]).fragments == 0)
  }

  /// Read piece by piece, the scanner asks for box headers and the moov and moof bodies only.
  @Test func incrementalReadsSkipTheMediaData() throws {
    var s = Fmp4Scanner(fileSize: UInt64(Self.file.count))
    var read = 0
    var reads = 0
    while case .read(let offset, let count) = s.step {
      #expect(count <= Fmp4Scanner.maxBodyBytes)
      s.feed(Array(Self.file[Int(offset)..<Int(offset) + count]))
      read += count
      reads += 1
    }
    #expect(s.summary.samples == 90 && reads == 1 + 2 + 3 * 3)  // ftyp; moov and its body; per fragment moof, its body, mdat
    #expect(read < 4_000, "\(read) of \(Self.file.count) bytes read")
  }

  @Test func badBoxesStopTheScan() {
    var bad = Self.file
    bad[3] = 4  // ftyp's size below its header
    #expect(Fmp4Scanner.summarize(bad).stoppedBy == .badBox)
    #expect(RecordError.badBox.code == "RECORD_BAD_BOX")
    // a moof whose trun claims more samples than it holds
    let top = boxes(Self.file)!
    let moof = top.first { $0.type == "moof" }!
    let trun = find(Self.file, "traf/trun", from: moof.body, to: moof.end)!
    var lying = Self.file
    lying[trun.body + 4] = 0x10
    let s = Fmp4Scanner.summarize(lying)
    #expect(s.stoppedBy == .badBox && s.fragments == 0 && s.completeBytes == UInt64(moof.start))
  }
}

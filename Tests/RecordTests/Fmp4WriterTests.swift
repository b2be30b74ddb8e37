import Testing

@testable import Record

/// Collects what a writer asks for, as a runtime would: files as byte arrays.
struct FileCollector {
  var writer: Fmp4Writer
  var files: [[UInt8]] = []
  var starts: [UInt64] = []
  var open = false
  /// Every action, by name: "begin", "write", "end".
  var log: [String] = []

  init(_ settings: Fmp4Settings = Fmp4Settings()) { writer = Fmp4Writer(settings: settings) }

  mutating func take(_ a: RecordActions) {
    var i = 0
    while i < a.count {
      switch a[i] {
      case .beginSegment(let start):
        #expect(!open)
        open = true
        files.append([])
        starts.append(start)
        log.append("begin")
      case .write(let bytes):
        #expect(open)
        files[files.count - 1].append(contentsOf: bytes)
        log.append("write")
      case .endSegment:
        #expect(open)
        open = false
        log.append("end")
      }
      i += 1
    }
  }

  mutating func push(_ au: EncodedAU) throws {
    take(try writer.push(au.bytes, captureTimeNs: au.captureTimeNs, isKeyframe: au.isKeyframe))
  }

  mutating func finish() { take(writer.finish()) }
}

@Suite struct Fmp4WriterTests {
  /// ftyp + moov, every container's children filling it exactly, and the avcC built from the
  /// encoder's SPS and PPS (ISO/IEC 14496-15 5.3.3.1).
  @Test func theInitSegment() throws {
    let key = try #require(threeSeconds.first)
    #expect(key.isKeyframe)
    var r = FileCollector()
    try r.push(key)
    #expect(r.log == ["begin", "write"])
    #expect(r.starts == [key.captureTimeNs])
    let f = r.files[0]
    let top = try #require(boxes(f))
    #expect(top.map(\.type) == ["ftyp", "moov"])
    #expect(Array(f[8..<12]) == Array("isom".utf8))
    let brands = stride(from: 16, to: top[0].end, by: 4).map { String(decoding: f[$0..<$0 + 4], as: UTF8.self) }
    #expect(brands.contains("iso6") && brands.contains("avc1") && brands.contains("mp41"))
    let moov = top[1]
    #expect(try #require(boxes(f, from: moov.body, to: moov.end)).map(\.type) == ["mvhd", "trak", "mvex"])
    for path in ["trak", "trak/mdia", "trak/mdia/minf", "trak/mdia/minf/stbl", "trak/mdia/minf/dinf", "mvex"] {
      let c = try #require(find(f, path, from: moov.body, to: moov.end), "\(path)")
      #expect(boxes(f, from: c.body, to: c.end) != nil, "children of \(path) add up")
    }
    let tkhd = try #require(find(f, "trak/tkhd", from: moov.body, to: moov.end))
    #expect(u32(f, tkhd.end - 8) == 640 << 16 && u32(f, tkhd.end - 4) == 480 << 16)
    let mdhd = try #require(find(f, "trak/mdia/mdhd", from: moov.body, to: moov.end))
    #expect(u32(f, mdhd.body + 12) == 90_000)
    let hdlr = try #require(find(f, "trak/mdia/hdlr", from: moov.body, to: moov.end))
    #expect(Array(f[hdlr.body + 8..<hdlr.body + 12]) == Array("vide".utf8))
    for table in ["stts", "stsc", "stco"] {
      let t = try #require(find(f, "trak/mdia/minf/stbl/" + table, from: moov.body, to: moov.end))
      #expect(t.size == 16 && u32(f, t.body + 4) == 0)
    }
    let avc1 = try #require(find(f, "trak/mdia/minf/stbl/stsd/avc1", from: moov.body, to: moov.end))
    #expect(UInt16(f[avc1.body + 24]) << 8 | UInt16(f[avc1.body + 25]) == 640)
    #expect(UInt16(f[avc1.body + 26]) << 8 | UInt16(f[avc1.body + 27]) == 480)
    let avcC = try #require(find(f, "trak/mdia/minf/stbl/stsd/avc1/avcC", from: moov.body, to: moov.end))
    let nals = nalUnits(key.bytes)
    let sps = nals[0]
    let pps = nals[1]
    #expect(sps[0] & 0x1F == 7 && pps[0] & 0x1F == 8)
    let expected: [UInt8] =
      [1, 0x42, 0xE0, 0x1F, 0xFF, 0xE1, 0, UInt8(sps.count)] + sps + [1, 0, UInt8(pps.count)] + pps
    #expect(Array(f[avcC.body..<avcC.end]) == expected)
    let trex = try #require(find(f, "mvex/trex", from: moov.body, to: moov.end))
    #expect(u32(f, trex.body + 4) == 1 && u32(f, trex.body + 8) == 1)
  }

  /// The first fragment: 30 frames (1 s at 30 fps), written when the 31st arrives; moof with
  /// mfhd, tfhd (default-base-is-moof), tfdt v1, trun (offset, durations, sizes, flags), and the
  /// samples as 4-byte-length NAL units without SPS/PPS.
  @Test func aFragment() throws {
    var r = FileCollector()
    var i = 0
    while i < 30 {
      try r.push(threeSeconds[i])
      i += 1
    }
    #expect(r.log == ["begin", "write"])
    try r.push(threeSeconds[30])
    #expect(r.log == ["begin", "write", "write"])
    let f = r.files[0]
    let top = try #require(boxes(f))
    #expect(top.map(\.type) == ["ftyp", "moov", "moof", "mdat"])
    let moof = top[2]
    let mdat = top[3]
    #expect(try #require(boxes(f, from: moof.body, to: moof.end)).map(\.type) == ["mfhd", "traf"])
    let mfhd = try #require(find(f, "mfhd", from: moof.body, to: moof.end))
    #expect(u32(f, mfhd.body + 4) == 1)
    let traf = try #require(find(f, "traf", from: moof.body, to: moof.end))
    #expect(try #require(boxes(f, from: traf.body, to: traf.end)).map(\.type) == ["tfhd", "tfdt", "trun"])
    let tfhd = try #require(find(f, "traf/tfhd", from: moof.body, to: moof.end))
    #expect(u32(f, tfhd.body) == 0x0002_0000 && u32(f, tfhd.body + 4) == 1)
    let tfdt = try #require(find(f, "traf/tfdt", from: moof.body, to: moof.end))
    #expect(f[tfdt.body] == 1 && u64(f, tfdt.body + 4) == 0)
    let trun = try #require(find(f, "traf/trun", from: moof.body, to: moof.end))
    #expect(u32(f, trun.body) == 0x0000_0701)
    #expect(u32(f, trun.body + 4) == 30)
    #expect(Int(u32(f, trun.body + 8)) == moof.size + 8)  // data_offset: to mdat's payload
    #expect(trun.size == 20 + 30 * 12)
    var sizes = 0
    var k = 0
    while k < 30 {
      let e = trun.body + 12 + k * 12
      // 1/30 s is 3000 ticks; 33 333 333 ns apart, rounded from the segment's start: 2999 or 3001
      #expect(abs(Int(u32(f, e)) - 3000) <= 1, "sample \(k) lasts 1/30 s")
      sizes += Int(u32(f, e + 4))
      #expect(u32(f, e + 8) == (k == 0 ? 0x0200_0000 : 0x0101_0000))
      k += 1
    }
    #expect(sizes == mdat.size - 8)
    // The first sample: the IDR slice alone, length-prefixed.
    let idr = nalUnits(threeSeconds[0].bytes)[2]
    #expect(Int(u32(f, mdat.body)) == idr.count && f[mdat.body + 4] & 0x1F == 5)
    #expect(Int(u32(f, trun.body + 12 + 4)) == 4 + idr.count)
    #expect(Array(f[mdat.body + 4..<mdat.body + 4 + idr.count]) == idr)
  }

  /// Whole run: 3 s in 1 s fragments, one segment; `finish` writes the last fragment with the
  /// previous interval for its last frame.
  @Test func fragmentsFollowEachOtherWithoutGaps() throws {
    var r = FileCollector()
    for au in threeSeconds { try r.push(au) }
    r.finish()
    #expect(r.log == ["begin", "write", "write", "write", "write", "end"])
    let f = r.files[0]
    let top = try #require(boxes(f))
    #expect(top.map(\.type) == ["ftyp", "moov", "moof", "mdat", "moof", "mdat", "moof", "mdat"])
    var expectedTime: UInt64 = 0
    var seq: UInt32 = 1
    for moof in top where moof.type == "moof" {
      #expect(u32(f, try #require(find(f, "mfhd", from: moof.body, to: moof.end)).body + 4) == seq)
      let tfdt = try #require(find(f, "traf/tfdt", from: moof.body, to: moof.end))
      #expect(u64(f, tfdt.body + 4) == expectedTime)
      let trun = try #require(find(f, "traf/trun", from: moof.body, to: moof.end))
      let n = Int(u32(f, trun.body + 4))
      for k in 0..<n { expectedTime += UInt64(u32(f, trun.body + 12 + k * 12)) }
      seq += 1
    }
    #expect(abs(Int(expectedTime) - 90 * 3000) <= 1)
    #expect(r.writer.stats.framesRecorded == 90 && r.writer.stats.fragments == 3)
  }

  /// Segments: with 2 s segments and a keyframe each second, a new file begins at the first
  /// keyframe 2 s after the segment's start; each file starts with an init segment and an IDR.
  @Test func segmentsStartAtKeyframes() throws {
    var s = Fmp4Settings()
    s.segmentDurationNs = 2_000_000_000
    var r = FileCollector(s)
    let aus = try encodeTestPattern(count: 150, keyEvery: 30)
    for au in aus { try r.push(au) }
    r.finish()
    #expect(r.files.count == 3)
    #expect(r.starts == [aus[0].captureTimeNs, aus[60].captureTimeNs, aus[120].captureTimeNs])
    #expect(r.log.filter { $0 == "begin" }.count == 3 && r.log.filter { $0 == "end" }.count == 3)
    for f in r.files {
      let top = try #require(boxes(f))
      #expect(Array(top.map(\.type).prefix(3)) == ["ftyp", "moov", "moof"])
      let trun = try #require(find(f, "traf/trun", from: top[2].body, to: top[2].end))
      #expect(u32(f, trun.body + 12 + 8) == 0x0200_0000, "a segment starts with a sync sample")
      let tfdt = try #require(find(f, "traf/tfdt", from: top[2].body, to: top[2].end))
      #expect(u64(f, tfdt.body + 4) == 0)
    }
  }

  @Test func framesBeforeTheFirstKeyframeAreSkipped() throws {
    var r = FileCollector()
    for au in threeSeconds[1..<30] { try r.push(au) }
    #expect(r.log.isEmpty && r.writer.stats.framesSkipped == 29)
    try r.push(threeSeconds[30])
    #expect(r.log == ["begin", "write"])
    #expect(r.starts == [threeSeconds[30].captureTimeNs])
  }

  /// A new SPS (another picture size) begins a new segment at once, with its own avcC.
  @Test func aChangedSpsStartsANewSegment() throws {
    var r = FileCollector()
    let small = try encodeTestPattern(count: 10, width: 320, height: 240, startNs: 1_000_000_000)
    for au in small { try r.push(au) }
    for au in threeSeconds[0..<10] { try r.push(au) }
    r.finish()
    #expect(r.log == ["begin", "write", "write", "end", "begin", "write", "write", "end"])
    #expect(r.writer.currentSps?.width == 640)
    let tkhd0 = try #require(find(r.files[0], "moov/trak/tkhd"))
    let tkhd1 = try #require(find(r.files[1], "moov/trak/tkhd"))
    #expect(u32(r.files[0], tkhd0.end - 8) == 320 << 16 && u32(r.files[1], tkhd1.end - 8) == 640 << 16)
  }

  /// A full sample table ends the fragment early; the fragments still follow without gaps.
  @Test func aFullSampleTableEndsTheFragmentEarly() throws {
    var s = Fmp4Settings()
    s.maxSamplesPerFragment = 7
    var r = FileCollector(s)
    for au in threeSeconds[0..<30] { try r.push(au) }
    r.finish()
    let f = r.files[0]
    let counts = try #require(boxes(f)).filter { $0.type == "moof" }.map { m in
      u32(f, find(f, "traf/trun", from: m.body, to: m.end)!.body + 4)
    }
    #expect(counts == [7, 7, 7, 7, 2])
    #expect(r.writer.stats.fragmentsCutShort == 4)
  }

  /// A frame bigger than the fragment buffer is refused (never overflows it); the P frames after
  /// it are skipped until the next keyframe.
  @Test func aFrameLargerThanTheBufferIsRefused() throws {
    var s = Fmp4Settings()
    s.fragmentBufferBytes = 64 * 1024
    var r = FileCollector(s)
    for au in threeSeconds[0..<5] { try r.push(au) }
    let huge: [UInt8] = [0, 0, 0, 1, 0x41] + [UInt8](repeating: 0x55, count: 70_000)
    #expect(throws: RecordError.frameTooLarge) {
      _ = try r.writer.push(huge, captureTimeNs: threeSeconds[5].captureTimeNs, isKeyframe: false)
    }
    for au in threeSeconds[6..<30] { try r.push(au) }
    #expect(r.writer.stats.framesSkipped == 24 && r.writer.stats.framesRefused == 1)
    try r.push(threeSeconds[30])
    r.finish()
    #expect(r.writer.stats.framesRecorded == 6)
    // The sample before the gap lasts until the keyframe after it.
    let f = r.files[0]
    let moof = try #require(boxes(f)?.first { $0.type == "moof" })
    let trun = try #require(find(f, "traf/trun", from: moof.body, to: moof.end))
    #expect(u32(f, trun.body + 4) == 5)
    #expect(abs(Int(u32(f, trun.body + 12 + 4 * 12)) - 26 * 3000) <= 1)
    #expect(RecordError.frameTooLarge.code == "RECORD_FRAME_TOO_LARGE")
  }

  /// Fragments larger than what is left of the buffer: it ends the fragment early instead.
  @Test func aFrameThatDoesNotFitWhatIsLeftEndsTheFragment() throws {
    var s = Fmp4Settings()
    s.fragmentBufferBytes = 64 * 1024
    var r = FileCollector(s)
    let big: [UInt8] = [0, 0, 0, 1, 0x41] + [UInt8](repeating: 0x55, count: 40_000)
    try r.push(threeSeconds[0])
    for k in 1..<4 {
      try r.push(EncodedAU(bytes: big, isKeyframe: false, captureTimeNs: threeSeconds[k].captureTimeNs))
    }
    r.finish()
    let f = r.files[0]
    let fragments = try #require(boxes(f)).filter { $0.type == "moof" }
    #expect(fragments.count == 3)
    #expect(fragments.allSatisfy { $0.size + 40_000 < 64 * 1024 })
  }

  @Test func timeGoingBackwardsIsRefused() throws {
    var r = FileCollector()
    try r.push(threeSeconds[0])
    try r.push(threeSeconds[1])
    #expect(throws: RecordError.timeWentBackwards) {
      _ = try r.writer.push(threeSeconds[2].bytes, captureTimeNs: threeSeconds[0].captureTimeNs, isKeyframe: false)
    }
    try r.push(threeSeconds[3])  // skipped: waits for a keyframe
    #expect(r.writer.stats.framesSkipped == 1)
  }

  @Test func aKeyframeWithoutParameterSetsBeforeAnyIsRefused() {
    var w = Fmp4Writer()
    let idrOnly = [0, 0, 0, 1] + nalUnits(threeSeconds[0].bytes)[2]
    #expect(throws: RecordError.missingParameterSets) {
      _ = try w.push(idrOnly, captureTimeNs: 1, isKeyframe: true)
    }
  }

  /// Access unit delimiters are dropped, SEI kept.
  @Test func audsAreDroppedAndSeiKept() throws {
    var r = FileCollector()
    try r.push(threeSeconds[0])
    let p = nalUnits(threeSeconds[1].bytes)
    let withAud: [UInt8] = [0, 0, 0, 1, 0x09, 0xF0, 0, 0, 1, 0x06, 0x05, 0x01, 0x00, 0x80] + [0, 0, 0, 1] + p[0]
    try r.push(EncodedAU(bytes: withAud, isKeyframe: false, captureTimeNs: threeSeconds[1].captureTimeNs))
    r.finish()
    let f = r.files[0]
    let mdat = try #require(boxes(f)?.first { $0.type == "mdat" })
    let second = mdat.body + 4 + nalUnits(threeSeconds[0].bytes)[2].count
    #expect(u32(f, second) == 5 && f[second + 4] == 0x06)
    #expect(Int(u32(f, second + 9)) == p[0].count)
    #expect(mdat.end == second + 9 + 4 + p[0].count)
  }

  /// `flush` writes what was collected and keeps the segment; the next fragment starts at its
  /// own time (a gap, not a drift), and after `finish` a new clock may start anywhere.
  @Test func flushAndFinish() throws {
    var r = FileCollector()
    for au in threeSeconds[0..<10] { try r.push(au) }
    r.take(r.writer.flush())
    #expect(r.log == ["begin", "write", "write"])
    #expect(r.writer.flush().isEmpty)
    // two seconds later
    for au in threeSeconds[70..<75] { try r.push(au) }
    r.finish()
    #expect(r.log == ["begin", "write", "write", "write", "end"])
    let f = r.files[0]
    let moofs = try #require(boxes(f)).filter { $0.type == "moof" }
    let tfdt = try #require(find(f, "traf/tfdt", from: moofs[1].body, to: moofs[1].end))
    #expect(u64(f, tfdt.body + 4) == Fmp4Writer.ticks(threeSeconds[70].captureTimeNs - threeSeconds[0].captureTimeNs))
    try r.push(EncodedAU(bytes: threeSeconds[0].bytes, isKeyframe: true, captureTimeNs: 1))
    #expect(r.log.suffix(2) == ["begin", "write"])
    #expect(Fmp4Writer.ticks(1_000_000_000) == 90_000 && Fmp4Writer.ticks(UInt64.max) == 1_660_206_966_633_859)
  }
}

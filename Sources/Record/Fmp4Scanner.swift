// Fmp4Scanner: the duration of a fragmented MP4 file from its boxes (ISO/IEC 14496-12 4.2,
// 8.8), for the listing and after a crash, reading only box headers, moov and the moofs.
import Wire

/// What a scan found.
public struct Fmp4Summary: Equatable, Sendable {
  /// The track's timescale (mdhd); 0 if no moov was read.
  public var timescale: UInt32 = 0
  /// Complete fragments: a moof followed by an mdat that is wholly in the file.
  public var fragments = 0
  /// Samples in the complete fragments.
  public var samples = 0
  /// tfdt of the first complete fragment.
  public var firstDecodeTime: UInt64? = nil
  /// tfdt plus the sample durations of the last complete fragment.
  public var endDecodeTime: UInt64 = 0
  /// Length of the file's prefix made of whole boxes ending with a complete fragment (or the
  /// moov): after a crash, the runtime may truncate the file to this.
  public var completeBytes: UInt64 = 0
  /// Why the scan stopped before the end of the file, if it did (`RECORD_BAD_BOX`): the
  /// summary covers what came before.
  public var stoppedBy: RecordError? = nil

  /// Nothing found yet.
  public init() {}

  /// Decode time covered by the complete fragments, in timescale units.
  public var durationTicks: UInt64 { endDecodeTime - (firstDecodeTime ?? endDecodeTime) }

  /// The duration in milliseconds (0 without a timescale).
  public var durationMs: Int64 {
    guard timescale > 0 else { return 0 }
    let t = durationTicks
    return Int64(truncatingIfNeeded: (t / UInt64(timescale)) * 1000 + (t % UInt64(timescale)) * 1000 / UInt64(timescale))
  }
}

/// Walks the top-level boxes of an fMP4 file the runtime reads piece by piece: `step` says
/// which bytes to read next, `feed` takes them. Only moov and moof bodies are read (each at
/// most `maxBodyBytes`); mdat and any other box are skipped by their size. Bounded: at most
/// `maxBoxes` top-level boxes, every size checked against the file's size.
///
///     var s = Fmp4Scanner(fileSize: size)
///     while case .read(let offset, let count) = s.step { s.feed(pread(fd, offset, count)) }
///     s.summary.durationMs
public struct Fmp4Scanner: Sendable {
  /// The next thing to do.
  public enum Step: Equatable, Sendable {
    /// Read `count` bytes at `offset` and `feed` them.
    case read(offset: UInt64, count: Int)
    /// Finished: see `summary`.
    case done
  }

  /// Largest moov or moof body read (rtcam's are under 2 KB and 50 KB); larger stops the scan.
  public static let maxBodyBytes = 1 << 20
  /// Most top-level boxes walked: an hour of 1 s fragments is 7 200 boxes.
  public static let maxBoxes = 100_000
  /// A box header: size, type and an optional 64-bit size.
  static let headerBytes = 16

  /// The size of the file scanned (reads never go past it).
  public let fileSize: UInt64
  /// What the boxes read so far say.
  public private(set) var summary = Fmp4Summary()
  /// What to read next, or `.done`.
  public private(set) var step: Step

  /// The box whose body was asked for.
  var pendingBody: (type: UInt32, end: UInt64)? = nil
  /// A moof read, waiting for its mdat: (tfdt, sum of durations, samples).
  var pendingFragment: (base: UInt64, duration: UInt64, samples: Int)? = nil
  var offset: UInt64 = 0
  var boxes = 0

  /// A scan of a file of `fileSize` bytes; the first step reads its first box header.
  public init(fileSize: UInt64) {
    self.fileSize = fileSize
    step = fileSize >= 8 ? .read(offset: 0, count: Int(min(fileSize, UInt64(Self.headerBytes)))) : .done
  }

  /// Scans a whole file held in memory.
  public static func summarize(_ file: [UInt8]) -> Fmp4Summary {
    var s = Fmp4Scanner(fileSize: UInt64(file.count))
    while case .read(let offset, let count) = s.step {
      let start = Int(offset)
      s.feed(Array(file[start..<min(start + count, file.count)]))
    }
    return s.summary
  }

  /// Takes the bytes `step` asked for.
  public mutating func feed(_ bytes: [UInt8]) {
    guard case .read(_, let count) = step else { return }
    guard bytes.count == count else { return stop(.badBox) }
    if let body = pendingBody {
      pendingBody = nil
      do throws(WireError) {
        if body.type == Self.moov {
          try readMoov(bytes)
          summary.completeBytes = body.end
        } else {
          try readMoof(bytes)
        }
      } catch {
        return stop(.badBox)
      }
      next(at: body.end)
    } else {
      header(bytes)
    }
  }

  static let moov: UInt32 = 0x6D6F_6F76
  static let moof: UInt32 = 0x6D6F_6F66
  static let mdat: UInt32 = 0x6D64_6174

  mutating func stop(_ error: RecordError?) {
    summary.stoppedBy = error
    step = .done
  }

  /// Asks for the header of the box at `at`.
  mutating func next(at: UInt64) {
    offset = at
    boxes += 1
    if at + 8 > fileSize {
      return stop(nil)  // the end, or a partial header of a box cut by a crash
    }
    guard boxes <= Self.maxBoxes else { return stop(.badBox) }
    step = .read(offset: at, count: Int(min(fileSize - at, UInt64(Self.headerBytes))))
  }

  mutating func header(_ b: [UInt8]) {
    var size = UInt64(loadU32(b, 0))
    let type = loadU32(b, 4)
    var headerSize: UInt64 = 8
    if size == 1 {
      guard b.count >= 16 else { return stop(nil) }  // cut inside the header
      size = UInt64(loadU32(b, 8)) << 32 | UInt64(loadU32(b, 12))
      headerSize = 16
    } else if size == 0 {
      size = fileSize - offset  // to the end of the file
    }
    guard size >= headerSize else { return stop(.badBox) }
    let (end, overflow) = offset.addingReportingOverflow(size)
    guard !overflow, end <= fileSize else {
      return stop(nil)  // a box cut by the end of the file: what came before is complete
    }
    if type == Self.moov || type == Self.moof {
      let bodySize = size - headerSize
      guard bodySize <= UInt64(Self.maxBodyBytes) else { return stop(.badBox) }
      if type == Self.moof { pendingFragment = nil }
      pendingBody = (type, end)
      step = .read(offset: offset + headerSize, count: Int(bodySize))
      return
    }
    if type == Self.mdat, let f = pendingFragment {
      pendingFragment = nil
      if summary.firstDecodeTime == nil { summary.firstDecodeTime = f.base }
      summary.endDecodeTime = f.base + f.duration
      summary.fragments += 1
      summary.samples += f.samples
    }
    if pendingFragment == nil { summary.completeBytes = end }
    next(at: end)
  }

  /// The timescale from moov/trak/mdia/mdhd (the first track's).
  mutating func readMoov(_ b: [UInt8]) throws(WireError) {
    guard let trak = try Self.child(b, 0, b.count, "trak"),
      let mdia = try Self.child(b, trak.body, trak.end, "mdia"),
      let mdhd = try Self.child(b, mdia.body, mdia.end, "mdhd")
    else { return }
    var r = ByteReader(b, offset: mdhd.body, end: mdhd.end)
    let version = try r.u8()
    try r.skip(3 + (version == 1 ? 16 : 8))  // flags, creation and modification times
    summary.timescale = try r.u32()
  }

  /// tfdt and the sum of the sample durations of every traf/trun.
  mutating func readMoof(_ b: [UInt8]) throws(WireError) {
    var base: UInt64? = nil
    var duration: UInt64 = 0
    var samples = 0
    var at = 0
    while let traf = try Self.child(b, at, b.count, "traf") {
      var defaultDuration: UInt32 = 0
      if let tfhd = try Self.child(b, traf.body, traf.end, "tfhd") {
        var r = ByteReader(b, offset: tfhd.body, end: tfhd.end)
        let flags = try r.u32() & 0xFF_FFFF
        try r.skip(4)  // track_ID
        if flags & 0x01 != 0 { try r.skip(8) }  // base_data_offset
        if flags & 0x02 != 0 { try r.skip(4) }  // sample_description_index
        if flags & 0x08 != 0 { defaultDuration = try r.u32() }
      }
      if let tfdt = try Self.child(b, traf.body, traf.end, "tfdt"), base == nil {
        var r = ByteReader(b, offset: tfdt.body, end: tfdt.end)
        let version = try r.u8()
        try r.skip(3)
        base = version == 1 ? try r.u64() : UInt64(try r.u32())
      }
      var runAt = traf.body
      while let trun = try Self.child(b, runAt, traf.end, "trun") {
        var r = ByteReader(b, offset: trun.body, end: trun.end)
        let flags = try r.u32() & 0xFF_FFFF
        let count = Int(try r.u32())
        if flags & 0x001 != 0 { try r.skip(4) }  // data_offset
        if flags & 0x004 != 0 { try r.skip(4) }  // first_sample_flags
        var entry = 0
        for bit in [UInt32(0x100), 0x200, 0x400, 0x800] where flags & bit != 0 { entry += 4 }
        samples += count
        if entry == 0 {  // every sample has the default duration
          duration += UInt64(count) * UInt64(defaultDuration)
          runAt = trun.end
          continue
        }
        // the table must be in the box: this bounds the loop by the bytes read
        guard count <= r.remaining / entry else { throw .invalid }
        var k = 0
        while k < count {
          if flags & 0x100 != 0 {
            duration += UInt64(try r.u32())
            try r.skip(entry - 4)
          } else {
            duration += UInt64(defaultDuration)
            try r.skip(entry)
          }
          k += 1
        }
        runAt = trun.end
      }
      at = traf.end
    }
    pendingFragment = (base ?? summary.endDecodeTime, duration, samples)
  }

  /// The first box of `type` laid end to end in `b[from..<to]` (nil if none; throws if the
  /// sizes do not fit).
  static func child(_ b: [UInt8], _ from: Int, _ to: Int, _ type: StaticString) throws(WireError)
    -> (body: Int, end: Int)?
  {
    let code = fourCC(type)
    var at = from
    while at + 8 <= to {
      let size = Int(loadU32(b, at))
      guard size >= 8, size <= to - at else { throw .invalid }
      if loadU32(b, at + 4) == code { return (at + 8, at + size) }
      at += size
    }
    return nil
  }
}

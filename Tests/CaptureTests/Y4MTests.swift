import TestSupport
import Foundation
import Testing
@testable import Capture

@Suite struct Y4MHeaderTests {
  @Test func parsesTheUsualHeaders() throws {
    let h = try Y4MHeader.parse("YUV4MPEG2 W640 H480 F30000:1001 Ip A1:1 C420jpeg XYSCSS=420JPEG\n")
    #expect(h == Y4MHeader(width: 640, height: 480, fpsNum: 30000, fpsDen: 1001, chroma: "420jpeg"))
    #expect(h.roundedFps == 30 && h.frameSize == 640 * 480 * 3 / 2)
    for c in ["420paldv", "420mpeg2", "420"] {
      #expect(try Y4MHeader.parse("YUV4MPEG2 W16 H8 F25:1 C" + c).chroma == c)
    }
    // no C tag means 4:2:0; no F tag means 30 fps; I? is accepted as progressive
    let bare = try Y4MHeader.parse("YUV4MPEG2 W16 H8 I?")
    #expect(bare.chroma == "" && bare.fpsNum == 30 && bare.fpsDen == 1)
  }

  @Test func rejectsWhatWeCannotPlay() {
    func code(_ s: String) -> String? {
      do { _ = try Y4MHeader.parse(s); return nil } catch { return error.code }
    }
    func message(_ s: String) -> String {
      do { _ = try Y4MHeader.parse(s); return "" } catch { return error.message }
    }
    for bad in [
      "YUV4MPEG W16 H8", "", "RIFF", "YUV4MPEG2 H8", "YUV4MPEG2 W16", "YUV4MPEG2 W0 H8", "YUV4MPEG2 Wx H8",
      "YUV4MPEG2 W16 H8 F0:1", "YUV4MPEG2 W16 H8 F30", "YUV4MPEG2 W16 H8 F1000:1", "YUV4MPEG2 W99999 H8",
      "YUV4MPEG2 W15 H8", "YUV4MPEG2 W16 H9",
      "YUV4MPEG2 W16 H8 It", "YUV4MPEG2 W16 H8 Ib", "YUV4MPEG2 W16 H8 Im",
      "YUV4MPEG2 W16 H8 C422", "YUV4MPEG2 W16 H8 C444", "YUV4MPEG2 W16 H8 Cmono", "YUV4MPEG2 W16 H8 C420p10",
    ] {
      #expect(code(bad) == "FORMAT_UNSUPPORTED", "\(bad)")
    }
    #expect(message("YUV4MPEG2 W16 H8 C422").contains("C422"))
    #expect(message("YUV4MPEG2 W16 H8 C422").contains("4:2:0"))
    #expect(message("YUV4MPEG2 W16 H8 It").contains("interlaced"))
    #expect(message("YUV4MPEG2 W15 H8").contains("odd"))
  }
}

@Suite struct Y4MSourceTests {
  @Test func readsFramesAndLoopsAtTheEnd() throws {
    let dir = makeTempDir()
    defer { try? FileManager.default.removeItem(at: dir) }
    let path = writeFile(
      y4mBytes(header: "YUV4MPEG2 W16 H8 F25:1 Ip A1:1 C420jpeg", width: 16, height: 8, frames: 3), name: "a.y4m", in: dir)
    let t = FakeTime()
    var src = try Y4MSource(path: path, clock: t.clock)
    #expect(src.width == 16 && src.height == 8 && src.fps == 25)
    #expect(src.description == "y4m:" + path + " 16x8@25:1")
    var seen: [UInt8] = []
    var times: [UInt64] = []
    for i in 0..<7 {
      let f = try src.nextFrame()
      #expect(f.sequence == UInt64(i))
      #expect(f.width == 16 && f.height == 8 && f.yStride == 16 && f.uvStride == 8)
      let p = planes(f)
      let n = UInt8(i % 3) * 10
      #expect(p.y.allSatisfy { $0 == n } && p.u.allSatisfy { $0 == n + 1 } && p.v.allSatisfy { $0 == n + 2 })
      seen.append(p.y[0])
      times.append(f.captureTimeNs)
    }
    #expect(seen == [0, 10, 20, 0, 10, 20, 0])
    // paced at 25 fps on absolute deadlines, straight across the loop
    for k in 1..<7 { #expect(times[k] - times[0] == UInt64(k) * 40_000_000) }
  }

  @Test func frameParametersAndTruncatedLastFrame() throws {
    let dir = makeTempDir()
    defer { try? FileManager.default.removeItem(at: dir) }
    // frames carry parameters after FRAME; the last frame is cut short: it is skipped
    let path = writeFile(
      y4mBytes(header: "YUV4MPEG2 W8 H4 F30:1", width: 8, height: 4, frames: 3, frameParams: " Ixyz X=1", truncateLastBy: 5),
      name: "b.y4m", in: dir)
    var src = try Y4MSource(path: path, paced: false)
    var seen: [UInt8] = []
    for _ in 0..<5 { seen.append(planes(try src.nextFrame()).v[0]) }
    #expect(seen == [2, 12, 2, 12, 2])
  }

  @Test func missingFileIsSourceNotFound() {
    #expect(throws: CaptureError.fileNotFound("/nonexistent/rtcam/x.y4m")) {
      _ = try Y4MSource(path: "/nonexistent/rtcam/x.y4m")
    }
    do {
      _ = try Y4MSource(path: "/nonexistent.y4m")
      Issue.record("opened a missing file")
    } catch {
      #expect(error.code == "SOURCE_NOT_FOUND")
      #expect(error.message.contains("/nonexistent.y4m"))
    }
  }

  @Test func badFilesAreFormatErrors() throws {
    let dir = makeTempDir()
    defer { try? FileManager.default.removeItem(at: dir) }
    func openError(_ data: Data) -> CaptureError? {
      let path = writeFile(data, name: "x.y4m", in: dir)
      do { _ = try Y4MSource(path: path, paced: false); return nil } catch { return error }
    }
    #expect(openError(Data())?.code == "FORMAT_UNSUPPORTED")
    #expect(openError(Data("RIFF....WAVEfmt ".utf8))?.code == "FORMAT_UNSUPPORTED")
    #expect(openError(Data(repeating: 65, count: 5000))?.code == "FORMAT_UNSUPPORTED")  // no newline
    let chroma = openError(y4mBytes(header: "YUV4MPEG2 W16 H8 F25:1 C422", width: 16, height: 8, frames: 1))
    #expect(chroma?.code == "FORMAT_UNSUPPORTED")
    #expect(chroma?.message.contains("C422") == true)
    let interlaced = openError(y4mBytes(header: "YUV4MPEG2 W16 H8 F25:1 It", width: 16, height: 8, frames: 1))
    #expect(interlaced?.code == "FORMAT_UNSUPPORTED")

    // opens, but the frames are not there or not framed right
    func frameError(_ data: Data) -> CaptureError? {
      let path = writeFile(data, name: "y.y4m", in: dir)
      do {
        var s = try Y4MSource(path: path, paced: false)
        for _ in 0..<3 { _ = try s.nextFrame() }
        return nil
      } catch { return error }
    }
    #expect(frameError(Data("YUV4MPEG2 W16 H8\n".utf8))?.code == "FORMAT_UNSUPPORTED")  // no frames
    #expect(frameError(y4mBytes(header: "YUV4MPEG2 W16 H8", width: 16, height: 8, frames: 1, truncateLastBy: 1))?.code
      == "FORMAT_UNSUPPORTED")  // only a partial frame
    var junk = Data("YUV4MPEG2 W16 H8\n".utf8)
    junk.append(Data(repeating: 7, count: 400))
    #expect(frameError(junk)?.code == "FORMAT_UNSUPPORTED")  // no FRAME marker
    var longLine = Data("YUV4MPEG2 W16 H8\nFRAME".utf8)
    longLine.append(Data(repeating: 32, count: 400))
    #expect(frameError(longLine)?.code == "FORMAT_UNSUPPORTED")
  }

  @Test func directoryIsAnIOError() {
    do {
      _ = try Y4MSource(path: "/tmp", paced: false)
      Issue.record("opened a directory as Y4M")
    } catch {
      #expect(error.code == "SOURCE_IO")
    }
  }
}

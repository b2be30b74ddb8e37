import Capture
import TestSupport
import Foundation

/// Copies a frame's planes into arrays (tight strides).
func planes(_ f: FrameView) -> (y: [UInt8], u: [UInt8], v: [UInt8]) {
  var y: [UInt8] = []
  var u: [UInt8] = []
  var v: [UInt8] = []
  for r in 0..<f.height { y.append(contentsOf: UnsafeBufferPointer(start: f.y + r * f.yStride, count: f.width)) }
  for r in 0..<(f.height / 2) {
    u.append(contentsOf: UnsafeBufferPointer(start: f.u + r * f.uvStride, count: f.width / 2))
    v.append(contentsOf: UnsafeBufferPointer(start: f.v + r * f.uvStride, count: f.width / 2))
  }
  return (y, u, v)
}

/// A fresh temporary directory for one test.
func makeTempDir() -> URL {
  let dir = FileManager.default.temporaryDirectory.appendingPathComponent("rtcam-capture-" + UUID().uuidString)
  try! FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
  return dir
}

/// Builds a Y4M file: the header line, then each frame as "FRAME<frameParams>\n" + I420 bytes
/// where every byte of frame i is `i * 10 + plane` (plane 0 = Y, 1 = U, 2 = V).
func y4mBytes(header: String, width: Int, height: Int, frames: Int, frameParams: String = "", truncateLastBy: Int = 0) -> Data {
  var d = Data((header + "\n").utf8)
  for i in 0..<frames {
    d.append(contentsOf: Array(("FRAME" + frameParams + "\n").utf8))
    d.append(contentsOf: [UInt8](repeating: UInt8(i * 10), count: width * height))
    d.append(contentsOf: [UInt8](repeating: UInt8(i * 10 + 1), count: (width / 2) * (height / 2)))
    d.append(contentsOf: [UInt8](repeating: UInt8(i * 10 + 2), count: (width / 2) * (height / 2)))
  }
  if truncateLastBy > 0 { d.removeLast(truncateLastBy) }
  return d
}

func writeFile(_ data: Data, name: String, in dir: URL) -> String {
  let url = dir.appendingPathComponent(name)
  try! data.write(to: url)
  return url.path
}

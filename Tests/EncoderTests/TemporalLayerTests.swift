import Capture
import Foundation
import TestSupport
import Testing

@testable import Encoder

/// One encoded frame: what the encoder said of it and its access unit.
struct CodedFrame {
  var info: EncodedFrame
  var bytes: [UInt8]
}

/// Encodes `count` frames of the test pattern (fake clock: exact 1/fps spacing; its time strip
/// carries each frame's sequence number) with `settings`, forcing an IDR at the frames in
/// `forced`. Frame skipping is off: every frame comes out.
func encodePattern(_ settings: EncoderSettings, count: Int, forced: Set<Int> = []) throws -> [CodedFrame] {
  let enc = try H264Encoder(settings)
  var src = TestPattern(width: settings.width, height: settings.height, fps: settings.fps, clock: FakeTime().clock)
  var out: [UInt8] = []
  var frames: [CodedFrame] = []
  for i in 0..<count {
    let e = try #require(try enc.encode(try src.nextFrame(), forceKeyframe: forced.contains(i), into: &out), "frame \(i)")
    frames.append(CodedFrame(info: e, bytes: out))
  }
  return frames
}

/// Temporal layers (OpenH264 iTemporalLayerNum): every frame says its layer, and a receiver sent
/// only the lower layers decodes them without errors, in OpenH264's decoder and in FFmpeg's (the
/// one Chromium uses in software). The facts behind it, checked in `upperLayersAreOutsideTheReferenceChain`.
@Suite struct TemporalLayerTests {
  /// OpenH264's coding order (its uiCodingIdx2TemporalId table) for 1 to 4 layers, two groups
  /// of 8 frames: with 3 layers at 30 fps, layer 0 is 7.5 fps, layers 0-1 are 15 fps.
  @Test(arguments: [
    (1, [0, 0, 0, 0, 0, 0, 0, 0]), (2, [0, 1, 0, 1, 0, 1, 0, 1]), (3, [0, 2, 1, 2, 0, 2, 1, 2]),
    (4, [0, 3, 2, 3, 1, 3, 2, 3]),
  ] as [(Int, [UInt8])])
  func everyFrameCarriesItsTemporalLayer(layers: (Int, [UInt8])) throws {
    let frames = try encodePattern(EncoderSettings(temporalLayers: layers.0), count: 16)
    #expect(frames.map(\.info.temporalLayer) == layers.1 + layers.1, "\(layers.0) layers")
    #expect(frames.map(\.info.isKeyframe) == [true] + [Bool](repeating: false, count: 15))
  }

  /// A forced IDR is a layer-0 picture and starts the pattern again (OpenH264 resets its coding
  /// index on every IDR), so a receiver of layer 0 alone gets every keyframe.
  @Test func aForcedKeyframeIsInLayerZeroAndRestartsThePattern() throws {
    let frames = try encodePattern(EncoderSettings(), count: 14, forced: [6])
    #expect(frames.map(\.info.temporalLayer) == [0, 2, 1, 2, 0, 2, 0, 2, 1, 2, 0, 2, 1, 2])
    #expect(frames.indices.filter { frames[$0].info.isKeyframe } == [0, 6])
  }

  /// H.264 §7.4.3: frame_num counts the reference pictures since the IDR. OpenH264 2.3.1 codes
  /// the top layer as non-reference pictures (nal_ref_idc 0) and the lower ones as reference
  /// pictures, each predicted from the nearest lower-layer picture by an explicit
  /// ref_pic_list_modification. So dropping the top layer leaves frame_num whole, but dropping
  /// layer 1 leaves a gap of one after each layer-0 picture: a decoder takes that for loss unless
  /// the SPS sets gaps_in_frame_num_value_allowed_flag (§8.2.5.2: then the gap becomes
  /// "non-existing" frames in the sliding window, which needs max_num_ref_frames >= 2 to keep the
  /// layer-0 picture the next one refers to). OpenH264 sets the flag whenever the stream has more
  /// than one reference frame (au_set.cpp WelsInitSps), as it has with temporal layers.
  @Test func upperLayersAreOutsideTheReferenceChain() throws {
    let frames = try encodePattern(EncoderSettings(), count: 24, forced: [13])
    var sps: ParsedSps? = nil
    var expectedFrameNum = 0
    for (i, f) in frames.enumerated() {
      let nals = splitAnnexB(f.bytes)
      if let s = nals.first(where: { $0.type == 7 }) { sps = try ParsedSps(s.bytes) }
      let p = try #require(sps)
      let slices = nals.filter { $0.type == 1 || $0.type == 5 }
      try #require(slices.count == 1, "frame \(i): one slice")
      let slice = try ParsedSlice(slices[0].bytes, log2MaxFrameNum: p.log2MaxFrameNum)
      if f.info.isKeyframe { expectedFrameNum = 0 }
      #expect(slice.frameNum == expectedFrameNum, "frame \(i)")
      #expect((slice.nalRefIdc == 0) == (f.info.temporalLayer == 2), "frame \(i) of layer \(f.info.temporalLayer)")
      if slice.nalRefIdc != 0 { expectedFrameNum += 1 }
    }
    let p = try #require(sps)
    #expect(p.gapsInFrameNumAllowed && p.maxNumRefFrames >= 2)
    // one layer: every picture a reference, no gaps to allow
    let single = try encodePattern(EncoderSettings(temporalLayers: 1), count: 3)
    let spsNal = try #require(splitAnnexB(single[0].bytes).first { $0.type == 7 })
    #expect(try !ParsedSps(spsNal.bytes).gapsInFrameNumAllowed)
  }

  /// OpenH264's decoder: every picture of layers 0...top decodes without an error and shows the
  /// source frame it was made from.
  @Test(arguments: [0, 1, 2] as [UInt8])
  func openH264DecodesTheLowerLayersAlone(top: UInt8) throws {
    let frames = try encodePattern(EncoderSettings(), count: 60, forced: [29])
    let kept = frames.filter { $0.info.temporalLayer <= top }
    #expect(kept.count == [16, 31, 60][Int(top)])
    let dec = try #require(TestDecoder())
    for f in kept {
      guard let pic = dec.decode(f.bytes) else {
        Issue.record("frame \(f.info.sequence) of layer \(f.info.temporalLayer) did not decode with layers 0-\(top)")
        continue
      }
      let strip = decodeTimestampStrip(luma: pic.luma, width: pic.width, height: pic.height, stride: pic.width)
      #expect(strip?.frame == UInt16(f.info.sequence), "layers 0-\(top)")
    }
  }

  /// The negative control: the same layer-0 stream with the SPS's gaps_in_frame_num flag cleared
  /// fails in OpenH264's decoder (measured: 2 of 16 pictures decode, the IDRs), so the flag is
  /// what makes the dropped layers legal, and the test above would catch a stream without it.
  /// (FFmpeg conceals a frame_num gap silently whether or not the flag allows it: its `-v error`
  /// check alone could not tell.)
  @Test func withoutTheGapsFlagLayerZeroAloneFailsToDecode() throws {
    let frames = try encodePattern(EncoderSettings(), count: 60, forced: [29])
    let dec = try #require(TestDecoder())
    var decoded: [Bool] = []
    for f in frames where f.info.temporalLayer == 0 {
      var au: [UInt8] = []
      for nal in splitAnnexB(f.bytes) { au += [0, 0, 0, 1] + (nal.type == 7 ? try clearingGapsAllowed(nal.bytes) : nal.bytes) }
      decoded.append(dec.decode(au) != nil)
    }
    #expect(decoded.count == 16)
    #expect(decoded.indices.filter { decoded[$0] } == [0, 8], "only the two IDRs decode")
  }

  /// FFmpeg's decoder (`ffmpeg -v error`), as a browser would get the stream with upper layers left
  /// out: no error, every frame sent is one picture out, and it is the right picture.
  @Test func ffmpegDecodesEveryLayerSubsetWithoutErrors() throws {
    try #require(FFmpeg.path != nil, "ffmpeg is not installed (tools/setup installs it)")
    let frames = try encodePattern(EncoderSettings(), count: 90, forced: [45])
    for top: UInt8 in 0...2 {
      let kept = frames.filter { $0.info.temporalLayer <= top }
      let decoded = try FFmpeg.decode(kept.flatMap(\.bytes), width: 640, height: 480, name: "layers-0-\(top)")
      #expect(decoded.exitStatus == 0 && decoded.errors.isEmpty, "layers 0-\(top): \(decoded.errors)")
      #expect(decoded.pictures.count == kept.count, "layers 0-\(top)")
      for (f, luma) in zip(kept, decoded.pictures) {
        let strip = decodeTimestampStrip(luma: luma, width: 640, height: 480, stride: 640)
        #expect(strip?.frame == UInt16(f.info.sequence), "layers 0-\(top)")
      }
    }
  }
}

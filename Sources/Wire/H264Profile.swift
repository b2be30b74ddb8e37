/// An H.264 profile and level as the three bytes that follow the NAL header in a sequence parameter
/// set (profile_idc, the constraint_set flags, level_idc), which are also SDP's `profile-level-id`
/// (RFC 6184 §8.1).
public struct H264ProfileLevel: Equatable, Sendable {
  public var profileIdc: UInt8
  public var constraintFlags: UInt8
  public var levelIdc: UInt8

  public init(profileIdc: UInt8, constraintFlags: UInt8, levelIdc: UInt8) {
    self.profileIdc = profileIdc
    self.constraintFlags = constraintFlags
    self.levelIdc = levelIdc
  }

  /// What rtcam sends, signals in every SDP answer and writes into every SPS: constrained baseline
  /// (profile_idc 66 with constraint_set0, 1 and 2), level 3.1 — `42e01f`, the profile-level-id
  /// that browsers offer for constrained baseline. A baseline stream without FMO, ASO and redundant
  /// slices (OpenH264's) meets constraint_set2 (Extended profile) as well, so setting that flag
  /// changes nothing a decoder must support.
  public static let sent = H264ProfileLevel(profileIdc: 0x42, constraintFlags: 0xE0, levelIdc: 0x1F)

  /// The bytes as they stand in the SPS.
  public var bytes: [UInt8] { [profileIdc, constraintFlags, levelIdc] }

  /// Lower-case hex for SDP, e.g. "42e01f".
  public var hex: String { Hex.encode(bytes) }
}

// SRTP module: see README and DESIGN notes.
import Wire

public enum SRTPModule { public static let name = "SRTP" }

// RTP module: see README and DESIGN notes.
import Wire

public enum RTPModule { public static let name = "RTP" }

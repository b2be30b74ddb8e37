// SDP module: see README and DESIGN notes.
import Wire

public enum SDPModule { public static let name = "SDP" }

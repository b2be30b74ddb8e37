// DTLS module: see README and DESIGN notes.
import Wire

public enum DTLSModule { public static let name = "DTLS" }

// Peer module: see README and DESIGN notes.
import Wire

public enum PeerModule { public static let name = "Peer" }

// HTTP module: see README and DESIGN notes.
import Wire

public enum HTTPModule { public static let name = "HTTP" }

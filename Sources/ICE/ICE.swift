// ICE module: see README and DESIGN notes.
import Wire

public enum ICEModule { public static let name = "ICE" }

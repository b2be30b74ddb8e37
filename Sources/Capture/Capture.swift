// Capture module: see README and DESIGN notes.
import Wire

public enum CaptureModule { public static let name = "Capture" }

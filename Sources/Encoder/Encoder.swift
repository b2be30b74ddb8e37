// Encoder module: see README and DESIGN notes.
import Wire

public enum EncoderModule { public static let name = "Encoder" }

public enum ServerModule { public static let name = "Server" }

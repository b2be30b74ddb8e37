// A program started for a process source (`exec:`, `rpicam`): starting it (through the C shim
// rtc_spawn, which forks and execs), telling how it ended, and stopping it with SIGTERM, then
// SIGKILL after a grace period, always reaping it.
import CRTCam
import Wire

/// The files execve tries for `program`, in order: the program itself when it contains a slash,
/// else every directory of `path` (a PATH value; empty entries mean the current directory, unset
/// means /usr/local/bin:/usr/bin:/bin) joined with it.
public func executableCandidates(_ program: String, path: String?) -> [String] {
  if program.utf8.contains(UInt8(ascii: "/")) { return [program] }
  let dirs = (path ?? "/usr/local/bin:/usr/bin:/bin").splitASCII(UInt8(ascii: ":"))
  return dirs.map { ($0.isEmpty ? "." : $0) + "/" + program }
}

/// "SIGTERM" for 15 and so on, for the signals a program usually dies of; else "signal N".
public func signalName(_ sig: Int32) -> String {
  let names: [(Int32, String)] = [
    (SIGHUP, "SIGHUP"), (SIGINT, "SIGINT"), (SIGQUIT, "SIGQUIT"), (SIGILL, "SIGILL"), (SIGABRT, "SIGABRT"),
    (SIGBUS, "SIGBUS"), (SIGFPE, "SIGFPE"), (SIGKILL, "SIGKILL"), (SIGSEGV, "SIGSEGV"), (SIGPIPE, "SIGPIPE"),
    (SIGALRM, "SIGALRM"), (SIGTERM, "SIGTERM"), (SIGUSR1, "SIGUSR1"), (SIGUSR2, "SIGUSR2"),
  ]
  for (n, name) in names where n == sig { return name }
  return "signal " + String(Int(sig))
}

/// One started program, the leader of its own process group. Stopped and reaped when dropped.
final class ChildProcess {
  let pid: Int32
  /// argv[0], for messages.
  let program: String
  /// SIGTERM, then this long before SIGKILL.
  let stopGraceNs: UInt64
  /// The wait status once reaped.
  private(set) var status: Int32? = nil
  /// Reaped by someone else (waitpid said ECHILD): how it ended is unknown.
  private(set) var lost = false

  /// Starts `argv` (argv[0] looked up as `executableCandidates` says) with stdout on a pipe.
  /// Returns the child and the pipe's read end. A program that cannot be executed is
  /// `commandNotFound` with the errno of its failed execve.
  static func start(_ argv: [String], stopGraceNs: UInt64) throws(CaptureError) -> (ChildProcess, Int32) {
    guard let program = argv.first, !program.isEmpty else { throw .badFormat("empty command") }
    let envPath = getenv("PATH").map { String(cString: $0) }
    let candidates = executableCandidates(program, path: envPath)
    // C strings for the shim, made before the fork (the child must not allocate)
    var paths: [UnsafePointer<CChar>?] = candidates.map { $0.withCString { UnsafePointer(strdup($0)) } }
    var args: [UnsafeMutablePointer<CChar>?] = argv.map { $0.withCString { strdup($0) } }
    args.append(nil)
    defer {
      for p in paths { free(UnsafeMutableRawPointer(mutating: p)) }
      for a in args { free(a) }
    }
    var fd: Int32 = -1
    var error: Int32 = 0
    var stage: Int32 = 0
    let pid = paths.withUnsafeMutableBufferPointer { p in
      args.withUnsafeMutableBufferPointer { a in
        rtc_spawn(p.baseAddress, Int32(candidates.count), a.baseAddress, &fd, &error, &stage)
      }
    }
    if pid < 0 {
      if stage == 1 { throw .commandNotFound(program, error) }
      throw .io("start " + program, error)
    }
    return (ChildProcess(pid: pid, program: program, stopGraceNs: stopGraceNs), fd)
  }

  init(pid: Int32, program: String, stopGraceNs: UInt64) {
    self.pid = pid
    self.program = program
    self.stopGraceNs = stopGraceNs
  }

  deinit { stop() }

  /// Reaps it if it has ended (never blocks); true once it has.
  @discardableResult
  func poll() -> Bool {
    if status != nil || lost { return true }
    var st: Int32 = 0
    let r = rtc_waitpid(pid, &st, 1)
    if r == pid {
      status = st
      return true
    }
    if r < 0 {
      lost = true
      return true
    }
    return false
  }

  /// Waits (in 10 ms steps) until it has ended or `ns` passed; true if it has ended.
  func waitExit(upToNs ns: UInt64) -> Bool {
    let deadline = rtc_monotonic_ns() &+ ns
    while !poll() {
      let now = rtc_monotonic_ns()
      if now >= deadline { return false }
      sleepUntilMonotonic(min(deadline, now &+ 10_000_000))
    }
    return true
  }

  /// SIGTERM to its process group, up to `stopGraceNs` to exit, then SIGKILL; reaped either way.
  /// When it has already ended, what is left of its group (a pipeline it started) gets SIGTERM.
  func stop() {
    if poll() {
      _ = rtc_kill_group(pid, SIGTERM)
      return
    }
    _ = rtc_kill_group(pid, SIGTERM)
    if waitExit(upToNs: stopGraceNs) { return }
    _ = rtc_kill_group(pid, SIGKILL)
    // SIGKILL cannot be caught; the bound only guards against a process stuck in the kernel
    _ = waitExit(upToNs: 2_000_000_000)
  }

  /// "exited with status 3", "was killed by SIGKILL", or "is still running" (not reaped yet).
  var endDescription: String {
    if lost { return "has ended" }
    guard let st = status else { return "is still running" }
    let code = rtc_wait_exit_code(st)
    if code >= 0 { return "exited with status " + String(Int(code)) }
    return "was killed by " + signalName(rtc_wait_signal(st))
  }
}

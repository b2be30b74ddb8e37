// Threads for the capture loops (pthreads through the C shim).
import CRTCam

/// A thread body for rtc_thread_start.
final class ThreadBody: Sendable {
  let run: @Sendable () -> Void
  init(_ run: @escaping @Sendable () -> Void) { self.run = run }
}

/// Starts a thread running `body`; false if the system refused. The closure is `@Sendable`, so
/// the compiler checks everything it takes to the other thread.
func startThread(_ body: @escaping @Sendable () -> Void) -> Bool {
  var t = pthread_t()
  let ctx = Unmanaged.passRetained(ThreadBody(body)).toOpaque()
  let r = rtc_thread_start(&t, { ctx in
    let b = Unmanaged<ThreadBody>.fromOpaque(ctx!).takeRetainedValue()
    b.run()
  }, ctx)
  if r != 0 { Unmanaged<ThreadBody>.fromOpaque(ctx).release() }
  return r == 0
}

/// A value behind a pthread mutex, for state that threads hand to each other (Synchronization's
/// `Mutex` is not available to the Embedded device build).
///
/// `@unchecked Sendable`: `value` is read and written only inside `withLock`, which holds the
/// mutex, so no two threads touch it at once; `Value` itself is `Sendable`.
final class Locked<Value: Sendable>: @unchecked Sendable {
  let mutex: UnsafeMutablePointer<pthread_mutex_t>
  var value: Value

  init(_ value: Value) {
    self.value = value
    mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    mutex.initialize(to: pthread_mutex_t())
    pthread_mutex_init(mutex, nil)
  }

  deinit {
    pthread_mutex_destroy(mutex)
    mutex.deallocate()
  }

  func withLock<R>(_ body: (inout Value) -> R) -> R {
    pthread_mutex_lock(mutex)
    defer { pthread_mutex_unlock(mutex) }
    return body(&value)
  }
}

/// Hands a value that is not `Sendable` (a frame source with its buffers and file descriptor) to
/// the thread that will own it.
///
/// `@unchecked Sendable`: the creating thread wraps the value right after making it and keeps no
/// other reference; only the receiving thread calls `take`, once, and owns the value from then on.
/// So the value is never used by two threads.
final class Transfer<Value>: @unchecked Sendable {
  private var value: Value?
  init(_ value: Value) { self.value = value }
  func take() -> Value {
    guard let v = value else { fatalError("Transfer.take called twice") }
    value = nil
    return v
  }
}

// Threads for the capture loops (pthreads through the C shim).
import CRTCam

/// A thread body for rtc_thread_start.
final class ThreadBody {
  let run: () -> Void
  init(_ run: @escaping () -> Void) { self.run = run }
}

func startThread(_ body: ThreadBody) -> Bool {
  var t = pthread_t()
  let ctx = Unmanaged.passRetained(body).toOpaque()
  let r = rtc_thread_start(&t, { ctx in
    let b = Unmanaged<ThreadBody>.fromOpaque(ctx!).takeRetainedValue()
    b.run()
  }, ctx)
  if r != 0 { Unmanaged<ThreadBody>.fromOpaque(ctx).release() }
  return r == 0
}

// A drop-tail queue that filled before the trendline could see it grow (StandingQueue).
@testable import BWE
import Testing

@Suite struct StandingQueueTraceTests {
  /// Starting at 800 kbit/s into a 250 kbit/s link with a 300 ms drop-tail queue: the queue is
  /// full before the trendline has its 20 groups, and then its delay is flat. Loss with that
  /// standing queue counts as overuse: the estimate goes below the link within 1 s and the
  /// queue drains, and the loss of the overflow is not answered a second time.
  @Test func fullDropTailQueueWithLossIsOveruse() {
    var sim = LinkSimulator(.init(capacity: { _ in 250_000 }))
    sim.run(until: 10)
    #expect(sim.firstDrop != nil)  // the start did overflow the queue
    let below = sim.firstTime(after: 0) { $0.estimate < 250_000 }
    #expect((below ?? 99) <= 1)
    #expect(sim.maxQueueMs(from: 3, to: 10) <= 100)
    #expect(sim.meanEstimate(from: 3, to: 10) >= 200_000)  // not pushed to the minimum
    #expect(sim.est.lossBasedLimit == nil)
  }

  /// The same 300 ms of queue without loss (a deep buffer whose queue stays) and loss without a
  /// queue (random loss) are each no standing-queue overuse.
  @Test func standingQueueNeedsBothDelayAndLoss() {
    var q = StandingQueue()
    let ms: UInt64 = 1_000_000
    // base one-way delay 20 ms (receiver clock offset 5 s), then 300 ms more
    q.add(sendNs: 1000 * ms, arrivalUs: 5_000_000 + 1_020_000, now: 1040 * ms)
    q.endReport()
    #expect(q.queueUs(now: 1040 * ms) == 0)
    q.add(sendNs: 2000 * ms, arrivalUs: 5_000_000 + 2_320_000, now: 2340 * ms)
    q.add(sendNs: 2010 * ms, arrivalUs: 5_000_000 + 2_335_000, now: 2340 * ms)
    q.endReport()
    #expect(q.queueUs(now: 2340 * ms) == 300_000)
    #expect(q.isStanding(now: 2340 * ms))
    // 10 s later the old minimum has expired: the 300 ms are the new base
    q.add(sendNs: 12_000 * ms, arrivalUs: 5_000_000 + 12_320_000, now: 12_340 * ms)
    q.endReport()
    #expect(q.queueUs(now: 12_340 * ms) == 0)
  }
}

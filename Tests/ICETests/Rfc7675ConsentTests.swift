// RFC 7675 consent freshness under a fake clock: checks (or, for receivers that stop checking,
// authenticated media) on the selected pair keep consent; it expires after the timeout.
import Testing
import TestSupport
import Wire
@testable import ICE

@Suite struct Rfc7675ConsentTests: AgentSuite {
  @Test func consentExpiryWithFakeClock() {
    var a = agent()
    var browser = FakeBrowser()
    let start: UInt64 = 100 * second
    // Nothing yet: expires 30 s after start.
    #expect(!a.consentExpired(now: start, startedAt: start))
    #expect(!a.consentExpired(now: start + 29 * second, startedAt: start))
    #expect(a.consentExpired(now: start + 30 * second, startedAt: start))

    var now = start + 2 * second
    _ = a.receive(browser.check(useCandidate: true), from: v4, now: now)
    #expect(a.selected == v4)
    // Browser checks every 5 s for a minute: consent stays.
    for _ in 0..<12 {
      now += 5 * second
      #expect(a.receive(browser.check(), from: v4, now: now).response != nil)
      #expect(!a.consentExpired(now: now + 29 * second, startedAt: start))
    }
    let last = now
    // Checks with a wrong password do not refresh consent.
    now += 10 * second
    _ = a.receive(browser.check(key: Array("nope".utf8)), from: v4, now: now)
    #expect(a.lastConsentAt == last)
    // Checks from another, unselected pair do not either.
    _ = a.receive(browser.check(), from: v4b, now: now)
    #expect(a.lastConsentAt == last)
    #expect(!a.consentExpired(now: last + 30 * second - 1, startedAt: start))
    #expect(a.consentExpired(now: last + 30 * second, startedAt: start))
    // A configurable window.
    var b = a
    b.consentTimeout = 60 * second
    #expect(!b.consentExpired(now: last + 30 * second, startedAt: start))
    // A clock that appears to go backwards is not "expired".
    #expect(!a.consentExpired(now: last - 1, startedAt: start))
  }

  @Test func authenticatedMediaFromTheSelectedAddressKeepsConsent() {
    var a = agent()
    var browser = FakeBrowser()
    let start: UInt64 = 100 * second
    // Before nomination media proves nothing about a path.
    let early = a.authenticatedMedia(from: v4, now: start)
    #expect(!early)
    #expect(a.lastConsentAt == nil)
    let nominated = start + second
    _ = a.receive(browser.check(useCandidate: true), from: v4, now: nominated)
    // Then no more checks (GStreamer 1.22), only receiver reports every 5 s for a minute.
    var now = nominated
    for _ in 0..<12 {
      now += 5 * second
      let counted = a.authenticatedMedia(from: v4, now: now)
      #expect(counted)
      #expect(a.lastConsentAt == now)
      #expect(!a.consentExpired(now: now + 29 * second, startedAt: start))
    }
    // From another address it does not count.
    let elsewhere = a.authenticatedMedia(from: v4b, now: now + 10 * second)
    #expect(!elsewhere)
    #expect(a.lastConsentAt == now)
    // A report that arrives with an older time does not move consent back.
    let late = a.authenticatedMedia(from: v4, now: now - second)
    #expect(late)
    #expect(a.lastConsentAt == now)
    // The viewer vanishes: reaped consentTimeout after its last report.
    #expect(!a.consentExpired(now: now + 30 * second - 1, startedAt: start))
    #expect(a.consentExpired(now: now + 30 * second, startedAt: start))
  }
}

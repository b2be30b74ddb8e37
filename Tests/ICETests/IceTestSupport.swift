// What the ICE agent tests share: a browser that builds checks, our credentials and addresses,
// a fresh agent, and the checks every response must pass.
import Testing
import Wire
@testable import ICE

/// A browser-side view: builds checks the way Chrome/Firefox do.
struct FakeBrowser {
  var localUfrag = "rtcAM123"            // our (the agent's) ufrag
  var remoteUfrag = "BRWS"               // the browser's ufrag
  var key = Array("0123456789abcdefghijklmn".utf8)  // our password: browsers key MI with it
  var counter: UInt8 = 0

  mutating func tid() -> [UInt8] {
    counter &+= 1
    return [counter, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]
  }

  mutating func check(useCandidate: Bool = false, controlled: Bool = false, username: String? = nil,
                      key: [UInt8]? = nil, extra: [StunAttribute] = [], method: UInt16 = Stun.binding) -> [UInt8] {
    var m = StunMessage(method: method, cls: .request, transactionID: tid())
    m.append(Stun.username, Array((username ?? "\(localUfrag):\(remoteUfrag)").utf8))
    m.append(Stun.priority, [0x6e, 0x7f, 0x1e, 0xff])
    if controlled {
      m.append(Stun.iceControlled, [9, 8, 7, 6, 5, 4, 3, 2])
    } else {
      m.append(Stun.iceControlling, [1, 2, 3, 4, 5, 6, 7, 8])
    }
    if useCandidate { m.append(Stun.useCandidate, []) }
    m.attributes += extra
    m.append(0xC057, [0, 1, 0, 10])  // GOOG-NETWORK-INFO (comprehension-optional)
    return m.encode(integrityKey: key ?? self.key, fingerprint: true)
  }
}

let second: UInt64 = 1_000_000_000

/// The agent suites' common ground (conform to get it).
protocol AgentSuite {}

extension AgentSuite {
  var creds: IceCredentials { IceCredentials(ufrag: "rtcAM123", password: "0123456789abcdefghijklmn") }
  var v4: SocketAddress { SocketAddress(ip: [192, 168, 1, 20], port: 50000) }
  var v4b: SocketAddress { SocketAddress(ip: [192, 168, 1, 20], port: 50002) }
  var v6: SocketAddress { SocketAddress(ip: [0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0x12, 0x34, 0, 0, 0, 0, 0, 0x99], port: 61000) }

  func agent() -> IceLiteAgent { IceLiteAgent(local: creds, remoteUfrag: "BRWS", remotePassword: "browserpasswordbrowserpw") }

  /// Parses a response and checks what every response must satisfy.
  func parseResponse(_ bytes: [UInt8]?, to request: [UInt8], authenticated: Bool) throws -> StunMessage {
    let b = try #require(bytes)
    let r = try StunMessage.parse(b)  // verifies FINGERPRINT
    let req = try StunMessage.parse(request)
    #expect(r.transactionID == req.transactionID)
    #expect(r.attributes.last?.type == Stun.fingerprint)
    #expect(r.has(Stun.messageIntegrity) == authenticated)
    if authenticated {
      #expect(StunMessage.verifyIntegrity(b, key: Array(creds.password.utf8)))
    }
    return r
  }
}

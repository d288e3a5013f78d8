import GatewayClient
import GatewayWire
import Primitives
import SwiftProtobuf
import TestSupport
import Testing

/// A device joins a conversation of its own user by Welcome (docs/GATEWAY_SPEC.md §5): it reads
/// from the Commit that added it on, it gets the Welcome live when connected, and a device
/// registered later starts at the ends of its user's logs.
@Suite struct GatewayWelcomeTests {
    typealias User = GatewayHarness.User

    static func welcome(
        _ connection: GatewayConnection,
        timeout: Duration = .seconds(10)
    ) async throws
        -> Polygate_Gateway_V1_WelcomeNotice
    {
        try await connection.next(timeout: timeout, "WelcomeNotice") {
            if case .welcome = $0.body { return true }
            return false
        }.welcome
    }

    /// Issue 15 (6, 7): a member's own new device received no Welcome until it reconnected,
    /// and got the whole backlog from its user's join before it — entries it has no keys for.
    @Test func aMembersNewDeviceGetsItsWelcomeLiveAndReadsFromItsCommit() async throws {
        try await GatewayHarness.run { gateway in
            let alice = User()
            let (a1, a2, a3) = (try alice.device("a1"), try alice.device("a2"), try alice.device("a3"))
            try await gateway.register(a2)  // registered before the conversation exists
            let conv = SecureRandom.bytes(count: 16)
            try await gateway.connected(a1) { ca1 in
                _ = try await ca1.backlog()
                try await ca1.createConversation(conv)
                for text in ["one", "two"] { _ = try await ca1.send(conv, epoch: 0, Array(text.utf8)) }
                // a1 adds a2 by Welcome: no added user (alice is a member already).
                let commit = try await ca1.send(
                    conv,
                    .commit,
                    epoch: 0,
                    Array("commit: add a2".utf8),
                    welcome: ([a2.deviceID.bytes], Array("welcome a2".utf8))
                )
                #expect(commit.seq == 3)
                _ = try await ca1.send(conv, epoch: 1, Array("three".utf8))
                // a2 connects: its Welcome, then only what follows the Commit that added it.
                try await gateway.connected(a2) { ca2 in
                    let notice = try await Self.welcome(ca2)
                    #expect(notice.seq == 3 && [UInt8](notice.convID) == conv)
                    let backlog = try await ca2.backlog()
                    #expect(backlog.map(\.seq) == [4])
                    #expect(backlog.first.map(GatewayDeliveryTests.text) == "three")
                    // Every Delivery names the gateway that sends it (issue 15, 22).
                    #expect(
                        backlog.allSatisfy {
                            $0.gatewayID == "gw_test" && $0.convHome == "gw_test" && $0.originGateway == "gw_test"
                        }
                    )
                }
                // a3 registers now, while it is connected: it starts at the end of the log …
                try await gateway.connected(a3) { ca3 in
                    #expect(try await ca3.backlog().isEmpty)
                    // … and the Welcome of a Commit that adds it comes live, not on reconnection.
                    let added = try await ca1.send(
                        conv,
                        .commit,
                        epoch: 1,
                        Array("commit: add a3".utf8),
                        welcome: ([a3.deviceID.bytes], Array("welcome a3".utf8))
                    )
                    let live = try await Self.welcome(ca3)
                    #expect(live.seq == added.seq)
                    _ = try await ca1.send(conv, epoch: 2, Array("four".utf8))
                    let next = try await ca3.deliveries(1).first
                    #expect(next.map(GatewayDeliveryTests.text) == "four")
                    #expect((next?.seq ?? 0) > added.seq)
                }
                // Acked, the Welcome is not sent again; unacked, it is.
                try await gateway.connected(a2) { ca2 in
                    let again = try await Self.welcome(ca2)
                    #expect(again.seq == 3)
                    _ = try await ca2.backlog()
                    try await ca2.ack(conv, 3)
                }
                try await gateway.connected(a2) { ca2 in
                    let frames = try await ca2.next("CaughtUp") {
                        if case .caughtUp = $0.body { return true }
                        if case .welcome = $0.body { return true }
                        return false
                    }
                    if case .welcome = frames.body { Issue.record("an acked Welcome was sent again") }
                }
            }
        }
    }
}

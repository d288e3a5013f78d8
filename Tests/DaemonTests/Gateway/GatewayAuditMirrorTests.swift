import Foundation
import GatewayClient
import GatewayWire
import MLS
import Primitives
import Store
import SwiftProtobuf
import TestSupport
import Testing

/// The journal mirrors the audit ledger (docs/GATEWAY_SPEC.md §9): every event the gateway
/// records is logged with the same details.
@Suite struct GatewayAuditMirrorTests {
    typealias User = GatewayHarness.User

    /// The details logged with the last `audit <event>` line of `log` (the JSON object after
    /// `audit.details=`).
    static func loggedDetails(_ event: String, in log: String) -> [String: String]? {
        guard let line = log.split(separator: "\n").last(where: { $0.hasSuffix("audit \(event)") }),
            let start = line.range(of: "audit.details=")?.upperBound
        else { return nil }
        var depth = 0
        var end = start
        for index in line[start...].indices {
            if line[index] == "{" { depth += 1 }
            if line[index] == "}" { depth -= 1 }
            if depth == 0 {
                end = line.index(after: index)
                break
            }
        }
        return try? JSONDecoder().decode([String: String].self, from: Data(line[start..<end].utf8))
    }

    /// Issue 15 (9): `device.registered`, `keypackage.claimed` and `membership.changed` were
    /// logged with `{}` or part of the stored details.
    @Test func theJournalLinesCarryTheLedgersDetails() async throws {
        try await GatewayHarness.run { gateway in
            let (alice, bob, carol) = (User(), User(), User())
            let (a, b, c) = (try alice.device("alice-phone"), try bob.device("bob-phone"), try carol.device("carol-phone"))
            try await gateway.register(c)
            try await gateway.connected(b) { cb in
                _ = try await cb.backlog()
                try await cb.call(.uploadKeyPackages(.with { $0.keyPackages = [.init(try b.keyPackage())] }))
            }
            let conv = SecureRandom.bytes(count: 16)
            try await gateway.connected(a) { ca in
                _ = try await ca.backlog()
                let claimed = try await ca.call(
                    .claimKeyPackages(
                        .with {
                            $0.userID = .init(bob.id)
                            $0.cipherSuite = 1
                        }
                    )
                ).claim.keyPackages
                #expect(claimed.count == 1)
                try await ca.createConversation(conv)
                _ = try await ca.add(conv, epoch: 0, users: [bob.id, carol.id], devices: [b.deviceID.bytes])
                _ = try await ca.send(conv, .commit, epoch: 1, Array("commit: remove carol".utf8), removed: [carol.id])
            }
            // The rows as stored, and the lines as logged, agree field by field.
            let stored = try await withDatabase(gateway.databaseURL) { database in
                try await database.query(
                    "SELECT event, details::text FROM audit_ledger WHERE event IN ('device.registered', 'keypackage.claimed', 'membership.changed') ORDER BY id"
                ).map { row in
                    let (event, details) = try row.decode((String, String).self)
                    return (event, try JSONDecoder().decode([String: String].self, from: Data(details.utf8)))
                }
            }
            let log = gateway.daemons[0].process.stderr
            for event in ["device.registered", "keypackage.claimed", "membership.changed"] {
                let row = try #require(stored.last { $0.0 == event }?.1, "no \(event) row")
                let logged = Self.loggedDetails(event, in: log)
                #expect(logged == row, "\(event): logged \(logged ?? [:]), stored \(row)")
                #expect(!row.isEmpty)
            }
            let removal = try #require(stored.last { $0.0 == "membership.changed" }?.1)
            #expect(removal["removed"] == Hex.encode(carol.id) && removal["added"] == "")
            let claim = try #require(stored.last { $0.0 == "keypackage.claimed" }?.1)
            #expect(claim["cipher_suite"] == "1" && claim["devices"] == Hex.encode(b.deviceID))
        }
    }
}

/// Device keys are Ed25519, so only suites 1 and 3 can be used; every request about
/// KeyPackages says so alike (docs/GATEWAY_SPEC.md §4.1).
@Suite struct GatewayKeyPackageSuiteTests {
    /// Issue 15 (21): CountKeyPackages with suite 0, 8 or 9 answered 0, ClaimKeyPackages
    /// said bad_request; and a KeyPackage that lives longer than the maximum is refused (5).
    @Test func onlyEd25519SuitesAndBoundedLifetimesAreAccepted() async throws {
        try await GatewayHarness.run { gateway in
            let user = GatewayHarness.User()
            let device = try user.device()
            try await gateway.connected(device) { connection in
                _ = try await connection.backlog()
                for suite: UInt32 in [0, 2, 4, 7, 8, 9] {
                    await expectServerError(.badRequest) {
                        _ = try await connection.call(.countKeyPackages(.with { $0.cipherSuite = suite }))
                    }
                    await expectServerError(.badRequest) {
                        _ = try await connection.call(
                            .claimKeyPackages(
                                .with {
                                    $0.userID = .init(user.id)
                                    $0.cipherSuite = suite
                                }
                            )
                        )
                    }
                }
                for suite: UInt32 in [1, 3] {
                    #expect(try await connection.call(.countKeyPackages(.with { $0.cipherSuite = suite })).count.count == 0)
                }
                try await connection.call(
                    .uploadKeyPackages(
                        .with {
                            $0.keyPackages = [
                                .init(try device.keyPackage()),
                                .init(try device.keyPackage(suite: .mls128DHKEMX25519ChaCha20Poly1305SHA256Ed25519)),
                            ]
                        }
                    )
                )
                #expect(try await connection.call(.countKeyPackages(.with { $0.cipherSuite = 3 })).count.count == 1)
                // A KeyPackage valid "for ever" is refused whole, with the reason.
                let forever = MLSMessage.keyPackage(
                    try KeyPackage.make(
                        cipherSuite: .mls128DHKEMX25519AES128GCMSHA256Ed25519,
                        credential: .basic(identity: try device.certificate.serializedBytes()),
                        signingKey: device.deviceKey,
                        lifetime: Lifetime(notBefore: 0, notAfter: UInt64.max)
                    ).keyPackage
                ).encoded
                do {
                    try await connection.call(
                        .uploadKeyPackages(.with { $0.keyPackages = [.init(try device.keyPackage()), .init(forever)] })
                    )
                    Issue.record("a KeyPackage valid for ever was accepted")
                } catch let error as GatewayClientError {
                    #expect(error.serverCode == .badKeyPackage)
                    #expect(error.message.contains("key_packages[1]") && error.message.contains("90 days at most"))
                }
                #expect(try await connection.call(.countKeyPackages(.with { $0.cipherSuite = 1 })).count.count == 1)
            }
        }
    }
}

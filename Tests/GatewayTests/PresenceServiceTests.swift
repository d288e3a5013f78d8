import GatewayWire
import Logging
import NIOCore
import Presence
import Primitives
import Store
import Synchronization
import TestSupport
import Testing

/// `PresenceService`'s leases per device against its connections, on a real PostgreSQL (for the
/// users' modes): a device is online from its first connection's authentication to its last
/// connection's end, and a connection that closed before its lease was taken holds none.
@Suite struct PresenceServiceTests {
    final class Watcher: PresenceWatcher {
        let id: UInt64
        private let closed = Mutex(false)
        init(_ id: UInt64) { self.id = id }
        var isClosed: Bool { self.closed.withLock { $0 } }
        func close() { self.closed.withLock { $0 = true } }
        func push(buffer: ByteBuffer) -> Bool { true }
    }

    static func withService(_ body: (PresenceService) async throws -> Void) async throws {
        try await TestPostgres.withDatabase { url in
            let client = PostgresClient(configuration: .init(conninfo: url, maxConnections: 2), logger: .quiet)
            defer { client.shutdown() }
            _ = try await PolygateSchema.migrator.migrate(using: client, logger: .quiet)
            let service = PresenceService(
                limits: PresenceLimits(),
                repository: PresenceRepository(database: client),
                clock: GatewayClock(),
                logger: .quiet
            )
            try await body(service)
        }
    }

    static let (user, device) = (UserID(SecureRandom.bytes(count: 32)), DeviceID(SecureRandom.bytes(count: 32)))

    @Test func aDeviceIsOnlineUntilItsLastConnectionEnds() async throws {
        try await Self.withService { service in
            let (first, second) = (Watcher(1), Watcher(2))
            await service.authenticated(first, user: Self.user, device: Self.device)
            await service.authenticated(second, user: Self.user, device: Self.device)
            #expect(service.leases.count == 1)
            #expect(service.isOnline(Self.user))
            first.close()
            service.ended(first, user: Self.user, device: Self.device)
            #expect(service.isOnline(Self.user), "the second connection keeps the lease")
            // A repeated end of the same connection changes nothing.
            service.ended(first, user: Self.user, device: Self.device)
            #expect(service.isOnline(Self.user))
            second.close()
            service.ended(second, user: Self.user, device: Self.device)
            #expect(!service.isOnline(Self.user))
            #expect(service.leases.isEmpty)
        }
    }

    @Test func aConnectionClosedBeforeItsLeaseWasTakenHoldsNone() async throws {
        try await Self.withService { service in
            // Closed and ended while the modes were read: the authentication takes nothing.
            let early = Watcher(1)
            early.close()
            service.ended(early, user: Self.user, device: Self.device)
            await service.authenticated(early, user: Self.user, device: Self.device)
            #expect(service.leases.isEmpty)
            // …and it does not release the lease of another connection of the device.
            let live = Watcher(2)
            await service.authenticated(live, user: Self.user, device: Self.device)
            let late = Watcher(3)
            late.close()
            await service.authenticated(late, user: Self.user, device: Self.device)
            service.ended(late, user: Self.user, device: Self.device)
            #expect(service.isOnline(Self.user))
            live.close()
            service.ended(live, user: Self.user, device: Self.device)
            #expect(!service.isOnline(Self.user))
        }
    }
}

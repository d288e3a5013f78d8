import Hummingbird
import Logging
import ServiceLifecycle
import TestSupport
import Testing

@testable import HTTPFront

/// `HTTPServer` in this process on real sockets.
@Suite struct HTTPServerTests {
    /// A router with one fast route.
    static func router() -> Router<GatewayRequestContext> {
        let router = Router(context: GatewayRequestContext.self)
        router.get("/fast") { _, _ in "fast\n" }
        return router
    }

    static func server(_ listeners: [HTTPServer.Listener]) -> HTTPServer {
        HTTPServer(
            listeners: listeners,
            responder: GatewayHTTP.makeResponder(router: Self.router(), logger: .quiet),
            logger: .quiet
        )
    }

    /// Runs `server` in a service group; `body` gets the group to trigger shutdown.
    static func running(_ server: HTTPServer, _ body: (ServiceGroup) async throws -> Void) async throws {
        let group = ServiceGroup(configuration: .init(services: [server], logger: .quiet))
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            do {
                try await body(group)
            } catch {
                await group.triggerGracefulShutdown()
                throw error
            }
            await group.triggerGracefulShutdown()
            try await tasks.waitForAll()
        }
    }

    @Test func bindsPortZeroAndReportsTheRealPort() async throws {
        let server = Self.server([.address(ListenAddress(host: "127.0.0.1", port: 0))])
        let addresses = try await server.bind()
        #expect(addresses.count == 1)
        let port = try #require(addresses.first?.port)
        #expect(port > 0)
        // bind() is idempotent: same addresses, no second socket.
        #expect(try await server.bind() == addresses)
        try await Self.running(server) { _ in
            let response = try await HTTPTestClient.get(port: port, "/fast")
            #expect(response.status == 200)
            #expect(response.body == "fast\n")
            #expect(response.headers["server"]?.hasPrefix("polygated/") == true)
            #expect(response.headers["date"]?.hasSuffix(" GMT") == true)
            #expect(try await HTTPTestClient.get(port: port, "/missing").status == 404)
        }
        #expect(await HTTPTestClient.waitUntilClosed(port: port))
    }

    @Test func servesAnInheritedListeningSocket() async throws {
        let (fd, port) = try TestSockets.listeningTCP()
        let server = Self.server([.inherited(fd: fd)])  // the server owns and closes fd
        #expect(try await server.bind() == [ListenAddress(host: "127.0.0.1", port: port)])
        try await Self.running(server) { _ in
            let response = try await HTTPTestClient.get(port: port, "/fast")
            #expect(response.body == "fast\n")
        }
        #expect(await HTTPTestClient.waitUntilClosed(port: port))
    }

    @Test func gracefulShutdownFinishesRequestsInFlightAndRefusesNewConnections() async throws {
        // The slow route answers only when the test opens the gate, so the order of
        // events does not depend on how busy the machine is.
        let started = Collector<Void>()
        let (gate, open) = AsyncStream<Void>.makeStream()
        let router = Router(context: GatewayRequestContext.self)
        router.get("/slow") { _, _ -> String in
            started.append(())
            for await _ in gate { break }
            return "slow\n"
        }
        let server = HTTPServer(
            listeners: [.address(ListenAddress(host: "127.0.0.1", port: 0))],
            responder: GatewayHTTP.makeResponder(router: router, logger: .quiet),
            logger: .quiet
        )
        let port = try #require(try await server.bind().first?.port)
        let answers = Collector<HTTPTestClient.Response>()
        try await Self.running(server) { group in
            try await withThrowingTaskGroup(of: Void.self) { requests in
                requests.addTask {
                    answers.append(try await HTTPTestClient.get(port: port, "/slow", timeout: .seconds(60)))
                }
                try await started.wait(forCount: 1, timeout: .seconds(60))
                await group.triggerGracefulShutdown()
                // The listener closes while the slow request is still running.
                #expect(await HTTPTestClient.waitUntilClosed(port: port, timeout: .seconds(60)))
                #expect(answers.all.isEmpty)
                open.yield()
                open.finish()
                try await requests.waitForAll()
            }
        }
        let finished = answers.all
        #expect(finished.count == 1)
        #expect(finished.first?.status == 200)
        #expect(finished.first?.body == "slow\n")
    }

    @Test func busyAddressFailsToBind() async throws {
        let (fd, port) = try TestSockets.listeningTCP()
        defer { TestSockets.close(fd) }
        let server = Self.server([.address(ListenAddress(host: "127.0.0.1", port: port))])
        await #expect(throws: (any Error).self) { try await server.bind() }
    }
}

@Suite struct HTTPDateTests {
    @Test(arguments: [(0, "Thu, 01 Jan 1970 00:00:00 GMT"), (1_795_318_860, "Sun, 22 Nov 2026 03:41:00 GMT")])
    func formatsIMFFixdate(seconds: Int, text: String) {
        #expect(HTTPDate.string(secondsSinceEpoch: seconds) == text)
    }
}

import Foundation
import GatewayClient
import GatewayWire
import Primitives
import TestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Bad input at the edges all at once (issue 16, Build 4): slowloris connections, a connection
/// storm, malformed and oversize requests, a body streamed past the limit, 10,000 query
/// parameters, garbage on the control socket. The daemon stays up, `/readyz` answers 200
/// throughout, its memory comes back near where it was, and a DM still works afterwards.
@Suite struct HostileStormTests {
    typealias User = GatewayHarness.User

    /// The resident set of `pid` in MiB (`VmRSS` of /proc/PID/status).
    static func residentMiB(_ pid: pid_t) -> Double {
        let status = readFile("/proc/\(pid)/status")
        guard let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") }),
            let kiB = Double(line.split(separator: " ").dropFirst().first ?? "")
        else { return 0 }
        return kiB / 1024
    }

    /// A DM from a new user to another: both ways, delivered.
    static func directMessageWorks(_ gateway: GatewayHarness) async throws {
        let (alice, bob) = (User(), User())
        let (a, b) = (try alice.device(), try bob.device())
        try await gateway.register(b)
        let conv = SecureRandom.bytes(count: 16)
        try await gateway.connected(a) { ca in
            try await gateway.connected(b) { cb in
                _ = try await cb.backlog()
                try await ca.createConversation(conv)
                try await ca.add(conv, epoch: 0, users: [bob.id], devices: [b.deviceID.bytes])
                try await ca.send(conv, epoch: 1, Array("hi bob".utf8))
                try await cb.send(conv, epoch: 1, Array("hi alice".utf8))
                let got = try await cb.deliveries(2)
                #expect(got.map { String(decoding: $0.message, as: UTF8.self) } == ["hi bob", "hi alice"])
            }
        }
    }

    @Test func aStormOfHostileInputLeavesTheDaemonServingAtItsMemory() async throws {
        try await GatewayHarness.run(http: "header_timeout = \"3s\"") { gateway in
            let pid = gateway.daemons[0].process.pid
            try await Self.directMessageWorks(gateway)
            let before = Self.residentMiB(pid)
            let port = gateway.port

            // /readyz, polled all through the storm.
            let stop = Collector<Bool>()
            async let readiness: [Int] = {
                var statuses: [Int] = []
                while stop.all.isEmpty {
                    statuses.append((try? await HTTPTestClient.get(port: port, "/readyz", timeout: .seconds(10)).status) ?? 0)
                    try? await Task.sleep(for: .milliseconds(200))
                }
                return statuses
            }()

            try await withThrowingTaskGroup(of: Void.self) { group in
                // 300 slowloris connections, a header byte every 500 ms.
                group.addTask {
                    let slow = (0..<300).compactMap { _ in try? RawConnection.tcp(port: port) }
                    for byte in "GET /readyz HTTP/1.1\r\nHost: x\r\n".utf8.prefix(12) {
                        for connection in slow { _ = connection.write([byte]) }
                        try await Task.sleep(for: .milliseconds(500))
                    }
                    #expect(slow.allSatisfy { $0.read(for: .seconds(5)).closed }, "slowloris connections left open")
                }
                // A storm: 1,000 connections opened and dropped at once.
                group.addTask {
                    for _ in 0..<10 {
                        let storm = (0..<100).compactMap { _ in try? RawConnection.tcp(port: port) }
                        _ = storm.count
                    }
                }
                // Malformed and oversize requests, 10,000 query parameters, a body past the limit.
                group.addTask {
                    let requests = [
                        "GARBAGE\r\n\r\n", "GET / HTTP/9.9\r\nHost: x\r\n\r\n",
                        "GET /\(String(repeating: "a", count: 4 << 20)) HTTP/1.1\r\nHost: x\r\n\r\n",
                        "GET /readyz?\((0..<10_000).map { "p\($0)=\($0)" }.joined(separator: "&")) HTTP/1.1\r\nHost: x\r\n\r\n",
                    ]
                    for _ in 0..<10 {
                        for request in requests {
                            let connection = try RawConnection.tcp(port: port)
                            _ = connection.write(request)
                            #expect(connection.read(for: .seconds(5)).closed)
                        }
                    }
                    // 24 MiB streamed at a 16 MiB limit: 413, and the connection does not take it all.
                    let body = try RawConnection.tcp(port: port)
                    _ = body.write(
                        "POST /events HTTP/1.1\r\nHost: x\r\nContent-Type: application/octet-stream\r\nTransfer-Encoding: chunked\r\n\r\n"
                    )
                    let chunk = Array("100000\r\n".utf8) + [UInt8](repeating: 0x41, count: 1 << 20) + Array("\r\n".utf8)
                    var sent = 0
                    while sent < 24, body.write(chunk) { sent += 1 }
                    let answer = String(decoding: body.read(for: .seconds(5)).bytes.prefix(12), as: UTF8.self)
                    #expect(answer == "HTTP/1.1 413" || sent < 24, "a 24 MiB body answered \(answer.debugDescription)")
                }
                // The control socket: 8 MiB without a newline.
                group.addTask {
                    let control = try RawConnection.unix(path: gateway.controlPath)
                    _ = control.read(for: .seconds(5)) { $0.contains(0x0A) }
                    let junk = [UInt8](repeating: 0x7B, count: 64 << 10)
                    var sent = 0
                    while sent < 8 << 20, control.write(junk) { sent += junk.count }
                    #expect(sent < 8 << 20)
                }
                try await group.waitForAll()
            }
            stop.append(true)
            let statuses = await readiness
            #expect(!statuses.isEmpty && statuses.allSatisfy { $0 == 200 }, "/readyz during the storm: \(statuses)")
            #expect(gateway.daemons[0].process.exitedStatus == nil)

            // Memory comes back near its level once the connections are gone.
            try await Task.sleep(for: .seconds(4))
            let after = Self.residentMiB(pid)
            print("hostile storm: RSS \(Int(before)) MiB before, \(Int(after)) MiB after; /readyz 200 in \(statuses.count) polls")
            #expect(after < before + 64, "RSS \(before) MiB before the storm, \(after) MiB after")
            try await Self.directMessageWorks(gateway)
        }
    }
}

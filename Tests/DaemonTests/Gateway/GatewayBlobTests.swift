import Control
import Foundation
import GatewayClient
import GatewayWire
import Primitives
import TestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Encrypted attachments through the real daemon (docs/GATEWAY_SPEC.md §13): upload with a
/// session's token, download whole, by range and as HEAD, cache headers, limits and quota,
/// deletion, an upload cut short, gwctl and the ledger, expiry.
@Suite struct GatewayBlobTests {
    typealias User = GatewayHarness.User

    static func config(
        directory: String,
        retention: String = "1h",
        maxSize: Int = 300_000,
        quota: Int = 500_000
    ) -> String {
        GatewayHarness.baseGatewayConfig + """

            [blobs]
            directory = "\(directory)"
            max_size = \(maxSize)
            quota_per_user = \(quota)
            retention = "\(retention)"
            """
    }

    static func token(_ connection: GatewayConnection) async throws -> String {
        Hex.encode(try await connection.call(.blobToken(.init())).blobToken.token)
    }

    static func upload(_ port: Int, _ bytes: [UInt8], token: String?) async throws -> HTTPTestClient.Response {
        var headers = ["Content-Type": "application/octet-stream"]
        if let token { headers["Authorization"] = "Bearer \(token)" }
        return try await HTTPTestClient.send(port: port, method: "POST", "/v1/blobs", headers: headers, body: bytes)
    }

    static func json(_ response: HTTPTestClient.Response) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(response.bytes)) as? [String: Any])
    }

    @Test func blobsAreUploadedServedByRangeCachedLimitedAndDeleted() async throws {
        let directory = TestEnvironment.makeDirectory("blobs") + "/store"
        try await GatewayHarness.run(gateway: Self.config(directory: directory)) { gateway in
            let (alice, bob) = (User(), User())
            let (phone, other) = (try alice.device("phone"), try bob.device("bob"))
            try await gateway.register(phone, other)
            let token = try await gateway.connected(phone) { try await Self.token($0) }
            let otherToken = try await gateway.connected(other) { try await Self.token($0) }
            let port = gateway.port

            // Upload: the id is the SHA-256 of the bytes; the file holds them as sent.
            let bytes = SecureRandom.bytes(count: 200_000)
            let id = Hex.encode(HashFunction.sha256.hash(bytes))
            let created = try await Self.upload(port, bytes, token: token)
            #expect(created.status == 201, "\(created.body)")
            #expect(try Self.json(created)["id"] as? String == id)
            #expect(try Self.json(created)["size"] as? Int == 200_000)
            #expect(created.headers["location"] == "/v1/blobs/\(id)")
            #expect(readFile("\(directory)/\(id.prefix(2))/\(id)").utf8.count > 0)
            #expect(Array(try Data(contentsOf: URL(fileURLWithPath: "\(directory)/\(id.prefix(2))/\(id)"))) == bytes)
            // The same bytes again: already there.
            #expect(try await Self.upload(port, bytes, token: token).status == 200)

            // Download: whole, with the cache headers a CDN needs.
            let whole = try await HTTPTestClient.get(port: port, "/v1/blobs/\(id)")
            #expect(whole.status == 200 && whole.bytes == bytes)
            #expect(whole.headers["etag"] == "\"\(id)\"")
            #expect(whole.headers["content-length"] == "200000")
            #expect(whole.headers["accept-ranges"] == "bytes")
            let cache = whole.headers["cache-control"] ?? ""
            #expect(cache.hasPrefix("public, max-age=") && cache.hasSuffix(", immutable"))
            #expect((Int(cache.dropFirst("public, max-age=".count).prefix { $0.isNumber }) ?? 0) > 3500)
            // Ranges.
            let middle = try await HTTPTestClient.get(port: port, "/v1/blobs/\(id)", headers: ["Range": "bytes=100-199"])
            #expect(middle.status == 206 && middle.bytes == Array(bytes[100..<200]))
            #expect(middle.headers["content-range"] == "bytes 100-199/200000")
            let tail = try await HTTPTestClient.get(port: port, "/v1/blobs/\(id)", headers: ["Range": "bytes=-10"])
            #expect(tail.status == 206 && tail.bytes == Array(bytes.suffix(10)))
            let rest = try await HTTPTestClient.get(port: port, "/v1/blobs/\(id)", headers: ["Range": "bytes=199990-"])
            #expect(rest.status == 206 && rest.bytes == Array(bytes.suffix(10)))
            let beyond = try await HTTPTestClient.get(port: port, "/v1/blobs/\(id)", headers: ["Range": "bytes=300000-"])
            #expect(beyond.status == 416 && beyond.headers["content-range"] == "bytes */200000")
            let cached = try await HTTPTestClient.get(port: port, "/v1/blobs/\(id)", headers: ["If-None-Match": "\"\(id)\""])
            #expect(cached.status == 304 && cached.bytes.isEmpty)
            let head = try await HTTPTestClient.send(port: port, method: "HEAD", "/v1/blobs/\(id)")
            #expect(head.status == 200 && head.headers["content-length"] == "200000" && head.bytes.isEmpty)
            #expect(try await HTTPTestClient.get(port: port, "/v1/blobs/\(String(repeating: "0", count: 64))").status == 404)
            #expect(try await HTTPTestClient.get(port: port, "/v1/blobs/nothex").status == 400)

            // Limits: one blob's size, then the user's quota (200,000 stored of 500,000).
            let large = try await Self.upload(port, SecureRandom.bytes(count: 300_001), token: token)
            let largeError = try Self.json(large)["error"] as? String
            #expect(large.status == 413 && largeError == "too_large")
            #expect(try await Self.upload(port, SecureRandom.bytes(count: 250_000), token: token).status == 201)
            let over = try await Self.upload(port, SecureRandom.bytes(count: 60_000), token: token)
            let overError = try Self.json(over)
            #expect(over.status == 413 && overError["error"] as? String == "quota_exceeded")
            #expect((overError["message"] as? String)?.contains("450000 of your 500000 bytes") == true)
            // Without a token, or with a forged one: refused, nothing stored.
            #expect(try await Self.upload(port, [1, 2, 3], token: nil).status == 401)
            #expect(try await Self.upload(port, [1, 2, 3], token: String(repeating: "ab", count: 72)).status == 401)

            // An upload cut short leaves no file behind (and no row).
            do {
                let cut = try RawConnection.tcp(port: port)
                cut.write(
                    "POST /v1/blobs HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer \(otherToken)\r\nContent-Length: 100000\r\n\r\n"
                )
                cut.write(SecureRandom.bytes(count: 5000))
                try await Task.sleep(for: .milliseconds(300))
                #expect((try? FileManager.default.contentsOfDirectory(atPath: directory + "/tmp"))?.count == 1)
            }  // closed here, mid-body
            try await eventually("the cut upload's temporary file is removed") {
                (try? FileManager.default.contentsOfDirectory(atPath: directory + "/tmp"))?.isEmpty == true
            }
            let stats = try await Gwctl.ok(["--json", "blob", "stats"], socket: gateway.controlPath).json()
            #expect(stats["count"]?.int == 2 && stats["bytes"]?.int == 450_000)
            #expect(stats["users"]?.array?.count == 1)

            // Deleting: only the uploading device; then it is gone.
            let refused = try await HTTPTestClient.send(
                port: port,
                method: "DELETE",
                "/v1/blobs/\(id)",
                headers: ["Authorization": "Bearer \(otherToken)"]
            )
            #expect(refused.status == 404)
            let deleted = try await HTTPTestClient.send(
                port: port,
                method: "DELETE",
                "/v1/blobs/\(id)",
                headers: ["Authorization": "Bearer \(token)"]
            )
            #expect(deleted.status == 204)
            #expect(try await HTTPTestClient.get(port: port, "/v1/blobs/\(id)").status == 404)
            #expect(access("\(directory)/\(id.prefix(2))/\(id)", F_OK) != 0)
            // gwctl deletes the other one.
            let items = try await Gwctl.ok(["--json", "blob", "stats"], socket: gateway.controlPath).json()
            #expect(items["count"]?.int == 1)
            let ledger = try await Gwctl.ok(["--json", "ledger", "tail", "-e", "blob."], socket: gateway.controlPath).items()
            let second = try #require(ledger.first { $0["event"]?.string == "blob.uploaded" && $0["subject"]?.string != id })
            let secondID = try #require(second["subject"]?.string)
            try await Gwctl.ok(["blob", "delete", secondID], socket: gateway.controlPath)
            #expect(try await HTTPTestClient.get(port: port, "/v1/blobs/\(secondID)").status == 404)

            // The ledger: two uploads, two deletions (by the uploader and by the admin).
            let events = try await Gwctl.ok(["--json", "ledger", "tail", "-e", "blob."], socket: gateway.controlPath).items()
                .compactMap { $0["event"]?.string }
            #expect(events.filter { $0 == "blob.uploaded" }.count == 2)
            #expect(events.filter { $0 == "blob.deleted" }.count == 2)
            // Metrics count what went through.
            let metrics = try await HTTPTestClient.get(port: port, "/metrics").body
            #expect(metrics.contains("polygate_blobs_uploads_total 3"))
            #expect(metrics.contains("polygate_blobs_downloads_total"))
        }
    }

    /// Runs `command` as root: itself when the tests run as root (CI, `make test` as root),
    /// else through `sudo -n` (as scripts/install-deps.sh does).
    static func asRoot(_ command: [String]) async throws -> (status: Int32, output: String) {
        getuid() == 0
            ? try await TestProcess.run(command[0], Array(command.dropFirst()))
            : try await TestProcess.run("/usr/bin/sudo", ["-n"] + command)
    }

    /// A real full disk: the blob directory on a 1 MiB tmpfs the test mounts.
    @Test func aFullDiskIsRefusedAs507AndLeavesNothingHalfWritten() async throws {
        let directory = TestEnvironment.makeDirectory("blobs-full")
        let mounted = try await Self.asRoot(["/bin/mount", "-t", "tmpfs", "-o", "size=1m,mode=0777", "tmpfs", directory])
        try #require(
            mounted.status == 0,
            "mounting a tmpfs for the blob directory needs root or passwordless sudo: \(mounted.output)"
        )
        let store = directory + "/store"
        var failure: (any Error)?
        do {
            try await Self.fillTheDisk(store)
        } catch {
            failure = error
        }
        _ = try? await Self.asRoot(["/bin/umount", "-l", directory])
        if let failure { throw failure }
    }

    static func fillTheDisk(_ store: String) async throws {
        try await GatewayHarness.run(gateway: Self.config(directory: store, maxSize: 4_000_000, quota: 8_000_000)) { gateway in
            let alice = User()
            let phone = try alice.device("phone")
            try await gateway.register(phone)
            let token = try await gateway.connected(phone) { try await Self.token($0) }

            let first = SecureRandom.bytes(count: 600_000)
            #expect(try await Self.upload(gateway.port, first, token: token).status == 201)
            // The next one does not fit: 507 disk_full, in words; nothing of it is left.
            let full = try await Self.upload(gateway.port, SecureRandom.bytes(count: 600_000), token: token)
            #expect(full.status == 507, "\(full.body)")
            let failure = try Self.json(full)
            #expect(failure["error"] as? String == "disk_full")
            #expect(failure["message"] as? String == "the server's disk is full: the upload was dropped")
            #expect((try? FileManager.default.contentsOfDirectory(atPath: store + "/tmp"))?.isEmpty == true)
            let stats = try await Gwctl.ok(["--json", "blob", "stats"], socket: gateway.controlPath).json()
            #expect(stats["count"]?.int == 1 && stats["bytes"]?.int == 600_000)
            // The operator's log says which directory is full.
            let log = gateway.daemons[0].process.stderr
            #expect(log.contains("blob upload dropped: the blob directory's filesystem is full"))
            #expect(log.contains(store))
            // What was stored is whole; once there is room again, uploads work.
            let id = Hex.encode(HashFunction.sha256.hash(first))
            #expect(try await HTTPTestClient.get(port: gateway.port, "/v1/blobs/\(id)").bytes == first)
            try await Gwctl.ok(["blob", "delete", id], socket: gateway.controlPath)
            #expect(try await Self.upload(gateway.port, SecureRandom.bytes(count: 600_000), token: token).status == 201)
        }
    }

    @Test func aBlobPastItsRetentionIsGone() async throws {
        let directory = TestEnvironment.makeDirectory("blobs") + "/store"
        try await GatewayHarness.run(gateway: Self.config(directory: directory, retention: "2s")) { gateway in
            let alice = User()
            let phone = try alice.device("phone")
            try await gateway.register(phone)
            let token = try await gateway.connected(phone) { try await Self.token($0) }
            let bytes = SecureRandom.bytes(count: 1000)
            let id = Hex.encode(HashFunction.sha256.hash(bytes))
            #expect(try await Self.upload(gateway.port, bytes, token: token).status == 201)
            #expect(try await HTTPTestClient.get(port: gateway.port, "/v1/blobs/\(id)").status == 200)
            try await Task.sleep(for: .seconds(2))
            #expect(try await HTTPTestClient.get(port: gateway.port, "/v1/blobs/\(id)").status == 404)
            // The sweep (every 10 s) deletes the file too.
            try await eventually("the expired blob's file is deleted") { access("\(directory)/\(id.prefix(2))/\(id)", F_OK) != 0 }
        }
    }
}

import Foundation
import GatewayWire
package import Logging
package import Noise
import Primitives
import SwiftProtobuf
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// The key file under the state directory (`<state_directory>/gateway-keys`, mode 0600) and
/// the ring in force: created at first start, read again on SIGHUP (after `polygated
/// rotate-keys`), shared by the sealed transports and `GET /v1/info`.
package final class GatewayKeyStore: Sendable {
    package let path: String
    private let ring: Mutex<GatewayKeyRing>

    /// The file's name in the state directory.
    package static let fileName = "gateway-keys"

    /// Loads the file, or creates it (and the directory, 0700) with a new key when missing.
    ///
    /// - Throws: ``GatewayKeyRingError`` naming the file and what is wrong.
    package init(directory: String, nowMs: UInt64, logger: Logger) throws(GatewayKeyRingError) {
        self.path = directory + "/" + Self.fileName
        if let existing = try Self.read(self.path) {
            var ring = existing
            if ring.prune(nowMs: nowMs) { try Self.write(ring, to: self.path) }
            self.ring = Mutex(ring)
            logger.info(
                "sealed-session keys loaded",
                metadata: ["gateway.keys": "\(ring.keys.map(\.hex))", "gateway.keys.file": "\(self.path)"]
            )
        } else {
            let ring = GatewayKeyRing.generate(nowMs: nowMs)
            if mkdir(directory, 0o700) != 0, errno != EEXIST {
                throw GatewayKeyRingError("\(directory): cannot create the state directory: \(String(cString: strerror(errno)))")
            }
            try Self.write(ring, to: self.path)
            self.ring = Mutex(ring)
            logger.notice(
                "created the gateway's sealed-session key (polygated show-key prints it for clients to pin)",
                metadata: ["gateway.key": "\(ring.current.hex)", "gateway.keys.file": "\(self.path)"]
            )
        }
    }

    /// The ring in force.
    package var current: GatewayKeyRing { self.ring.withLock { $0 } }

    /// The gateway's side of a sealed handshake (docs/GATEWAY_SPEC.md §14.2): the client's first
    /// message opened with a key in force, and the answer carrying the `SealedHello`.
    ///
    /// - Returns: the answer to send and the transport's cipher states.
    /// - Throws: ``NoiseError`` when no key in force opens the message.
    package func accept(_ first: [UInt8]) throws -> (answer: [UInt8], transport: NoiseTransport) {
        let accepted = self.current.accepted(nowMs: GatewayClock().wallMs)
        var (handshake, _) = try SealedChannel.accept(first, keys: accepted.map(\.pair))
        var hello = Polygate_Gateway_V1_SealedHello()
        hello.keys = accepted.map { key in
            var sealedKey = Polygate_Gateway_V1_SealedKey()
            sealedKey.publicKey = .init(key.publicKey)
            sealedKey.createdMs = key.createdMs
            sealedKey.retiresMs = key.retiresMs ?? 0
            return sealedKey
        }
        let answer = try handshake.writeMessage(try hello.serializedBytes())
        guard let transport = handshake.transport else { throw NoiseError(.outOfOrder, "the handshake did not end") }
        return (answer, transport)
    }

    /// Reads the file again (SIGHUP); the ring in force stays when it cannot be read.
    ///
    /// - Returns: the ring now in force.
    package func reload(nowMs: UInt64) throws(GatewayKeyRingError) -> GatewayKeyRing {
        guard var ring = try Self.read(self.path) else {
            throw GatewayKeyRingError("\(self.path): the key file is gone; the keys in force stay")
        }
        ring.prune(nowMs: nowMs)
        self.ring.withLock { $0 = ring }
        return ring
    }

    /// The ring in a file; nil when there is no file.
    ///
    /// - Throws: when the file cannot be read, is open to others, or is not a key file.
    package static func read(_ path: String) throws(GatewayKeyRingError) -> GatewayKeyRing? {
        var status = stat()
        guard stat(path, &status) == 0 else {
            if errno == ENOENT { return nil }
            throw GatewayKeyRingError("\(path): \(String(cString: strerror(errno)))")
        }
        guard status.st_mode & 0o077 == 0 else {
            throw GatewayKeyRingError(
                "\(path): the key file is open to others (mode \(String(status.st_mode & 0o777, radix: 8))): chmod 600 it"
            )
        }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw GatewayKeyRingError("\(path): cannot be read (run polygated as the user that owns it)")
        }
        do {
            return try GatewayKeyRing(fileText: String(decoding: data, as: UTF8.self))
        } catch {
            throw GatewayKeyRingError("\(path): \(error.description)")
        }
    }

    /// Writes the ring: a temporary file (0600), fsynced, renamed over the old one. Written by
    /// root (`sudo polygated show-key` or `rotate-keys`), the file goes to the owner of its
    /// directory — the daemon's user — which must be able to read it.
    package static func write(_ ring: GatewayKeyRing, to path: String) throws(GatewayKeyRingError) {
        let temporary = path + ".new"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw GatewayKeyRingError("\(temporary): \(String(cString: strerror(errno)))") }
        var directory = stat()
        let parent = String(path[..<(path.lastIndex(of: "/") ?? path.startIndex)])
        if geteuid() == 0, stat(parent.isEmpty ? "/" : parent, &directory) == 0, directory.st_uid != 0 {
            _ = fchown(fd, directory.st_uid, directory.st_gid)
        }
        let bytes = Array(ring.fileText.utf8)
        let written = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
        let synced = fsync(fd) == 0
        close(fd)
        guard written == bytes.count, synced, rename(temporary, path) == 0 else {
            let reason = String(cString: strerror(errno))
            unlink(temporary)
            throw GatewayKeyRingError("\(path): cannot be written: \(reason)")
        }
    }
}

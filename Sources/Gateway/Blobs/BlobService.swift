package import GatewayWire
package import Logging
package import Primitives
package import Store
import Synchronization

/// Encrypted attachments (docs/GATEWAY_SPEC.md §13): a device gets an upload token on its
/// session (`BlobToken`), streams ciphertext to `POST /v1/blobs`, and anyone holding a blob's
/// id reads it (`GET /v1/blobs/ID`: the id is the SHA-256 of ciphertext under a key only the
/// conversation has, so it is safe to cache). Sizes, quotas, retention, audit and counters.
package final class BlobService: Sendable {
    /// Why a blob request is refused: the HTTP status, a stable code and what to do next.
    package struct Refusal: Error, Sendable, Equatable {
        package var status: Int
        package var code: String
        package var message: String

        package init(status: Int, code: String, message: String) {
            self.status = status
            self.code = code
            self.message = message
        }
    }

    /// An upload's outcome.
    package struct Stored: Sendable {
        package var id: [UInt8]
        package var size: Int64
        package var expiresMs: Int64
        /// False when the same bytes were there already.
        package var created: Bool
    }

    /// Counters for /metrics.
    package struct Counters: Sendable {
        package var uploads: Int64 = 0
        package var uploadedBytes: Int64 = 0
        package var downloads: Int64 = 0
        package var downloadedBytes: Int64 = 0
        /// Blobs stored and their bytes, as of the last sweep (every 10 s).
        package var stored: Int64 = 0
        package var storedBytes: Int64 = 0

        package init() {}
    }

    package let limits: BlobLimits
    package let store: BlobStore
    let repository: BlobRepository
    let devices: DeliveryRepository
    let ledger: AuditLedger
    let clock: GatewayClock
    let logger: Logger
    private let tokens = Mutex<ResumeToken?>(nil)
    private let counters = Mutex(Counters())
    /// Whether the directory could be made; uploads are refused (503) while not.
    private let available = Mutex(false)

    package init(
        limits: BlobLimits,
        repository: BlobRepository,
        devices: DeliveryRepository,
        ledger: AuditLedger,
        clock: GatewayClock,
        logger: Logger
    ) {
        self.limits = limits
        self.store = BlobStore(directory: limits.directory)
        self.repository = repository
        self.devices = devices
        self.ledger = ledger
        self.clock = clock
        self.logger = logger
    }

    /// Makes the directory and the token key (derived from the daemons' shared resume key, so
    /// any daemon of the database accepts a token any other issued).
    package func prepare(sharedKey: SecretBytes) {
        let key = (try? HKDF(hash: .sha256).expand(prk: sharedKey.bytes, info: Array("polygate blob token v1".utf8), length: 32))
        self.tokens.withLock { $0 = ResumeToken(key: SecretBytes(key ?? SecureRandom.bytes(count: 32))) }
        do {
            try self.store.prepare()
            self.available.withLock { $0 = true }
        } catch {
            self.logger.warning(
                "blob storage unavailable: uploads are refused",
                metadata: ["blobs.directory": "\(self.limits.directory)", "error": "\(error.message)"]
            )
        }
    }

    package var snapshot: Counters { self.counters.withLock { $0 } }

    // MARK: Tokens

    /// An upload token for `device` (`BlobToken` on its session): valid `tokenTTL`.
    package func token(for device: DeviceID) -> (token: [UInt8], expiresMs: UInt64)? {
        let expires = self.clock.wallMs + UInt64(self.limits.tokenTTL.milliseconds)
        return self.tokens.withLock { $0 }.map { ($0.issue(deviceID: device, expiresAtMs: expires), expires) }
    }

    /// The active device a bearer token names.
    func device(bearer token: [UInt8]) async throws -> (device: DeviceID, user: UserID) {
        guard let tokens = self.tokens.withLock({ $0 }), let device = try? tokens.check(token, nowMs: self.clock.wallMs) else {
            throw Refusal(
                status: 401,
                code: "bad_token",
                message: "the upload token is not valid (expired?): get a new one with BlobToken on the gateway session"
            )
        }
        guard case .active(let user) = try await self.devices.device(device) else {
            throw Refusal(status: 403, code: "revoked", message: "this device is revoked or unknown")
        }
        return (device, user)
    }

    // MARK: Upload

    /// Streams an upload to disk: refused before anything is stored when `declaredLength` is over
    /// the size limit or the user's quota, or as soon as the bytes pass either; a cut-short or
    /// refused upload leaves no file and no row.
    package func upload(
        bearer token: [UInt8],
        declaredLength: Int?,
        body: some AsyncSequence<[UInt8], any Error>,
        peer: String
    ) async throws -> Stored {
        let (device, user) = try await self.device(bearer: token)
        guard self.available.withLock({ $0 }) else {
            throw Refusal(status: 503, code: "unavailable", message: "blob storage is not available on this server now")
        }
        let used = try await self.repository.usage(of: user)
        let room = Int64(self.limits.quotaPerUser) - used
        if let declaredLength {
            try self.check(size: Int64(declaredLength), room: room)
        }
        let upload: BlobStore.Upload
        do {
            upload = try self.store.begin()
        } catch {
            throw self.storageFailed(error)
        }
        do {
            for try await chunk in body {
                try upload.write(chunk)
                try self.check(size: Int64(upload.size), room: room)
            }
            if let declaredLength, declaredLength != upload.size {
                throw Refusal(status: 400, code: "bad_request", message: "the body is shorter than its Content-Length")
            }
            let id = try upload.finish()
            let size = Int64(upload.size)
            let recorded = try await self.repository.record(
                id,
                user: user,
                device: device,
                size: size,
                quota: Int64(self.limits.quotaPerUser),
                retention: self.limits.retention
            )
            switch recorded {
            case .overQuota(let usedNow):
                // Another upload of this user took the room meanwhile; the file is nobody's.
                if try await self.repository.blob(id) == nil { self.store.remove(id) }
                throw Self.overQuota(used: usedNow, limit: self.limits.quotaPerUser)
            case .existing, .stored:
                break
            }
            let blob = try await self.repository.blob(id)
            self.counters.withLock {
                $0.uploads += 1
                $0.uploadedBytes += size
            }
            if recorded == .stored {
                try? await self.ledger.record(
                    "blob.uploaded",
                    actor: device.hex,
                    subject: Hex.encode(id),
                    details: ["user": Hex.encode(user), "size": "\(size)", "ip": peer]
                )
            }
            return Stored(id: id, size: size, expiresMs: blob?.expiresMs ?? 0, created: recorded == .stored)
        } catch let failure as BlobStore.Failure {
            upload.abort()
            throw self.storageFailed(failure)
        } catch {
            upload.abort()
            throw error
        }
    }

    func check(size: Int64, room: Int64) throws(Refusal) {
        if size > Int64(self.limits.maxSize) {
            throw Refusal(
                status: 413,
                code: "too_large",
                message: "a blob is at most \(self.limits.maxSize) bytes on this server ([blobs] max_size)"
            )
        }
        if size > room {
            throw Self.overQuota(used: Int64(self.limits.quotaPerUser) - room, limit: self.limits.quotaPerUser)
        }
    }

    static func overQuota(used: Int64, limit: Int) -> Refusal {
        Refusal(
            status: 413,
            code: "quota_exceeded",
            message: "your attachments use \(used) of your \(limit) bytes: delete some, or wait for old ones to expire"
        )
    }

    /// The refusal for a failure of the blob directory, logged for the operator (the user is
    /// only told that the server's disk is full, or that it failed).
    func storageFailed(_ failure: BlobStore.Failure) -> Refusal {
        self.logger.error(
            failure.diskFull ? "blob upload dropped: the blob directory's filesystem is full" : "blob upload failed",
            metadata: ["blobs.directory": "\(self.limits.directory)", "error": "\(failure.message)"]
        )
        return Self.refusal(failure)
    }

    static func refusal(_ failure: BlobStore.Failure) -> Refusal {
        Refusal(status: failure.diskFull ? 507 : 500, code: failure.diskFull ? "disk_full" : "io", message: failure.message)
    }

    // MARK: Download and delete

    /// An open blob to send: its file, size and expiry; nil when there is none (unknown,
    /// expired or deleted).
    package func open(_ id: [UInt8]) async throws -> (fd: Int32, size: Int, blob: BlobRepository.Blob)? {
        guard let blob = try await self.repository.blob(id), let (fd, size) = self.store.open(id) else { return nil }
        return (fd, size, blob)
    }

    /// Counts a download of `bytes`.
    package func downloaded(_ bytes: Int) {
        self.counters.withLock {
            $0.downloads += 1
            $0.downloadedBytes += Int64(bytes)
        }
    }

    /// `DELETE /v1/blobs/ID` by the device that uploaded it.
    package func delete(_ id: [UInt8], bearer token: [UInt8]) async throws {
        let (device, user) = try await self.device(bearer: token)
        guard let blob = try await self.repository.delete(id, device: device) else {
            throw Refusal(status: 404, code: "not_found", message: "no blob \(Hex.encode(id)) uploaded by this device")
        }
        self.store.remove(id)
        try? await self.ledger.record(
            "blob.deleted",
            actor: device.hex,
            subject: Hex.encode(id),
            details: ["user": Hex.encode(user), "size": "\(blob.size)", "by": "uploader"]
        )
    }

    /// gwctl's `blob delete`.
    package func delete(_ id: [UInt8], by actor: String) async throws -> BlobRepository.Blob? {
        guard let blob = try await self.repository.delete(id) else { return nil }
        self.store.remove(id)
        try? await self.ledger.record(
            "blob.deleted",
            actor: actor,
            subject: Hex.encode(id),
            details: ["user": Hex.encode(blob.user), "size": "\(blob.size)", "by": "admin"]
        )
        return blob
    }

    package func statistics() async throws -> BlobRepository.Statistics { try await self.repository.statistics() }

    /// Deletes expired blobs (rows, then files).
    package func sweep() async {
        do {
            let expired = try await self.repository.expire()
            for blob in expired { self.store.remove(blob.id) }
            if !expired.isEmpty {
                self.logger.info("deleted expired blobs", metadata: ["blobs.expired": "\(expired.count)"])
            }
            let totals = try await self.repository.statistics(topUsers: 0)
            self.counters.withLock {
                $0.stored = totals.count
                $0.storedBytes = totals.bytes
            }
        } catch {
            self.logger.debug("blob sweep failed", metadata: ["error": "\(error)"])
        }
    }
}

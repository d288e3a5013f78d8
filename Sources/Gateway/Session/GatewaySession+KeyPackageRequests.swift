import GatewayWire
import Logging
import Primitives
import Store
import SwiftProtobuf
import Synchronization

/// KeyPackages (docs/GATEWAY_SPEC.md §4.1): upload, count, claim.
extension GatewaySession {
    /// `UploadKeyPackages`: each package checked, then stored per suite within the device's bound.
    func upload(_ upload: Polygate_Gateway_V1_UploadKeyPackages, _ identity: Identity, _ requestID: UInt64) async throws {
        try await self.storeKeyPackages(upload, identity)
        self.respond(self.response(requestID))
    }

    /// `CountKeyPackages`: this device's unclaimed packages of a suite.
    func count(_ count: Polygate_Gateway_V1_CountKeyPackages, _ identity: Identity, _ requestID: UInt64) async throws {
        try KeyPackageCheck.checkSuite(count.cipherSuite)
        let counted = try await self.context.repository.countKeyPackages(
            deviceID: identity.deviceID,
            cipherSuite: Int32(clamping: count.cipherSuite),
            nowMs: Int64(clamping: self.context.clock.wallMs)
        )
        var result = Polygate_Gateway_V1_KeyPackageCount()
        result.count = UInt32(clamping: counted.count)
        result.hasLastResort_p = counted.lastResort
        var response = self.response(requestID)
        response.count = result
        self.respond(response)
    }

    /// `ClaimKeyPackages`: one package of each of a user's devices (rate-limited).
    func claim(_ claim: Polygate_Gateway_V1_ClaimKeyPackages, _ identity: Identity, _ requestID: UInt64) async throws {
        guard try await self.limit(.claim, identity, requestID) else { return }
        var response = self.response(requestID)
        response.claim = try await self.claimResult(claim, identity)
        self.respond(response)
    }

    private func storeKeyPackages(_ upload: Polygate_Gateway_V1_UploadKeyPackages, _ identity: Identity) async throws {
        let limits = self.context.limits
        guard upload.keyPackages.count <= limits.keyPackagesPerUpload else {
            throw GatewayWireError(.tooManyKeyPackages, "at most \(limits.keyPackagesPerUpload) KeyPackages per upload")
        }
        let check = KeyPackageCheck(
            device: identity.certificate,
            maxLifetime: UInt64(limits.keyPackageMaxLifetime.components.seconds)
        )
        let nowMs = self.context.clock.wallMs
        var bySuite: [Int32: [(bytes: [UInt8], expiresAtMs: Int64?)]] = [:]
        for (index, bytes) in upload.keyPackages.enumerated() {
            do {
                let accepted = try check.check([UInt8](bytes), nowMs: nowMs)
                bySuite[accepted.cipherSuite, default: []].append((accepted.bytes, accepted.expiresAtMs))
            } catch {
                throw GatewayWireError(error.code, "key_packages[\(index)]: \(error.message)")
            }
        }
        var lastResort: KeyPackageCheck.Accepted?
        if !upload.lastResort.isEmpty {
            do {
                lastResort = try check.check([UInt8](upload.lastResort), nowMs: nowMs)
            } catch {
                throw GatewayWireError(error.code, "last_resort: \(error.message)")
            }
        }
        for suite in Set(bySuite.keys).union(lastResort.map { [$0.cipherSuite] } ?? []).sorted() {
            let oneTime = bySuite[suite] ?? []
            if !oneTime.isEmpty {
                let stored = try await self.context.repository.storedKeyPackages(deviceID: identity.deviceID, cipherSuite: suite)
                guard stored + oneTime.count <= limits.keyPackagesPerDevice else {
                    throw GatewayWireError(
                        .tooManyKeyPackages,
                        "at most \(limits.keyPackagesPerDevice) KeyPackages per device and suite (\(stored) stored)"
                    )
                }
            }
            let last = lastResort.flatMap {
                $0.cipherSuite == suite ? (bytes: $0.bytes, expiresAtMs: Optional($0.expiresAtMs)) : nil
            }
            try await self.context.repository.storeKeyPackages(
                deviceID: identity.deviceID,
                cipherSuite: suite,
                oneTime: oneTime,
                lastResort: last
            )
        }
    }

    private func claimResult(
        _ claim: Polygate_Gateway_V1_ClaimKeyPackages,
        _ identity: Identity
    ) async throws -> Polygate_Gateway_V1_ClaimResult {
        guard claim.userID.count == 32 else { throw GatewayWireError(.badRequest, "user_id is a 32-byte key") }
        try KeyPackageCheck.checkSuite(claim.cipherSuite)
        let target = UserID(claim.userID)
        let repository = self.context.repository
        if try await repository.isBlocked(identity.userID, by: target) {
            throw GatewayWireError(.blocked, "a block forbids this")
        }
        let nowMs = Int64(clamping: self.context.clock.wallMs)
        let suite = Int32(claim.cipherSuite)
        let claimed = try await repository.claimKeyPackages(
            userID: target,
            cipherSuite: suite,
            claimerDevice: identity.deviceID,
            nowMs: nowMs
        )
        try await repository.afterClaim(
            claimed,
            claimer: identity.deviceID,
            target: target,
            cipherSuite: suite,
            threshold: self.context.limits.keyPackagesLow,
            nowMs: nowMs
        )
        if !claimed.isEmpty {
            self.context.ledger.mirrored(
                "keypackage.claimed",
                actor: Hex.encode(identity.deviceID),
                subject: Hex.encode(target),
                details: DeliveryRepository.claimDetails(claimed, cipherSuite: suite)
            )
        }
        var result = Polygate_Gateway_V1_ClaimResult()
        result.keyPackages = claimed.map { package in
            var out = Polygate_Gateway_V1_ClaimedKeyPackage()
            out.deviceID = .init(package.deviceID)
            out.keyPackage = .init(package.keyPackage)
            out.lastResort = package.lastResort
            return out
        }
        return result
    }
}

package import GatewayWire
import MLS
import SwiftProtobuf

/// Validates a KeyPackage a device uploads (docs/GATEWAY_SPEC.md §4.1), without I/O.
package struct KeyPackageCheck: Sendable {
    /// What an accepted KeyPackage is stored with.
    package struct Accepted: Sendable, Hashable {
        package var bytes: [UInt8]
        package var cipherSuite: Int32
        /// Lifetime end in milliseconds (clamped to bigint).
        package var expiresAtMs: Int64
    }

    /// The cipher suites a device can use: the leaf's signature key must be the device's
    /// Ed25519 key, and only suites 1 and 3 sign with Ed25519 (2, 5 and 7 use ECDSA, 4 and 6
    /// Ed448).
    package static let cipherSuites: Set<UInt32> = [1, 3]

    /// The uploading device.
    package let device: VerifiedDeviceCertificate
    /// The longest total lifetime accepted, in seconds (`not_after - not_before`).
    package let maxLifetime: UInt64

    package init(
        device: VerifiedDeviceCertificate,
        maxLifetime: UInt64 = UInt64(GatewayLimits().keyPackageMaxLifetime.components.seconds)
    ) {
        self.device = device
        self.maxLifetime = maxLifetime
    }

    /// Checks a `cipher_suite` field of a request (count, claim).
    ///
    /// - Throws: ``GatewayWireError`` `bad_request` for a suite a device cannot use.
    package static func checkSuite(_ suite: UInt32) throws(GatewayWireError) {
        guard Self.cipherSuites.contains(suite) else {
            throw GatewayWireError(.badRequest, "cipher_suite must be 1 or 3 (device keys are Ed25519)")
        }
    }

    /// Checks one serialized `MLSMessage(KeyPackage)` at time `nowMs`.
    package func check(_ bytes: [UInt8], nowMs: UInt64) throws(GatewayWireError) -> Accepted {
        let keyPackage: KeyPackage
        do {
            guard case .keyPackage(let decoded) = try MLSMessage.decode(bytes) else {
                throw GatewayWireError(.badKeyPackage, "not an MLSMessage holding a KeyPackage")
            }
            keyPackage = decoded
        } catch let error as GatewayWireError {
            throw error
        } catch {
            throw GatewayWireError(.badKeyPackage, "does not decode: \(error)")
        }
        guard Self.cipherSuites.contains(UInt32(keyPackage.cipherSuite)) else {
            throw GatewayWireError(
                .badKeyPackage,
                "cipher suite \(keyPackage.cipherSuite) cannot carry an Ed25519 device key: use suite 1 or 3"
            )
        }
        let crypto: MLSCrypto
        do {
            crypto = try MLSCrypto(suiteID: keyPackage.cipherSuite)
        } catch {
            throw GatewayWireError(.badKeyPackage, "cipher suite \(keyPackage.cipherSuite) is not supported")
        }
        let leaf = keyPackage.leafNode
        guard leaf.signatureKey == self.device.deviceID.bytes else {
            throw GatewayWireError(.badKeyPackage, "the leaf's signature key is not this device's key")
        }
        let certificate: [UInt8]
        do {
            certificate = try self.device.signed.serializedBytes()
        } catch {
            throw GatewayWireError(.internal, "certificate does not serialize")
        }
        guard case .basic(let identity) = leaf.credential, identity == certificate else {
            throw GatewayWireError(.badKeyPackage, "the credential must be a basic credential holding this device's certificate")
        }
        guard
            crypto.verifyWithLabel(
                publicKey: leaf.signatureKey,
                label: "KeyPackageTBS",
                content: keyPackage.toBeSigned,
                signature: keyPackage.signature
            ),
            leaf.hasValidSignature(crypto: crypto, groupID: [], leafIndex: 0)
        else {
            throw GatewayWireError(.badKeyPackage, "a signature does not verify")
        }
        guard keyPackage.initKey != leaf.encryptionKey else {
            throw GatewayWireError(.badKeyPackage, "init key equals encryption key")
        }
        guard case .keyPackage(let lifetime) = leaf.source else {
            throw GatewayWireError(.badKeyPackage, "the leaf is not a KeyPackage leaf")
        }
        let now = nowMs / 1000
        guard lifetime.notBefore <= now + 300, lifetime.notAfter > now else {
            throw GatewayWireError(.badKeyPackage, "the lifetime does not cover now")
        }
        guard lifetime.notAfter >= lifetime.notBefore, lifetime.notAfter - lifetime.notBefore <= self.maxLifetime else {
            throw GatewayWireError(
                .badKeyPackage,
                "the lifetime is longer than this gateway accepts (\(self.maxLifetime / 86400) days at most)"
            )
        }
        let expiresMs = lifetime.notAfter >= UInt64(Int64.max) / 1000 ? Int64.max : Int64(lifetime.notAfter) * 1000
        return Accepted(bytes: bytes, cipherSuite: Int32(keyPackage.cipherSuite), expiresAtMs: expiresMs)
    }
}

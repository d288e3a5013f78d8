package import Primitives

/// Stateless resume tokens: `device_id (32) ‖ expiry ms (8, big-endian) ‖ HMAC-SHA-256(key,
/// device_id ‖ expiry)`. Every daemon holding the key checks them without a session store.
package struct ResumeToken: Sendable {
    let key: SecretBytes

    package init(key: SecretBytes) { self.key = key }

    /// A token for `deviceID` valid until `expiresAtMs`.
    package func issue(deviceID: DeviceID, expiresAtMs: UInt64) -> [UInt8] {
        let body = deviceID.bytes + (0..<8).map { UInt8(truncatingIfNeeded: expiresAtMs >> UInt64(56 - 8 * $0)) }
        return body + HashFunction.sha256.hmac(key: self.key, message: body)
    }

    /// The device a token names, if it is authentic and not expired at `nowMs`.
    package func check(_ token: [UInt8], nowMs: UInt64) throws(GatewayWireError) -> DeviceID {
        guard token.count == 32 + 8 + 32 else { throw GatewayWireError(.resumeFailed, "the resume token is malformed") }
        let body = Array(token[0..<40])
        guard ConstantTime.equal(HashFunction.sha256.hmac(key: self.key, message: body), Array(token[40...])) else {
            throw GatewayWireError(.resumeFailed, "the resume token is not authentic")
        }
        let expiry = token[32..<40].reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
        guard expiry > nowMs else { throw GatewayWireError(.resumeFailed, "the resume token has expired") }
        return DeviceID(token[0..<32])
    }
}

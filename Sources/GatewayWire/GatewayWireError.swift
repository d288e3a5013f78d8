/// A gateway frame or credential that cannot be accepted. `code` is the wire error code of
/// docs/GATEWAY_SPEC.md §6; descriptions never contain key material.
package struct GatewayWireError: Error, Sendable, Hashable, CustomStringConvertible {
    package var code: ErrorCode
    package var message: String
    /// `stale_epoch`: the conversation's epoch now.
    package var currentEpoch: UInt64?
    /// `rate_limited`: how long to wait.
    package var retryAfterMs: UInt64?

    package init(_ code: ErrorCode, _ message: String) {
        self.code = code
        self.message = message
    }

    package var description: String { "\(self.code): \(self.message)" }

    /// The wire form.
    package var wire: Polygate_Gateway_V1_Error {
        var error = Polygate_Gateway_V1_Error()
        error.code = self.code.rawValue
        error.message = self.message
        if let currentEpoch { error.currentEpoch = currentEpoch }
        if let retryAfterMs { error.retryAfterMs = retryAfterMs }
        return error
    }
}

/// `Error.code` values (docs/GATEWAY_SPEC.md §6).
package struct ErrorCode: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    package var rawValue: String
    package init(rawValue: String) { self.rawValue = rawValue }

    package static let badRequest = ErrorCode(rawValue: "bad_request")
    package static let badCertificate = ErrorCode(rawValue: "bad_certificate")
    package static let badSignature = ErrorCode(rawValue: "bad_signature")
    package static let unknownDevice = ErrorCode(rawValue: "unknown_device")
    package static let resumeFailed = ErrorCode(rawValue: "resume_failed")
    package static let notAuthenticated = ErrorCode(rawValue: "not_authenticated")
    package static let badKeyPackage = ErrorCode(rawValue: "bad_key_package")
    package static let tooManyKeyPackages = ErrorCode(rawValue: "too_many_key_packages")
    package static let notMember = ErrorCode(rawValue: "not_member")
    package static let conversationExists = ErrorCode(rawValue: "conversation_exists")
    package static let staleEpoch = ErrorCode(rawValue: "stale_epoch")
    package static let badWelcome = ErrorCode(rawValue: "bad_welcome")
    package static let blocked = ErrorCode(rawValue: "blocked")
    package static let tooLarge = ErrorCode(rawValue: "too_large")
    package static let rateLimited = ErrorCode(rawValue: "rate_limited")
    package static let unavailable = ErrorCode(rawValue: "unavailable")
    package static let watchLimit = ErrorCode(rawValue: "watch_limit")
    package static let noRequest = ErrorCode(rawValue: "no_request")
    package static let unknownPairing = ErrorCode(rawValue: "unknown_pairing")
    package static let `internal` = ErrorCode(rawValue: "internal")

    package var description: String { self.rawValue }
}

/// WebSocket close codes (docs/GATEWAY_SPEC.md §8).
package enum CloseCode {
    package static let normal: UInt16 = 1000
    package static let goingAway: UInt16 = 1001
    /// A WebSocket protocol violation the RFC names (an unmasked client frame, RFC 6455 §5.1).
    package static let webSocketProtocolError: UInt16 = 1002
    package static let frameTooLarge: UInt16 = 1009
    package static let overloaded: UInt16 = 1013
    /// An administrator closed the connection (`gwctl conn kick`).
    package static let closedByAdmin: UInt16 = 4000
    package static let authenticationFailed: UInt16 = 4001
    package static let authenticationTimeout: UInt16 = 4002
    package static let deviceRevoked: UInt16 = 4003
    package static let slowConsumer: UInt16 = 4008
    /// A sealed connection whose Noise handshake failed: the first message is not one to a key
    /// of this gateway (another pinned key, or not a handshake), or none came in time.
    package static let sealedHandshakeFailed: UInt16 = 4010
    package static let rateLimited: UInt16 = 4029
    package static let protocolError: UInt16 = 4400
    package static let pingTimeout: UInt16 = 4408
}

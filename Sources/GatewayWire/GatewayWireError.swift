/// A gateway frame or credential that cannot be accepted. `code` is the wire error code of
/// docs/GATEWAY_SPEC.md §6; descriptions never contain key material.
public struct GatewayWireError: Error, Sendable, Hashable, CustomStringConvertible {
    public var code: ErrorCode
    public var message: String
    /// `stale_epoch`: the conversation's epoch now.
    public var currentEpoch: UInt64?
    /// `rate_limited`: how long to wait.
    public var retryAfterMs: UInt64?

    public init(_ code: ErrorCode, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { "\(self.code): \(self.message)" }

    /// The wire form.
    public var wire: Polygate_Gateway_V1_Error {
        var error = Polygate_Gateway_V1_Error()
        error.code = self.code.rawValue
        error.message = self.message
        if let currentEpoch { error.currentEpoch = currentEpoch }
        if let retryAfterMs { error.retryAfterMs = retryAfterMs }
        return error
    }
}

/// `Error.code` values (docs/GATEWAY_SPEC.md §6).
public struct ErrorCode: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public var rawValue: String
    public init(rawValue: String) { self.rawValue = rawValue }

    public static let badRequest = ErrorCode(rawValue: "bad_request")
    public static let badCertificate = ErrorCode(rawValue: "bad_certificate")
    public static let badSignature = ErrorCode(rawValue: "bad_signature")
    public static let unknownDevice = ErrorCode(rawValue: "unknown_device")
    public static let resumeFailed = ErrorCode(rawValue: "resume_failed")
    public static let notAuthenticated = ErrorCode(rawValue: "not_authenticated")
    public static let badKeyPackage = ErrorCode(rawValue: "bad_key_package")
    public static let tooManyKeyPackages = ErrorCode(rawValue: "too_many_key_packages")
    public static let notMember = ErrorCode(rawValue: "not_member")
    public static let conversationExists = ErrorCode(rawValue: "conversation_exists")
    public static let staleEpoch = ErrorCode(rawValue: "stale_epoch")
    public static let badWelcome = ErrorCode(rawValue: "bad_welcome")
    public static let blocked = ErrorCode(rawValue: "blocked")
    public static let tooLarge = ErrorCode(rawValue: "too_large")
    public static let rateLimited = ErrorCode(rawValue: "rate_limited")
    public static let unavailable = ErrorCode(rawValue: "unavailable")
    public static let watchLimit = ErrorCode(rawValue: "watch_limit")
    public static let noRequest = ErrorCode(rawValue: "no_request")
    public static let `internal` = ErrorCode(rawValue: "internal")

    public var description: String { self.rawValue }
}

/// WebSocket close codes (docs/GATEWAY_SPEC.md §8).
public enum CloseCode {
    public static let normal: UInt16 = 1000
    public static let goingAway: UInt16 = 1001
    /// A WebSocket protocol violation the RFC names (an unmasked client frame, RFC 6455 §5.1).
    public static let webSocketProtocolError: UInt16 = 1002
    public static let frameTooLarge: UInt16 = 1009
    public static let overloaded: UInt16 = 1013
    /// An administrator closed the connection (`gwctl conn kick`).
    public static let closedByAdmin: UInt16 = 4000
    public static let authenticationFailed: UInt16 = 4001
    public static let authenticationTimeout: UInt16 = 4002
    public static let deviceRevoked: UInt16 = 4003
    public static let slowConsumer: UInt16 = 4008
    public static let rateLimited: UInt16 = 4029
    public static let protocolError: UInt16 = 4400
    public static let pingTimeout: UInt16 = 4408
}

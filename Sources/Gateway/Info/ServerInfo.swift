package import Presence
package import Primitives
import Store

/// What a client should know about this gateway before it connects (`GET /v1/info`,
/// docs/GATEWAY_SPEC.md §11): its name and version, the protocol and where each transport is,
/// the MLS cipher suites it accepts KeyPackages in, and the limits a well-behaved client stays
/// within. Built from the configuration; only the sealed-session keys change while the daemon
/// runs (a reload after `polygated rotate-keys`).
package struct ServerInfo: Sendable, Hashable {
    package var gatewayID: String
    package var version: String
    package var limits: GatewayLimits
    package var presence: PresenceLimits
    /// The sealed-session keys in force (§14), newest first; they change on a reload after
    /// `polygated rotate-keys`.
    package var sealedKeys: [SealedKey] = []

    /// A static key as `/v1/info` lists it.
    package struct SealedKey: Sendable, Hashable {
        package var hex: String
        package var createdMs: UInt64
        package var retiresMs: UInt64?

        package init(_ key: GatewayKeyRing.Key) {
            self.hex = key.hex
            self.createdMs = key.createdMs
            self.retiresMs = key.retiresMs
        }
    }

    package init(gatewayID: String, version: String, limits: GatewayLimits, presence: PresenceLimits) {
        self.gatewayID = gatewayID
        self.version = version
        self.limits = limits
        self.presence = presence
    }

    /// The sealed WebSocket route (§14).
    package static let sealedWebSocketPath = "/v1/sealed"

    var sealed: JSON {
        guard self.limits.sealed != .off else { return .object([("policy", .string("off"))]) }
        return .object([
            ("policy", .string(self.limits.sealed.rawValue)),
            ("protocol", .string(GatewayKeyRing.protocolName)),
            ("websocket", .string(Self.sealedWebSocketPath)),
            ("sse", .object([("stream", .string("/v1/sealed/stream")), ("send", .string("/v1/send"))])),
            ("padding", .array(self.limits.sealedPadding.map { .int(Int64($0)) })),
            (
                "keys",
                .array(
                    self.sealedKeys.map { key in
                        .object(
                            [("key", .string(key.hex)), ("created_ms", .int(Int64(clamping: key.createdMs)))]
                                + (key.retiresMs.map { [("retires_ms", JSON.int(Int64(clamping: $0)))] } ?? [])
                        )
                    }
                )
            ),
        ])
    }

    /// The protocol the gateway speaks (the protobuf package of proto/polygate/gateway.proto).
    package static let protocolName = "polygate.gateway.v1"

    /// The response body: one JSON object, keys in a fixed order, integers as numbers.
    package var json: String {
        let limits = self.limits
        let value: JSON = .object([
            ("gateway_id", .string(self.gatewayID)),
            ("version", .string(self.version)),
            ("protocol", .string(Self.protocolName)),
            (
                "transports",
                .object([
                    ("websocket", .string("/v1/gateway")),
                    ("sse", .object([("stream", .string("/v1/stream")), ("send", .string("/v1/send"))])),
                ])
            ),
            ("cipher_suites", .array(KeyPackageCheck.cipherSuites.sorted().map { .int(Int64($0)) })),
            (
                "limits",
                .object([
                    ("max_frame_bytes", .int(Int64(limits.maxFrameBytes))),
                    ("max_message_bytes", .int(Int64(limits.maxMessageBytes))),
                    ("ping_interval_ms", .int(limits.pingInterval.milliseconds)),
                    ("auth_timeout_ms", .int(limits.authTimeout.milliseconds)),
                    ("resume_ttl_ms", .int(limits.resumeTTL.milliseconds)),
                    ("connect_per_ip", Self.rate(limits.connectPerIP)),
                    ("send_per_device", Self.rate(limits.sendPerDevice)),
                    ("claim_per_device", Self.rate(limits.claimPerDevice)),
                    ("key_packages_per_upload", .int(Int64(limits.keyPackagesPerUpload))),
                    ("key_packages_per_device", .int(Int64(limits.keyPackagesPerDevice))),
                    ("key_packages_low", .int(Int64(limits.keyPackagesLow))),
                    ("key_package_max_lifetime_ms", .int(limits.keyPackageMaxLifetime.milliseconds)),
                    ("max_members", .int(Int64(limits.maxMembers))),
                    ("max_added_per_commit", .int(Int64(limits.maxAddedPerCommit))),
                    ("past_epochs", .int(Int64(clamping: limits.pastEpochs))),
                    ("retention_ms", .int(limits.retention.milliseconds)),
                ])
            ),
            (
                "presence",
                .object([
                    ("lease_ttl_ms", .int(self.presence.leaseTTL.milliseconds)),
                    ("max_watched", .int(Int64(self.presence.maxWatched))),
                    ("watch_per_device", Self.rate(self.presence.watch)),
                ])
            ),
            (
                "pairing",
                .object([
                    ("path", .string("/v1/pairing")),
                    ("ttl_ms", .int(limits.pairingTTL.milliseconds)),
                    ("per_user", Self.rate(limits.pairingsPerUser)),
                    ("attempts_per_ip", Self.rate(limits.pairingAttemptsPerIP)),
                ])
            ),
            ("sealed", self.sealed),
        ])
        return value.text
    }

    /// A token bucket as `{"count", "period_ms", "burst"}`.
    static func rate(_ rate: TokenRate) -> JSON {
        .object([
            ("count", .int(Int64(rate.rate))), ("period_ms", .int(rate.per.milliseconds)), ("burst", .int(Int64(rate.burst))),
        ])
    }

    /// JSON values of the info document, written with their keys in order.
    enum JSON {
        case string(String)
        case int(Int64)
        case array([JSON])
        case object([(String, JSON)])

        var text: String {
            switch self {
            case .string(let text): "\"" + JSONText.escape(text) + "\""
            case .int(let number): "\(number)"
            case .array(let items): "[" + items.map(\.text).joined(separator: ",") + "]"
            case .object(let fields): "{" + fields.map { "\"\($0.0)\":\($0.1.text)" }.joined(separator: ",") + "}"
            }
        }
    }
}

import Foundation
package import GatewayWire
import Primitives

/// The gateway keys a device pins for sealed sessions (docs/GATEWAY_SPEC.md §14.1), newest
/// first, and the rules for changing them:
///
/// - learned once: given with `--gateway-key`, or taken from `GET /v1/info` the first time the
///   gateway offers sealed sessions;
/// - with keys pinned, every connection is sealed under one of them (never plain);
/// - a rotation is taken from the gateway's `SealedHello`, which arrives over a channel a pinned
///   key authenticated: the keys it lists replace the pins;
/// - a gateway that holds none of them is refused, with what to check (``mismatch(_:announced:)``).
package struct GatewayPins: Sendable, Hashable {
    /// The pinned keys (X25519, 32 bytes each), newest first; empty: none pinned.
    package private(set) var keys: [[UInt8]]

    package init(_ keys: [[UInt8]]) { self.keys = keys.filter { $0.count == 32 } }

    /// The pins stored in `identity.json` (hex); nil (older polychat) is none.
    package init(hex: [String]?) { self.init((hex ?? []).compactMap(Hex.decode)) }

    /// The form stored in `identity.json`.
    package var hex: [String] { self.keys.map(Hex.encode) }

    package var isEmpty: Bool { self.keys.isEmpty }

    /// A key as given on the command line: 64 hex digits (`polygated show-key` prints them).
    ///
    /// - Throws: ``ChatError`` `bad_argument` saying what a key looks like.
    package static func parse(_ text: String) throws(ChatError) -> [UInt8] {
        let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
        guard trimmed.count == 64, let key = Hex.decode(trimmed.lowercased()) else {
            throw ChatError(
                .badArgument,
                "'\(text)' is not a gateway key: 64 hex digits, as 'polygated show-key' prints on the server"
            )
        }
        return key
    }

    /// The pins after a sealed handshake under `used` whose `SealedHello` listed `hello`: the
    /// gateway's keys in force (a rotation it announced), or these pins when the list is
    /// unusable (then nothing changes).
    package func updated(used: [UInt8], hello: [Polygate_Gateway_V1_SealedKey]) -> GatewayPins {
        let listed = hello.map { [UInt8]($0.publicKey) }.filter { $0.count == 32 }
        guard listed.contains(used) else { return self }
        return GatewayPins(listed)
    }

    /// The error for a gateway that proved none of the pinned keys: what may have happened and
    /// what to check. `announced` is what its `/v1/info` lists now, when it could be read.
    package func mismatch(_ gatewayURL: String, announced: [[UInt8]]?) -> ChatError {
        let pinned = self.keys.map(Hex.encode).joined(separator: ", ")
        let now =
            switch announced {
            case .some(let keys) where !keys.isEmpty:
                " Its info document now announces \(keys.map(Hex.encode).joined(separator: ", "))."
            default: ""
            }
        return ChatError(
            .gatewayKey,
            """
            the gateway at \(gatewayURL) did not prove that it holds the key this device pinned for it \
            (\(pinned)), so polychat did not connect.\(now) Either something between you and the gateway \
            (a proxy, a CDN, the network) is posing as it, or its keys were replaced instead of rotated, or \
            this device was away longer than a rotation's overlap. Ask the gateway's administrator for its key \
            over a channel you trust (on the server, 'polygated show-key' prints it); only if they confirm a \
            new key, pin it: polychat servers --gateway-key KEY
            """
        )
    }
}

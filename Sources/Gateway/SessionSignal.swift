package import GatewayWire
import Primitives

/// What one daemon tells the sessions of every daemon, as `NOTIFY polygate_session`
/// (docs/GATEWAY_SPEC.md §5). Sent inside the transaction that causes it, so it arrives only
/// when the change is committed.
package enum SessionSignal: Sendable, Hashable {
    /// The user's conversations or Welcomes changed (added to a conversation): `u:<user hex>`.
    case membership(userID: UserID)
    /// The device was revoked: its connections close with 4003. `r:<device hex>`.
    case revoked(deviceID: DeviceID)
    /// The device's one-time KeyPackages for a suite ran low. `k:<device hex>:<suite>:<count>`.
    case keyPackagesLow(deviceID: DeviceID, cipherSuite: UInt32, count: UInt32)
    /// The user's contact relation with `other` changed to `state` (a `ContactState` value):
    /// `c:<user hex>:<other hex>:<state>`. Sent by `gw_contact` (migrations 0005 and 0007).
    case contact(userID: UserID, other: UserID, state: Int)

    /// The NOTIFY channel.
    package static let channel = "polygate_session"

    package var payload: String {
        switch self {
        case .membership(let user): "u:" + Hex.encode(user)
        case .revoked(let device): "r:" + Hex.encode(device)
        case .keyPackagesLow(let device, let suite, let count): "k:\(Hex.encode(device)):\(suite):\(count)"
        case .contact(let user, let other, let state): "c:\(Hex.encode(user)):\(Hex.encode(other)):\(state)"
        }
    }

    /// Parses a payload; nil for anything malformed.
    package init?(payload: String) {
        let parts = payload.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
        guard parts.count >= 2, let id = Hex.decode(parts[1]), id.count == 32 else { return nil }
        switch (parts[0], parts.count) {
        case ("u", 2): self = .membership(userID: UserID(id))
        case ("r", 2): self = .revoked(deviceID: DeviceID(id))
        case ("k", 4):
            guard let suite = UInt32(parts[2]), let count = UInt32(parts[3]) else { return nil }
            self = .keyPackagesLow(deviceID: DeviceID(id), cipherSuite: suite, count: count)
        case ("c", 4):
            guard let other = Hex.decode(parts[2]), other.count == 32, let state = Int(parts[3]), (1...4).contains(state) else {
                return nil
            }
            self = .contact(userID: UserID(id), other: UserID(other), state: state)
        default: return nil
        }
    }
}

/// `NOTIFY polygate_conv, '<conv_id hex>:<seq>'`: an append was committed.
package struct AppendSignal: Sendable, Hashable {
    package var convID: ConversationID
    package var seq: UInt64

    package static let channel = "polygate_conv"

    package init(convID: ConversationID, seq: UInt64) {
        self.convID = convID
        self.seq = seq
    }

    package var payload: String { Hex.encode(self.convID) + ":\(self.seq)" }

    package init?(payload: String) {
        guard let colon = payload.lastIndex(of: ":"), let conv = Hex.decode(String(payload[..<colon])),
            !conv.isEmpty, let seq = UInt64(payload[payload.index(after: colon)...])
        else { return nil }
        self.init(convID: ConversationID(conv), seq: seq)
    }
}

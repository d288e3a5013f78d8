import Control
import Gateway
import GatewayWire
import Primitives
import Store

/// Commands over the stored state: conversations, devices, KeyPackages, blocks.
extension ControlHandler {
    func conversations(member: UserID?, limit: Int) async throws -> ControlValue {
        let rows = try await self.context.repository.conversations(member: member, limit: limit)
        return ["items": .array(rows.map(Self.summary))]
    }

    static func summary(_ row: DeliveryRepository.ConversationSummary) -> ControlValue {
        [
            "conv": .string(row.conv),
            "home": .string(row.home),
            "epoch": .int(row.epoch),
            "seq": .int(row.seq),
            "members": .int(row.members),
            "created": .string(row.created),
            "last_activity": Self.iso(ms: row.lastActivityMs),
        ]
    }

    func conversation(_ prefix: String) async throws -> ControlValue {
        let id = try await self.resolve("conversation", prefix, as: ConversationID.self)
        guard let detail = try await self.context.repository.conversation(hex: Hex.encode(id)) else {
            throw ControlError(.notFound, "no conversation \(prefix)")
        }
        let connected = Set(self.context.realtime.sessions.compactMap { $0.identity.map { Hex.encode($0.deviceID) } })
        guard case .object(var record) = Self.summary(detail.summary) else { return .null }
        record["created_by"] = .string(detail.createdBy)
        record["pending_welcomes"] = .int(detail.pendingWelcomes)
        record["group_info_bytes"] = .int(detail.groupInfoBytes)
        record["members"] = .array(
            detail.members.map {
                [
                    "user": .string($0.user), "joined_seq": .int($0.joinedSeq),
                    "left_seq": $0.leftSeq.map(ControlValue.int) ?? .null,
                ]
            }
        )
        record["devices"] = .array(
            detail.devices.map { device in
                [
                    "device": .string(device.device),
                    "user": .string(device.user),
                    "name": .string(device.name),
                    "acked_seq": device.ackedSeq.map(ControlValue.int) ?? .null,
                    "revoked": ControlValue(device.revoked),
                    "connected": .bool(connected.contains(device.device)),
                ]
            }
        )
        return .object(record)
    }

    func devices(of user: UserID) async throws -> ControlValue {
        let connected = Set(self.context.realtime.sessions.compactMap { $0.identity.map { Hex.encode($0.deviceID) } })
        let rows = try await self.context.repository.devices(of: user)
        return [
            "items": .array(
                rows.map { row in
                    [
                        "device": .string(row.device),
                        "name": .string(row.name),
                        "registered": .string(row.registered),
                        "revoked": ControlValue(row.revoked),
                        "key_packages": .int(row.keyPackages),
                        "last_resort": .bool(row.lastResort),
                        "connected": .bool(connected.contains(row.device)),
                    ]
                }
            )
        ]
    }

    func revoke(_ prefix: String, peer: ControlPeer) async throws -> ControlValue {
        let device = try await self.resolve("device", prefix, as: DeviceID.self)
        let revoked = try await self.context.repository.revoke(device, by: peer.description)
        if revoked {
            // Stored by the revocation's own statements; the journal mirrors it like every event.
            self.context.ledger.mirrored("device.revoked", actor: peer.description, subject: Hex.encode(device))
        }
        return ["device": .string(Hex.encode(device)), "revoked": .bool(revoked)]
    }

    func keyPackages(of user: UserID?) async throws -> ControlValue {
        let low = self.context.keyPackagesLow
        let rows = try await self.context.repository.keyPackagePools(of: user, below: low)
        return [
            "items": .array(
                rows.map { row in
                    [
                        "device": .string(row.device),
                        "user": .string(row.user),
                        "suite": row.suite.map(ControlValue.int) ?? .null,
                        "one_time": .int(row.oneTime),
                        "last_resort": .bool(row.lastResort),
                        "low": .bool(row.oneTime < Int64(low)),
                    ]
                }
            )
        ]
    }

    func blocks(of user: UserID) async throws -> ControlValue {
        let blocked = try await self.context.repository.blocks(of: user)
        return ["items": .array(blocked.map { ["user": .string(Hex.encode(user)), "blocked": .string($0)] })]
    }

    func block(_ user: UserID, _ other: UserID, _ add: Bool) async throws -> ControlValue {
        guard user != other else { throw ControlError(.badArguments, "a user cannot block itself") }
        let before = try await self.context.repository.isBlocked(other, by: user)
        try await self.context.repository.setBlocked(user: user, blocked: other, add)
        if add {
            // As when the user blocks: the contact ends at once, both ways.
            _ = try await self.context.repository.contact("revoke", user: user, other: other)
        }
        return ["user": .string(Hex.encode(user)), "blocked": .string(Hex.encode(other)), "changed": .bool(before != add)]
    }
}

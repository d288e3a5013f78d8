package import Control
import Foundation
import Gateway
import GatewayWire
import Primitives
import Store

/// Runs control commands (docs/CONTROL_PROTOCOL.md). Each command reads or changes the
/// daemon's state through its parts — the repository, the realtime gateway, presence, the rate
/// limiter, the audit ledger — and answers with a ``ControlValue`` laid out as the registry
/// says. Commands that change anything are refused on a read-only socket and recorded in the
/// audit ledger as `admin.<command>`.
package struct ControlHandler: Sendable {
    package let context: ControlContext

    package init(context: ControlContext) { self.context = context }

    /// Runs one command; `emit` sends stream events (`ledger tail --follow`) until the task is
    /// cancelled.
    package func run(
        _ command: ParsedCommand,
        peer: ControlPeer,
        readOnly: Bool,
        emit: @Sendable (ControlValue) async -> Void
    ) async throws(ControlError) -> ControlValue {
        if command.command.mutating {
            guard !readOnly else {
                throw ControlError(.readOnly, "\(command.command.name) changes state: use the read-write control socket")
            }
        }
        do {
            let result = try await self.dispatch(command, peer: peer, emit: emit)
            if command.command.mutating {
                try? await self.context.ledger.record(
                    "admin." + command.command.name.replacing(" ", with: "."),
                    actor: peer.description,
                    subject: command.arguments.first,
                    details: command.arguments.count > 1 ? ["argument": command.arguments[1]] : [:]
                )
            }
            return result
        } catch let error as ControlError {
            throw error
        } catch let error as PostgresError {
            throw ControlError(.unavailable, "the database: \(error)")
        } catch {
            throw ControlError(.failed, "\(command.command.name) failed: \(error)")
        }
    }

    func dispatch(
        _ command: ParsedCommand,
        peer: ControlPeer,
        emit: @Sendable (ControlValue) async -> Void
    ) async throws -> ControlValue {
        let arguments = command.arguments
        let limit = command.options["limit"].flatMap { Int($0) } ?? 50
        switch command.command.name {
        case "status": return await self.status()
        case "check": return await self.check()
        case "conv list":
            return try await self.conversations(member: try await command.options["member"].asyncMap(self.user), limit: limit)
        case "conv show": return try await self.conversation(arguments[0])
        case "device list": return try await self.devices(of: try await self.user(arguments[0]))
        case "device revoke": return try await self.revoke(arguments[0], peer: peer)
        case "pairing list": return try await self.pairings(limit: limit)
        case "pairing cancel": return try await self.cancelPairing(arguments[0], peer: peer)
        case "blob stats": return try await self.blobStatistics()
        case "blob delete": return try await self.deleteBlob(arguments[0], peer: peer)
        case "kp stats": return try await self.keyPackages(of: try await arguments.first.asyncMap(self.user))
        case "presence list": return self.presenceList(limit: limit)
        case "presence show": return try await self.presence(of: try await self.user(arguments[0]))
        case "ratelimit show": return try await self.rateLimits(of: arguments.first)
        case "ratelimit reset": return try await self.resetRateLimits(of: arguments[0])
        case "block list": return try await self.blocks(of: try await self.user(arguments[0]))
        case "block add", "block remove":
            return try await self.block(
                try await self.user(arguments[0]),
                try await self.user(arguments[1]),
                command.command.name == "block add"
            )
        case "conn list": return self.connections(limit: limit)
        case "conn kick": return try await self.kick(arguments[0])
        case "ledger tail":
            return try await self.ledger(
                limit: limit,
                prefix: command.options["event"],
                follow: command.options["follow"] == "true",
                emit: emit
            )
        case "config show": return self.context.configuration
        case "complete": return try await self.complete(arguments[0], prefix: arguments.count > 1 ? arguments[1] : "")
        case "help": return try self.help(arguments.first)
        default: throw ControlError(.unknownCommand, "\(command.command.name) is not served by this daemon")
        }
    }

    // MARK: Ids

    /// The one id of a kind a hex prefix (or a whole id) names — one the daemon knows: a whole
    /// id nobody has is `not_found` like a prefix nothing starts with.
    ///
    /// - Throws: ``ControlError`` `not_found`, or `bad_arguments` when the prefix is ambiguous,
    ///   too short or not hex.
    func resolve<Tag>(
        _ kind: String,
        _ prefix: String,
        as type: Identifier<Tag>.Type = Identifier<Tag>.self
    ) async throws -> Identifier<Tag> {
        let lowered = prefix.lowercased()
        guard lowered.allSatisfy(\.isHexDigit), lowered.count <= 128 else {
            throw ControlError(.badArguments, "\(prefix) is not a \(kind) id (hex)")
        }
        guard lowered.count >= 4 else { throw ControlError(.badArguments, "give at least 4 hex characters of the \(kind) id") }
        let found = try await self.context.repository.ids(kind, prefix: lowered, limit: 6)
        guard let first = found.first, let bytes = Hex.decode(first) else {
            throw ControlError(.notFound, "no \(kind) \(prefix)")
        }
        guard found.count == 1 else {
            throw ControlError(
                .badArguments,
                "\(prefix) names several \(kind)s: \(found.prefix(5).joined(separator: ", "))\(found.count > 5 ? ", …" : "")"
            )
        }
        return Identifier(bytes)
    }

    func user(_ text: String) async throws -> UserID { try await self.resolve("user", text) }

    func complete(_ kind: String, prefix: String) async throws -> ControlValue {
        let ids: [String]
        switch kind {
        case "session", "session-or-device":
            let sessions = self.context.realtime.sessions.map { String($0.id) }.filter { $0.hasPrefix(prefix) }
            ids =
                kind == "session"
                ? sessions : sessions + (try await self.context.repository.ids("device", prefix: prefix, limit: 50))
        case "conversation", "user", "device":
            ids = try await self.context.repository.ids(kind, prefix: prefix, limit: 50)
        case "device-or-ip":
            ids = try await self.context.repository.ids("device", prefix: prefix, limit: 50)
        default:
            throw ControlError(
                .badArguments,
                "complete KIND: conversation, user, device, session, session-or-device or device-or-ip"
            )
        }
        return ["items": .array(ids.sorted().map { ["id": .string($0)] })]
    }

    func help(_ name: String?) throws(ControlError) -> ControlValue {
        guard let name else {
            return ["items": .array(ControlCommands.all.map { ["command": .string($0.name), "summary": .string($0.summary)] })]
        }
        let matches = ControlCommands.all.filter { $0.name == name || $0.words[0] == name || $0.name.hasPrefix(name) }
        guard !matches.isEmpty else { throw ControlError(.notFound, "no command \(name) (try help)") }
        return ["items": .array(matches.map { ["command": .string($0.usage), "summary": .string($0.summary)] })]
    }

    // MARK: Time

    static func iso(ms: Int64?) -> ControlValue {
        guard let ms else { return .null }
        return .string(GatewayClock.iso8601(ms: ms))
    }
}

extension Optional {
    func asyncMap<T>(_ transform: (Wrapped) async throws -> T) async throws -> T? {
        guard let self else { return nil }
        return try await transform(self)
    }
}

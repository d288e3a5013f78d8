import ClientTLS
import Foundation
import GatewayClient
package import GatewayWire
import MLS
import Polycentric
import PolycentricClient
import Primitives
import SwiftProtobuf

/// polychat's engine: the local identity and state (encrypted at rest), the Polycentric
/// account, and the MLS groups of this device. An actor: the command line and the terminal UI
/// call it from several tasks; one ``ChatSession`` at a time talks to the gateway.
package actor ChatEngine {
    static let suite = CipherSuite.mls128DHKEMX25519AES128GCMSHA256Ed25519

    /// How long the KeyPackages (and leaves) this device publishes are valid: from a day ago
    /// (clocks differ) to 60 days ahead.
    static let keyPackageLifetime: (before: UInt64, after: UInt64) = (86_400, 60 * 86_400)
    /// KeyPackages of others are accepted with a total lifetime of at most this (RFC 9420 §7.2;
    /// the gateway's `key_package_max_lifetime` default).
    static let maxKeyPackageLifetime: UInt64 = 90 * 86_400
    /// Published KeyPackages with less than this left are replaced.
    static let keyPackageRenewal: UInt64 = 14 * 86_400
    /// The secrets of a KeyPackage are kept this long after it expired (a Welcome made with it
    /// just before may still be on its way).
    static let keyPackageGrace: UInt64 = 30 * 86_400

    /// Every group of this device checks lifetimes against the clock.
    static let groupConfiguration = MLSGroup.Configuration(
        now: { UInt64(Date().timeIntervalSince1970) },
        maxKeyPackageLifetime: ChatEngine.maxKeyPackageLifetime
    )

    /// The lifetime of what this device publishes now.
    static func lifetime(now: UInt64 = UInt64(Date().timeIntervalSince1970)) -> Lifetime {
        Lifetime(notBefore: now - Self.keyPackageLifetime.before, notAfter: now + Self.keyPackageLifetime.after)
    }

    let directory: StateDirectory
    /// The directory's lock; nil for a read-only engine (``open(directory:environment:readOnly:passphrase:)``).
    let lock: StateLock?
    let vault: Vault
    package internal(set) var identity: IdentityRecord
    let device: DeviceCredentials
    var social: SocialAccount
    var state: ChatState
    /// Loaded MLS groups, by conversation id (hex).
    var groups: [String: MLSGroup] = [:]
    /// Things worth telling the user that happened while processing (joins, removals …).
    var notices: [String] = [] {
        didSet {
            guard self.notices.count > oldValue.count else { return }
            for notice in self.notices[oldValue.count...] { self.record(.notice(notice)) }
        }
    }
    /// What a running instance publishes (``takeEvents()``): bounded, oldest dropped first.
    var events: [ChatEvent] = []
    /// The live session of a running instance (daemon or UI) while it handles a request:
    /// ``withSession(_:)`` uses it instead of opening a second connection.
    var attached: ChatSession?
    /// The session saw `CaughtUp`.
    var caughtUp = false
    /// Conversations being joined by external commit (a new device of a member).
    var joining: Set<String> = []
    /// Conversations whose name and kind this device should send (a device joined by itself).
    var metaDue: Set<String> = []
    /// Devices (hex) the gateway said were revoked: their leaves are to be removed.
    var revokedDue: Set<String> = []
    /// Conversations this connection already tried to join again (see ``ChatState/rejoin``).
    var rejoinTried: Set<String> = []
    /// The highest seq processed per conversation and not acked yet.
    var unacked: [String: UInt64] = [:]
    /// Presence of watched contacts (user hex → status), as last told.
    package internal(set) var presence: [String: Polygate_Gateway_V1_Presence] = [:]
    /// Messages that arrived in this process, oldest first (bounded; ``takeArrivals()``).
    var arrivals: [(conv: String, message: ChatMessage)] = []
    /// Whether this session is connected (for the terminal UI).
    package internal(set) var connected = false
    /// TLS authorities and transport from the environment.
    let connection: ConnectionSettings

    init(
        directory: StateDirectory,
        lock: StateLock?,
        vault: Vault,
        identity: IdentityRecord,
        device: DeviceCredentials,
        social: SocialAccount,
        state: ChatState,
        connection: ConnectionSettings = ConnectionSettings()
    ) {
        self.connection = connection
        self.directory = directory
        self.lock = lock
        self.vault = vault
        self.identity = identity
        self.device = device
        self.social = social
        self.state = state
    }

    // MARK: Identity

    /// This user's id (the Polycentric system key), hex.
    package nonisolated var userID: String { Hex.encode(self.device.userID) }
    /// This device's id, hex.
    package nonisolated var deviceID: String { Hex.encode(self.device.deviceID) }
    /// The state directory.
    package nonisolated var statePath: String { self.directory.path }
    /// How the state is encrypted at rest.
    package nonisolated var vaultMode: Vault.Mode { self.vault.mode }
    /// This user's Polycentric username, if set.
    package var username: String? { self.social.username }

    /// Creates an identity (a new one, or the one in `bundle`, an export of another device) and
    /// this device in `directory`.
    ///
    /// - Throws: ``ChatError`` `identity_exists` when there is one.
    package static func initialize(
        directory: StateDirectory,
        deviceName: String,
        socialURL: String,
        gatewayURL: String,
        passphrase: String?,
        history: Int = 1000,
        importing export: IdentityExport? = nil,
        caFile: String? = nil,
        gatewayKey: [UInt8]? = nil,
        environment: [String: String]
    ) async throws(ChatError) -> ChatEngine {
        let bundle = export?.bundle
        try Self.checkSocialURL(socialURL)
        let endpoint = try GatewayEndpoint(parsing: gatewayURL)
        let connection = try ConnectionSettings(environment: environment)
        let authority = try caFile.map(Self.readAuthority)
        // A gateway that cannot serve this polychat is refused before anything is stored.
        let caFiles = [caFile, connection.caFile].compactMap { $0 }
        let info = await GatewayInfo.fetch(endpoint, tls: ClientTLS(caFiles: caFiles))
        try info?.check(suite: Int(Self.suite.id), server: gatewayURL)
        let pins = try Self.initialPins(given: gatewayKey, info: info, export: export, gatewayURL: gatewayURL)
        try directory.create()
        let lock = try directory.lock()
        guard !directory.exists("identity.json") else {
            throw ChatError(.identityExists, "\(directory.path) already holds an identity (polychat whoami shows it)")
        }
        let social: SocialAccount
        if let bundle {
            do {
                social = try SocialAccount(importing: bundle)
            } catch {
                throw ChatError(.badArgument, "the identity export does not read: \(error)")
            }
        } else {
            social = SocialAccount.create()
        }
        let device: DeviceCredentials
        do {
            device = try DeviceCredentials.make(
                systemKey: social.key.seed,
                deviceName: String(deviceName.utf8.prefix(64)) ?? "device",
                nowMs: Self.nowMs()
            )
        } catch {
            throw ChatError(.badArgument, "cannot certify this device: \(error)")
        }
        let identity = IdentityRecord(
            systemKey: Hex.encode(social.key.seed.bytes),
            process: Hex.encode(social.log.process.process),
            deviceKey: Hex.encode(device.deviceKey.bytes),
            certificate: Hex.encode((try? device.certificate.serializedBytes() as [UInt8]) ?? []),
            deviceName: deviceName,
            socialURL: socialURL,
            gatewayURL: gatewayURL,
            history: history,
            gatewayKeys: pins.isEmpty ? nil : pins.hex
        )
        let vault = try Vault.create(in: directory, passphrase: passphrase, environment: environment)
        if let authority { try directory.write(Self.authorityFile, authority) }
        var state = ChatState()
        if let hints = export?.conversations, !hints.isEmpty { state.directory = hints }
        let engine = ChatEngine(
            directory: directory,
            lock: lock,
            vault: vault,
            identity: identity,
            device: device,
            social: social,
            state: state,
            connection: connection
        )
        try await engine.save()
        return engine
    }

    /// The gateway keys a new device pins: the one given (`--gateway-key`, which the gateway
    /// must list when its info document can be read), else those of the identity export when it
    /// names this gateway, else those the gateway's info document lists (none when it offers no
    /// sealed sessions, or could not be read: they are learned when it first offers them).
    ///
    /// - Throws: ``ChatError`` `refused` for a key given to a gateway without sealed sessions,
    ///   `gateway_key` for one the gateway does not list.
    static func initialPins(
        given: [UInt8]?,
        info: GatewayInfo?,
        export: IdentityExport?,
        gatewayURL: String
    ) throws(ChatError) -> GatewayPins {
        if let given {
            if let info {
                let listed = info.sealedKeys
                guard !listed.isEmpty else {
                    throw ChatError(
                        .refused,
                        "the gateway at \(gatewayURL) offers no sealed sessions (its /v1/info says so), so it has no key "
                            + "to pin; leave out --gateway-key, or ask its administrator to set [gateway] sealed"
                    )
                }
                guard listed.contains(given) else {
                    throw ChatError(
                        .gatewayKey,
                        "the gateway at \(gatewayURL) does not list the key you gave (\(Hex.encode(given))); it lists "
                            + "\(listed.map(Hex.encode).joined(separator: ", ")). Check the key with the gateway's "
                            + "administrator ('polygated show-key' on the server): if theirs is the one you gave, "
                            + "something between you and the gateway is posing as it"
                    )
                }
            }
            return GatewayPins([given])
        }
        if let export, export.gateway == gatewayURL, !export.gatewayKeys.isEmpty { return GatewayPins(export.gatewayKeys) }
        return GatewayPins(info?.sealedKeys ?? [])
    }

    /// Opens the identity and state in `directory`.
    ///
    /// - Parameter readOnly: do not take the directory's lock (for `whoami` while the terminal UI
    ///   runs); such an engine refuses to save.
    package static func open(
        directory: StateDirectory,
        environment: [String: String],
        readOnly: Bool = false,
        passphrase: () throws(ChatError) -> String
    ) throws(ChatError) -> ChatEngine {
        guard directory.exists("vault.json") else {
            throw ChatError(.noIdentity, "no polychat identity in \(directory.path); run 'polychat init' first")
        }
        let lock = readOnly ? nil : try directory.lock()
        let vault = try Vault.open(directory, environment: environment, passphrase: passphrase)
        guard let identity = try vault.load(IdentityRecord.self, "identity.json", from: directory) else {
            throw ChatError(.noIdentity, "no polychat identity in \(directory.path); run 'polychat init' first")
        }
        guard identity.version == 1, let systemSeed = Hex.decode(identity.systemKey), let process = Hex.decode(identity.process),
            let deviceSeed = Hex.decode(identity.deviceKey), let certificateBytes = Hex.decode(identity.certificate),
            let certificate = try? Polygate_Gateway_V1_SignedDeviceCertificate(serializedBytes: certificateBytes),
            let key = try? SystemKeyPair(seed: SecretBytes(systemSeed))
        else {
            throw ChatError(.badState, "identity.json is damaged or from a newer polychat")
        }
        let device: DeviceCredentials
        do {
            device = try DeviceCredentials(deviceKey: SecretBytes(deviceSeed), certificate: certificate, nowMs: Self.nowMs())
        } catch {
            throw ChatError(.badState, "this device's certificate no longer verifies: \(error)")
        }
        let events = (try vault.load([String].self, "social.json", from: directory) ?? []).compactMap { hex -> VerifiedEvent? in
            guard let bytes = Hex.decode(hex), let signed = try? Userpackage_SignedEvent(serializedBytes: bytes) else {
                return nil
            }
            return try? VerifiedEvent(signed)
        }
        var processID = Userpackage_Process()
        processID.process = Data(process)
        let social = SocialAccount(key: key, process: processID, events: events)
        let state = try vault.load(ChatState.self, "chat.json", from: directory) ?? ChatState()
        return ChatEngine(
            directory: directory,
            lock: lock,
            vault: vault,
            identity: identity,
            device: device,
            social: social,
            state: state,
            connection: try ConnectionSettings(environment: environment)
        )
    }

    /// What an identity export holds: the identity (system key and Polycentric events) and the
    /// user's conversations as this device knows them (ids, names, kinds, DM peers — no keys,
    /// no messages), so the new device can join them at once under their names.
    package struct IdentityExport: Sendable {
        /// The Polycentric export bundle.
        var bundle: [UInt8]
        var conversations: [ConversationHint]
        /// The gateway of the device that made the export, and the keys it pinned for it:
        /// the new device pins them too when it uses the same gateway.
        var gateway: String? = nil
        var gatewayKeys: [[UInt8]] = []
    }

    /// The sealed contents of a `PCX2` export.
    struct ExportContents: Codable {
        var v = 2
        var bundle: String
        var conversations: [ConversationHint]
        /// Added with sealed sessions: absent from older exports.
        var gateway: String?
        var gatewayKeys: [String]?
    }

    /// The identity for another device, sealed with `passphrase` (Argon2id +
    /// ChaCha20-Poly1305): `PCX2`, the salt, then the sealed ``ExportContents``.
    package func exportIdentity(passphrase: String) throws(ChatError) -> [UInt8] {
        let salt = SecureRandom.bytes(count: PasswordHash.saltSize)
        let key = try Vault.derive(passphrase, salt)
        let vault = Vault(key: key, mode: .passphrase)
        return Array("PCX2".utf8) + salt + (try vault.seal(try self.exportContents(), name: "identity-export"))
    }

    /// The identity as a `polygate-identity` file for the web client (``WebIdentityFile``):
    /// the key and the identity's events; no conversations (the browser does not chat yet).
    package func exportWebIdentity(passphrase: String) throws(ChatError) -> [UInt8] {
        try WebIdentityFile.seal(bundle: self.social.exportBundle(), publicKey: self.social.key.publicKey, passphrase: passphrase)
    }

    /// Opens an export made by ``exportIdentity(passphrase:)`` (or by an older polychat: `PCX1`,
    /// the bundle alone), or a `polygate-identity` file from the web client or
    /// ``exportWebIdentity(passphrase:)``.
    ///
    /// - Throws: ``ChatError`` `bad_argument` for a file that is no export, `bad_state` for a
    ///   wrong passphrase or a damaged export.
    package static func readExport(_ bytes: [UInt8], passphrase: String) throws(ChatError) -> IdentityExport {
        if WebIdentityFile.matches(bytes) {
            return IdentityExport(bundle: try WebIdentityFile.open(bytes, passphrase: passphrase), conversations: [])
        }
        let magic = bytes.count > 4 + 16 ? String(decoding: bytes.prefix(4), as: UTF8.self) : ""
        guard magic == "PCX1" || magic == "PCX2" else {
            throw ChatError(.badArgument, "not a polychat identity export (nor a polygate-identity file from the web client)")
        }
        let vault = Vault(key: try Vault.derive(passphrase, Array(bytes[4..<20])), mode: .passphrase)
        let opened: [UInt8]
        do {
            opened = try vault.open(Array(bytes[20...]), name: "identity-export")
        } catch {
            throw ChatError(.badState, "wrong passphrase, or the export is damaged")
        }
        guard magic == "PCX2" else { return IdentityExport(bundle: opened, conversations: []) }
        return try Self.readExportContents(opened)
    }

    /// The identity in an export's plaintext (``ExportContents``: a `PCX2` export opened, or
    /// what a pairing carries).
    package static func readExportContents(_ plaintext: [UInt8]) throws(ChatError) -> IdentityExport {
        guard let contents = try? JSONDecoder().decode(ExportContents.self, from: Data(plaintext)),
            let bundle = Hex.decode(contents.bundle)
        else {
            throw ChatError(.badState, "the export is damaged or from a newer polychat")
        }
        return IdentityExport(
            bundle: bundle,
            conversations: contents.conversations,
            gateway: contents.gateway,
            gatewayKeys: GatewayPins(hex: contents.gatewayKeys).keys
        )
    }

    /// A change to the pinned gateway keys (`polychat servers`).
    package enum PinChange: Sendable, Hashable {
        /// Pin this key alone (`--gateway-key`): the gateway must list it when its info
        /// document can be read.
        case pin([UInt8])
        /// Forget the pins (`--forget-gateway-key`): the next connection pins what the
        /// gateway's info document lists then, as at `init`.
        case forget
    }

    /// Changes the servers, the private CA trusted for them (`caFile`: a PEM file to copy
    /// into the state directory; "" to trust the system's authorities alone again) and the
    /// pinned gateway keys. Another gateway forgets the keys pinned for the old one.
    package func setServers(
        social: String?,
        gateway: String?,
        caFile: String? = nil,
        pins change: PinChange? = nil
    ) async throws(ChatError) {
        if let social {
            try Self.checkSocialURL(social)
            self.identity.socialURL = social
        }
        if let gateway {
            _ = try GatewayEndpoint(parsing: gateway)
            if gateway != self.identity.gatewayURL { self.identity.gatewayKeys = nil }
            self.identity.gatewayURL = gateway
        }
        if let caFile {
            if caFile.isEmpty {
                self.directory.remove(Self.authorityFile)
            } else {
                try self.directory.write(Self.authorityFile, try Self.readAuthority(caFile))
            }
        }
        switch change {
        case .pin(let key):
            let url = self.identity.gatewayURL
            let info = await GatewayInfo.fetch(try GatewayEndpoint(parsing: url), tls: self.tls)
            self.identity.gatewayKeys = try Self.initialPins(given: key, info: info, export: nil, gatewayURL: url).hex
        case .forget: self.identity.gatewayKeys = nil
        case nil: break
        }
        try self.saveNow()
    }

    static func checkSocialURL(_ url: String) throws(ChatError) {
        guard url.lowercased().hasPrefix("http://") || url.lowercased().hasPrefix("https://") else {
            throw ChatError(.badArgument, "'\(url)' is not a social server URL (https://host or http://host:port)")
        }
    }

    // MARK: TLS

    /// The state directory's copy of the private CA given with `--ca-file` (a public
    /// certificate: stored in clear).
    static let authorityFile = "ca.pem"

    /// The bytes of a CA file, checked to hold certificates.
    static func readAuthority(_ path: String) throws(ChatError) -> [UInt8] {
        do {
            _ = try ClientTLS(caFiles: [path]).configuration()
        } catch {
            throw ChatError(.badArgument, error.message)
        }
        guard let bytes = try StateDirectory.readFile(path) else { throw ChatError(.badArgument, "\(path) does not exist") }
        return bytes
    }

    /// The CA files trusted beyond the system's: the state directory's, and `POLYCHAT_CA_FILE`.
    package nonisolated var caFiles: [String] {
        var files: [String] = []
        if self.directory.exists(Self.authorityFile) { files.append(self.directory.file(Self.authorityFile)) }
        if let extra = self.connection.caFile { files.append(extra) }
        return files
    }

    /// How this polychat checks servers' certificates.
    nonisolated var tls: ClientTLS { ClientTLS(caFiles: self.caFiles) }

    func setInvisibleRecord(_ invisible: Bool) { self.identity.invisible = invisible }

    // MARK: Saving

    /// Writes the state (identity, chat, social), each file atomically.
    package func save() throws(ChatError) { try self.saveNow() }

    func saveNow() throws(ChatError) {
        guard self.lock != nil else { throw ChatError(.busy, "this polychat opened the state read-only") }
        for (conv, group) in self.groups {
            if let index = self.state.conversations.firstIndex(where: { $0.id == conv }) {
                self.state.conversations[index].group = group.isActive ? Hex.encode(group.serialized()) : nil
            }
        }
        try self.vault.store(self.identity, "identity.json", in: self.directory)
        try self.vault.store(self.state, "chat.json", in: self.directory)
        try self.vault.store(
            self.social.knownEvents.compactMap { try? $0.signedEvent.serializedBytes() as [UInt8] }.map { Hex.encode($0) },
            "social.json",
            in: self.directory
        )
    }

    // MARK: Reading the state

    /// The conversations, newest activity first.
    package var conversations: [ConversationRecord] {
        self.state.conversations.sorted { ($0.messages.last?.sentAtMs ?? 0) > ($1.messages.last?.sentAtMs ?? 0) }
    }

    /// What happened since the last call (joins, removals, failures), for the user.
    package func takeNotices() -> [String] {
        defer { self.notices = [] }
        return self.notices
    }

    /// The events since the last call (see ``ChatEvent``).
    package func takeEvents() -> [ChatEvent] {
        defer { self.events = [] }
        return self.events
    }

    func record(_ event: ChatEvent) {
        self.events.append(event)
        if self.events.count > 1000 { self.events.removeFirst(self.events.count - 1000) }
    }

    /// Lends the running instance's session to the requests it handles (nil: none).
    package func attach(_ session: ChatSession?) { self.attached = session }

    /// The messages that arrived since the last call, with their conversation ids.
    package func takeArrivals() -> [(conv: String, message: ChatMessage)] {
        defer { self.arrivals = [] }
        return self.arrivals
    }

    /// The conversation a hex prefix (or a name) names.
    ///
    /// - Throws: ``ChatError`` `not_found` or `ambiguous`.
    package func conversation(named text: String) throws(ChatError) -> ConversationRecord {
        // `@name`: the DM with that user.
        if text.hasPrefix("@") {
            let peer = try self.resolveUser(text).hex
            guard let dm = self.state.conversations.first(where: { $0.kind == .dm && $0.peer == peer && !$0.left }) else {
                throw ChatError(.notFound, "no DM with \(self.label(peer)) here (polychat dm \(text) starts one)")
            }
            return dm
        }
        let lowered = text.lowercased()
        let byID = self.state.conversations.filter { $0.id.hasPrefix(lowered) }
        let matches = byID.isEmpty ? self.state.conversations.filter { $0.name == text } : byID
        guard let first = matches.first else {
            throw ChatError(.notFound, "no conversation '\(text)' here (polychat rooms lists them)")
        }
        guard matches.count == 1 else {
            throw ChatError(
                .ambiguous,
                "'\(text)' names \(matches.count) conversations: \(matches.map { String($0.id.prefix(12)) }.joined(separator: ", "))"
            )
        }
        return first
    }

    /// Marks a conversation read; its messages.
    package func markRead(_ conv: String) -> [ChatMessage] {
        guard let index = self.state.conversations.firstIndex(where: { $0.id == conv }) else { return [] }
        self.state.conversations[index].unread = 0
        return self.state.conversations[index].messages
    }

    static func nowMs() -> UInt64 { UInt64(Date().timeIntervalSince1970 * 1000) }

    /// A user id from hex (64 characters).
    package static func user(_ text: String) throws(ChatError) -> UserID {
        guard let bytes = Hex.decode(text.lowercased()), bytes.count == 32 else {
            throw ChatError(.badArgument, "'\(text)' is not a user id (64 hex characters, as 'polychat whoami' prints)")
        }
        return UserID(bytes)
    }

    /// The users this device knows (hex, sorted): itself, conversation members and DM peers,
    /// contacts and requests, blocked users, and the users it follows.
    package var knownUsers: [String] {
        var users: Set<String> = [self.userID]
        for record in self.state.conversations {
            users.formUnion(record.members)
            if let peer = record.peer { users.insert(peer) }
        }
        for hint in self.state.directory ?? [] { if let peer = hint.peer { users.insert(peer) } }
        users.formUnion(self.state.contacts ?? [])
        users.formUnion(self.state.blocked ?? [])
        users.formUnion(self.following)
        users.formUnion((self.state.petnames ?? [:]).keys)
        users.formUnion((self.state.published ?? [:]).keys)
        return users.sorted()
    }

    /// The user `text` names: `@name` (a petname or a published name), the whole 64-character
    /// id, or a name or a unique prefix (at least 4 hex characters) of a user this device knows
    /// (``knownUsers``). A petname decides alone; a published name and id prefixes that point at
    /// different users are ambiguous.
    ///
    /// - Throws: ``ChatError`` `bad_argument` when `text` is neither a name nor hex,
    ///   `not_found` when nobody matches, `ambiguous` (listing the candidates) when several do.
    package func resolveUser(_ text: String) throws(ChatError) -> UserID {
        if text.hasPrefix("@") {
            let name = String(text.dropFirst())
            let named = self.users(named: name)
            guard !named.isEmpty else {
                throw ChatError(
                    .notFound,
                    "nobody you know is called '\(name)' (polychat contacts name USER \(name) gives someone that name)"
                )
            }
            return try self.single(named, for: text)
        }
        let lowered = text.lowercased()
        let isHex = !lowered.isEmpty && lowered.allSatisfy(\.isHexDigit) && lowered.count <= 64
        if isHex, lowered.count == 64 { return try Self.user(lowered) }
        let named = self.users(named: text)
        if named.count == 1, self.state.petnames?[named[0]] != nil { return try Self.user(named[0]) }
        var candidates = Set(named)
        if isHex, lowered.count >= 4 { candidates.formUnion(self.knownUsers.filter { $0.hasPrefix(lowered) }) }
        guard !candidates.isEmpty else {
            if isHex, lowered.count < 4 {
                throw ChatError(.badArgument, "'\(text)' is too short to name a user: give at least 4 hex characters, or a name")
            }
            if !isHex, (try? Self.checkPetname(text)) == nil {
                throw ChatError(.badArgument, "'\(text)' is not a user: give @name, a name, an id prefix or the whole id")
            }
            throw ChatError(
                .notFound,
                "no user you know is called or starts with \(text): give the whole 64-character id (polychat whoami prints a user's own)"
            )
        }
        return try self.single(candidates.sorted(), for: text)
    }

    /// The one user of `candidates`, or an `ambiguous` error listing them as names with ids.
    private func single(_ candidates: [String], for text: String) throws(ChatError) -> UserID {
        guard candidates.count == 1 else {
            throw ChatError(
                .ambiguous,
                "'\(text)' could be \(candidates.count) users: \(candidates.prefix(5).map { self.label($0) + " " + String($0.prefix(12)) }.joined(separator: ", ")); give more of the id, or a name (polychat contacts name)"
            )
        }
        return try Self.user(candidates[0])
    }

    /// Remembers users met as contacts (for ``resolveUser(_:)``).
    func rememberContacts(_ users: [String]) {
        var known = Set(self.state.contacts ?? [])
        let before = known.count
        known.formUnion(users)
        if known.count != before { self.state.contacts = known.sorted() }
    }
}

import AsyncHTTPClient
import ClientTLS
import Foundation
import GatewayClient
package import GatewayWire
import NIOCore
import Polycentric
import PolycentricClient
import Primitives
import SwiftProtobuf

/// The Polycentric feed: this user's events are signed here and synced to the social server;
/// others are read from it.
extension ChatEngine {
    /// A post as the feed shows it.
    package struct Post: Sendable, Codable, Hashable {
        /// The post's share link (reply to it with this, or with ``short``).
        package var id: String
        /// The short form of ``id``: the first 8 hex characters of its SHA-256 (`reply` accepts
        /// it, or any unique prefix of 4 or more, for posts polychat has shown).
        package var short: String
        /// The author's user id, hex.
        package var author: String
        package var authorName: String?
        package var text: String
        package var postedAtMs: UInt64
        /// For replies: the share link of the post replied to.
        package var replyTo: String?
    }

    /// A user's profile.
    package struct Profile: Sendable, Codable, Hashable {
        package var user: String
        package var name: String?
        package var description: String?
    }

    func server() throws(ChatError) -> PolycentricServer {
        do {
            return try PolycentricServer(
                baseURL: self.identity.socialURL,
                client: try HTTPClients.client(self.tls),
                userAgent: "polychat/1",
                tls: self.tls
            )
        } catch let error as ChatError {
            throw error
        } catch {
            throw ChatError(.badArgument, "the social server URL '\(self.identity.socialURL)' is not usable: \(error)")
        }
    }

    /// Runs a request to the social server; its errors become ``ChatError``s.
    func remote<T: Sendable>(_ body: (PolycentricServer) async throws(ServerError) -> T) async throws(ChatError) -> T {
        let server = try self.server()
        do {
            return try await body(server)
        } catch {
            throw Self.translate(error, self.identity.socialURL)
        }
    }

    /// Uploads what the server lacks of this user's events.
    @discardableResult
    package func sync() async throws -> Int {
        var account = self.social
        let sent = try await self.remote { server throws(ServerError) in
            try await account.download(from: server)
            return try await account.sync(to: server)
        }
        self.social = account
        try self.saveNow()
        return sent
    }

    /// Posts (or replies to the post `replyTo`, a share link), then syncs.
    @discardableResult
    package func post(_ text: String, replyTo: String? = nil) async throws -> Post {
        var parent: VerifiedEvent?
        if let replyTo { parent = try await self.event(try self.resolvePost(replyTo)) }
        let event: VerifiedEvent
        do {
            event = try self.social.post(text, replyTo: parent)
        } catch {
            throw ChatError(.badArgument, "cannot sign the post: \(error)")
        }
        let post = self.post(of: event, name: self.social.username)
        self.rememberPosts([post.id])
        try self.saveNow()
        try await self.sync()
        return post
    }

    /// The short form of a post id (share link).
    package static func shortPostID(_ link: String) -> String {
        Hex.encode(Array(HashFunction.sha256.hash(Array(link.utf8)).prefix(4)))
    }

    /// Remembers post ids polychat showed (for ``resolvePost(_:)``): the last 1,000.
    func rememberPosts(_ links: [String]) {
        var recent = self.state.recentPosts ?? []
        let fresh = links.filter { !recent.contains($0) }
        guard !fresh.isEmpty else { return }
        recent = Array((recent + fresh).suffix(1000))
        self.state.recentPosts = recent
    }

    /// The post id `text` names: a whole share link, or the short form (or a unique prefix of at
    /// least 4 hex characters of it) of a post polychat has shown.
    ///
    /// - Throws: ``ChatError`` `not_found` or `ambiguous` (listing the candidates).
    package func resolvePost(_ text: String) throws(ChatError) -> String {
        let lowered = text.lowercased()
        guard (4...16).contains(lowered.count), lowered.allSatisfy(\.isHexDigit) else { return text }
        let matches = (self.state.recentPosts ?? []).filter { Self.shortPostID($0).hasPrefix(lowered) }
        guard let first = matches.first else {
            throw ChatError(
                .notFound,
                "no post \(text) among those polychat has shown you (polychat feed prints them): give its whole id"
            )
        }
        guard Set(matches).count == 1 else {
            throw ChatError(.ambiguous, "'\(text)' could be \(matches.count) posts: give more of its id")
        }
        return first
    }

    /// Follows (or unfollows) a user. A user the server knows nothing of — no event at all, so
    /// perhaps a mistyped id — is still followed, with a notice that says so.
    package func follow(_ user: UserID, _ follow: Bool = true) async throws {
        do {
            if follow { try self.social.follow(.ed25519(user.bytes)) } else { try self.social.unfollow(.ed25519(user.bytes)) }
        } catch {
            throw ChatError(.badArgument, "cannot sign the follow: \(error)")
        }
        try self.saveNow()
        try await self.sync()
        if follow, try await !self.serverKnows(user) {
            self.notices.append(
                "the server at \(self.identity.socialURL) knows nothing of \(user.hex) yet (no posts, no profile): "
                    + "check the id; you follow them, and their posts will show once they post"
            )
        }
    }

    /// Whether the social server holds any event of `user`.
    func serverKnows(_ user: UserID) async throws -> Bool {
        let system = Userpackage_PublicKey.ed25519(user.bytes)
        let ranges = try await self.remote { server throws(ServerError) in try await server.ranges(of: system) }
        return !ranges.isEmpty
    }

    package func setProfile(name: String?, description: String?) async throws {
        do {
            if let name { try self.social.setUsername(name) }
            if let description { try self.social.setDescription(description) }
        } catch {
            throw ChatError(.badArgument, "cannot sign the profile: \(error)")
        }
        try self.saveNow()
        try await self.sync()
    }

    /// The users this user follows (hex).
    package var following: [String] { self.social.following.map { Hex.encode($0.key) } }

    /// Posts of followed users, newest first.
    package func feed(limit: Int = 20) async throws -> [Post] {
        let systems = self.social.following
        let events = try await self.remote { server throws(ServerError) in
            try await SocialAccount.feed(of: systems, from: server, limit: limit)
        }
        var names: [[UInt8]: String] = [:]
        for system in Set(events.map(\.systemKey)) {
            names[system] = (try? await self.profile(of: UserID(system)))?.name
        }
        let posts = events.map { self.post(of: $0, name: names[$0.systemKey]) }
        // Kept, so that `reply` takes the short ids just shown (and the names just learned).
        self.rememberPosts(posts.map(\.id))
        // Read-only (beside a running UI): the short ids work from the next feed that can save.
        try? self.saveNow()
        return posts
    }

    package func profile(of user: UserID) async throws -> Profile {
        if user == self.device.userID {
            return Profile(user: Hex.encode(user), name: self.social.username, description: self.social.profileDescription)
        }
        let profile = try await self.remote { server throws(ServerError) in
            try await SocialAccount.profile(of: .ed25519(user.bytes), from: server)
        }
        self.rememberPublishedName(profile.username, of: user.hex)
        return Profile(user: Hex.encode(user), name: profile.username, description: profile.description)
    }

    /// The event a share link names, from the server.
    func event(_ link: String) async throws -> VerifiedEvent {
        guard case .event(let system, let process, let clock, _) = try? ShareLink(link) else {
            throw ChatError(.badArgument, "'\(link)' is not a post id (the feed prints them)")
        }
        let found = try await self.remote { server throws(ServerError) in
            try await server.events(of: system, [(process, ClockRanges(clocks: [clock]))])
        }
        guard let event = found.first(where: { $0.logicalClock == clock }) else {
            throw ChatError(.notFound, "the social server does not have that post")
        }
        return event
    }

    func post(of event: VerifiedEvent, name: String?) -> Post {
        let content = (try? Userpackage_Post(serializedBytes: event.event.content))?.content ?? ""
        let parent = event.event.references.first { $0.referenceType == 2 }.flatMap { reference -> String? in
            guard let pointer = try? Userpackage_Pointer(serializedBytes: reference.reference) else { return nil }
            return ShareLink.event(
                pointer.system,
                process: pointer.process,
                logicalClock: pointer.logicalClock,
                servers: [self.identity.socialURL]
            ).encoded
        }
        let link = ShareLink.event(
            event.event.system,
            process: event.event.process,
            logicalClock: event.logicalClock,
            servers: [self.identity.socialURL]
        ).encoded
        return Post(
            id: link,
            short: Self.shortPostID(link),
            author: Hex.encode(event.systemKey),
            authorName: name,
            text: content,
            postedAtMs: event.unixMilliseconds ?? 0,
            replyTo: parent
        )
    }

    static func translate(_ error: ServerError, _ url: String) -> ChatError {
        if let tls = error.tls {
            return ChatError(.unreachable, "cannot connect securely to the social server at \(url): \(tls.message)")
        }
        if error.code == .unreachable {
            return ChatError(.unreachable, "cannot reach the social server at \(url) (\(error.reason ?? error.message))")
        }
        if error.code == .status { return ChatError(.refused, "the social server refused: \(error.message)") }
        return ChatError(.refused, "the social server at \(url) answered what polychat cannot use: \(error.message)")
    }
}

package import GatewayWire
import Primitives

/// Names for users (issue 19): a petname this user gives someone (`polychat contacts name`,
/// kept only in the state directory) and the name each user publishes (their Polycentric
/// username, as their messages and profile say). Listings show `name (c9f4…)`; every command
/// that takes a user accepts `@name`, a name, a unique id prefix or the whole id.
extension ChatEngine {
    /// Gives `user` the petname `name`, or takes its petname away (`nil`).
    ///
    /// - Throws: ``ChatError`` `bad_argument` for a name that is not 1–32 letters, digits, `-`,
    ///   `_` or `.`, that could be read as a user id, or that already names another user.
    package func setPetname(_ name: String?, for user: UserID) throws(ChatError) {
        var names = self.state.petnames ?? [:]
        if let name {
            try Self.checkPetname(name)
            if let other = names.first(where: { $0.value.lowercased() == name.lowercased() && $0.key != user.hex })?.key {
                throw ChatError(
                    .badArgument,
                    "'\(name)' already names \(self.label(other)); give another name, or take that one away first (polychat contacts name \(String(other.prefix(8))) --clear)"
                )
            }
            names[user.hex] = name
        } else {
            names[user.hex] = nil
        }
        self.state.petnames = names.isEmpty ? nil : names
    }

    static func checkPetname(_ name: String) throws(ChatError) {
        guard (1...32).contains(name.count),
            name.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "-_.".contains($0)) })
        else {
            throw ChatError(.badArgument, "'\(name)' is not a name: use 1 to 32 letters, digits, '-', '_' or '.'")
        }
        guard !(name.count == 64 && name.allSatisfy(\.isHexDigit)) else {
            throw ChatError(.badArgument, "'\(name)' reads as a user id; choose a name that does not")
        }
    }

    /// Remembers the name a user publishes (from its messages or profile).
    func rememberPublishedName(_ name: String?, of user: String) {
        guard let name, !name.isEmpty, user != "unknown" else { return }
        var names = self.state.published ?? [:]
        guard names[user] != name else { return }
        names[user] = String(name.prefix(64))
        self.state.published = names
    }

    /// The name shown for a user (hex): the petname, else the published name.
    package func name(of user: String) -> String? {
        self.state.petnames?[user] ?? self.state.published?[user]
    }

    /// Every petname this user gave (user hex → name).
    package var petnames: [String: String] { self.state.petnames ?? [:] }

    /// The petname this user gave `user` (hex), if any.
    package func petname(of user: String) -> String? { self.state.petnames?[user] }

    /// How listings show a user (hex): `alice (c9f4…)`, or the short id when it has no name.
    package func label(_ user: String) -> String {
        guard let name = self.name(of: user) else { return Listing.short(user) }
        return "\(Listing.clean(name)) (\(user.prefix(4))…)"
    }

    /// Users (hex) whose petname or published name is `name` (case-insensitive): the one with
    /// that petname when there is one (petnames are unique and the user's own choice), else all
    /// who publish that name.
    func users(named name: String) -> [String] {
        let lowered = name.lowercased()
        if let pet = self.state.petnames?.first(where: { $0.value.lowercased() == lowered })?.key { return [pet] }
        return (self.state.published ?? [:]).filter { $0.value.lowercased() == lowered }.map(\.key).sorted()
    }
}

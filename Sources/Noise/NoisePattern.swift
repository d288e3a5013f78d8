/// A handshake pattern (§7, §18.1) with its PSK modifiers (§9.4): pre-message tokens and the
/// tokens of each message, the initiator's first. The one-way, the 12 fundamental and the 23
/// deferred patterns are known; `fallback` is not.
package struct NoisePattern: Sendable, Hashable {
    package enum Token: String, Sendable, Hashable {
        case e, s, ee, es, se, ss, psk
    }

    /// The pattern's name with its modifiers, as in a protocol name ("XXpsk3", "NK").
    package let name: String
    /// What the responder knows of the initiator before the handshake (`-> s` before `...`).
    package let initiatorPreMessage: [Token]
    /// What the initiator knows of the responder before the handshake (`<- s` before `...`).
    package let responderPreMessage: [Token]
    /// Each handshake message's tokens; even indexes are the initiator's.
    package let messages: [[Token]]
    /// Every message goes from the initiator (N, K, X and their PSK forms).
    package let oneWay: Bool

    /// Whether `psk` appears: then every `e` also mixes the key (§9.2).
    package var usesPSK: Bool { self.messages.contains { $0.contains(.psk) } }
    /// How many PSKs the handshake consumes.
    package var pskCount: Int { self.messages.reduce(0) { $0 + $1.filter { $0 == .psk }.count } }

    /// The pattern named `name`: a base pattern and `pskN` modifiers joined by `+`.
    ///
    /// - Throws: ``NoiseError/Code/unknownProtocol``.
    package init(named name: String) throws(NoiseError) {
        let base = String(name.prefix { $0 == "N" || $0 == "K" || $0 == "X" || $0 == "I" || $0 == "1" })
        guard let notation = Self.notations[base] else {
            throw NoiseError(.unknownProtocol, "no handshake pattern '\(name)'")
        }
        var modifiers: [String] = []
        let rest = name.dropFirst(base.count)
        if !rest.isEmpty { modifiers = rest.split(separator: "+", omittingEmptySubsequences: false).map(String.init) }
        var preInitiator: [Token] = []
        var preResponder: [Token] = []
        var messages: [[Token]] = []
        var afterPreMessages = !notation.contains("...")
        for line in notation.split(separator: "\n") {
            let text = line.trimmingCharacters(in: " ")
            if text == "..." {
                afterPreMessages = true
                continue
            }
            let fromInitiator = text.hasPrefix("->")
            let tokens = text.dropFirst(2).split(separator: ",").compactMap {
                Token(rawValue: String($0).trimmingCharacters(in: " "))
            }
            if !afterPreMessages {
                if fromInitiator { preInitiator += tokens } else { preResponder += tokens }
            } else {
                messages.append(tokens)
            }
        }
        for modifier in modifiers {
            guard modifier.hasPrefix("psk"), let position = Int(modifier.dropFirst(3)), position <= messages.count,
                modifier == "psk\(position)"
            else {
                throw NoiseError(.unknownProtocol, "no pattern modifier '\(modifier)' for \(base)")
            }
            if position == 0 { messages[0].insert(.psk, at: 0) } else { messages[position - 1].append(.psk) }
        }
        self.name = name
        self.initiatorPreMessage = preInitiator
        self.responderPreMessage = preResponder
        self.messages = messages
        self.oneWay = base.count == 1
    }

    /// The patterns in the specification's notation (§7.4, §7.5, §18.1); messages alternate,
    /// the initiator's first.
    static let notations: [String: String] = [
        "N": "<- s\n...\n-> e, es",
        "K": "-> s\n<- s\n...\n-> e, es, ss",
        "X": "<- s\n...\n-> e, es, s, ss",
        "NN": "-> e\n<- e, ee",
        "NK": "<- s\n...\n-> e, es\n<- e, ee",
        "NX": "-> e\n<- e, ee, s, es",
        "XN": "-> e\n<- e, ee\n-> s, se",
        "XK": "<- s\n...\n-> e, es\n<- e, ee\n-> s, se",
        "XX": "-> e\n<- e, ee, s, es\n-> s, se",
        "KN": "-> s\n...\n-> e\n<- e, ee, se",
        "KK": "-> s\n<- s\n...\n-> e, es, ss\n<- e, ee, se",
        "KX": "-> s\n...\n-> e\n<- e, ee, se, s, es",
        "IN": "-> e, s\n<- e, ee, se",
        "IK": "<- s\n...\n-> e, es, s, ss\n<- e, ee, se",
        "IX": "-> e, s\n<- e, ee, se, s, es",
        "NK1": "<- s\n...\n-> e\n<- e, ee, es",
        "NX1": "-> e\n<- e, ee, s\n-> es",
        "X1N": "-> e\n<- e, ee\n-> s\n<- se",
        "X1K": "<- s\n...\n-> e, es\n<- e, ee\n-> s\n<- se",
        "XK1": "<- s\n...\n-> e\n<- e, ee, es\n-> s, se",
        "X1K1": "<- s\n...\n-> e\n<- e, ee, es\n-> s\n<- se",
        "X1X": "-> e\n<- e, ee, s, es\n-> s\n<- se",
        "XX1": "-> e\n<- e, ee, s\n-> es, s, se",
        "X1X1": "-> e\n<- e, ee, s\n-> es, s\n<- se",
        "K1N": "-> s\n...\n-> e\n<- e, ee\n-> se",
        "K1K": "-> s\n<- s\n...\n-> e, es\n<- e, ee\n-> se",
        "KK1": "-> s\n<- s\n...\n-> e\n<- e, ee, se, es",
        "K1K1": "-> s\n<- s\n...\n-> e\n<- e, ee, es\n-> se",
        "K1X": "-> s\n...\n-> e\n<- e, ee, s, es\n-> se",
        "KX1": "-> s\n...\n-> e\n<- e, ee, se, s\n-> es",
        "K1X1": "-> s\n...\n-> e\n<- e, ee, s\n-> se, es",
        "I1N": "-> e, s\n<- e, ee\n-> se",
        "I1K": "<- s\n...\n-> e, es, s\n<- e, ee\n-> se",
        "IK1": "<- s\n...\n-> e, s\n<- e, ee, se, es",
        "I1K1": "<- s\n...\n-> e, s\n<- e, ee, es\n-> se",
        "I1X": "-> e, s\n<- e, ee, s, es\n-> se",
        "IX1": "-> e, s\n<- e, ee, se, s\n-> es",
        "I1X1": "-> e, s\n<- e, ee, s\n-> se, es",
    ]
}

extension StringProtocol {
    func trimmingCharacters(in character: Character) -> String {
        String(self.drop { $0 == character }.reversed().drop { $0 == character }.reversed())
    }
}

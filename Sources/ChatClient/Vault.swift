import Foundation
import Primitives

/// Encryption at rest of polychat's state (ChaCha20-Poly1305, a random nonce per write, the
/// file's name as associated data, so files cannot be swapped).
///
/// The key comes from one of two places, chosen at `polychat init`:
/// - **key file** (the default): 32 random bytes in a file of its own, mode 0600, kept *outside*
///   the state directory (`$POLYCHAT_KEYFILE`, else `<state directory>.key` when
///   `$POLYCHAT_HOME` is set, else `$XDG_CONFIG_HOME/polychat/vault.key`). A copy of the state
///   directory alone (a backup, a synced folder) reveals nothing; someone who can read both
///   files as the user can read everything.
/// - **passphrase** (`init --passphrase`): Argon2id (t = 2, 64 MiB) of the passphrase with a
///   random salt; the passphrase is asked for each time (or read from `$POLYCHAT_PASSPHRASE`).
package struct Vault: Sendable {
    package enum Mode: String, Sendable, Codable {
        case keyFile = "keyfile"
        case passphrase
    }

    /// `vault.json`: how the key is derived (no secrets).
    struct Header: Codable {
        var version = 1
        var mode: Mode
        var salt: String?
        /// "polychat" sealed under the key: tells a wrong passphrase from damage.
        var check: String
    }

    static let magic = Array("PCV1".utf8)
    static let aead = AEADAlgorithm.chacha20Poly1305

    let key: SecretBytes
    package let mode: Mode

    /// Where the key file of `directory` lives.
    package static func keyFilePath(for directory: StateDirectory, environment: [String: String]) -> String {
        if let explicit = environment["POLYCHAT_KEYFILE"], !explicit.isEmpty { return StateDirectory.absolute(explicit) }
        if environment["POLYCHAT_HOME"] != nil { return directory.path + ".key" }
        let config =
            environment["XDG_CONFIG_HOME"].flatMap { $0.isEmpty ? nil : $0 } ?? ((environment["HOME"] ?? ".") + "/.config")
        return config + "/polychat/vault.key"
    }

    /// Makes a new vault for `directory` (its key file or its passphrase header).
    package static func create(
        in directory: StateDirectory,
        passphrase: String?,
        environment: [String: String]
    ) throws(ChatError) -> Vault {
        let vault: Vault
        var header: Header
        if let passphrase {
            let salt = SecureRandom.bytes(count: PasswordHash.saltSize)
            vault = Vault(key: try Self.derive(passphrase, salt), mode: .passphrase)
            header = Header(mode: .passphrase, salt: Hex.encode(salt), check: "")
        } else {
            let path = Self.keyFilePath(for: directory, environment: environment)
            let keyDirectory = StateDirectory(path: String(path[..<(path.lastIndex(of: "/") ?? path.startIndex)]))
            if !keyDirectory.path.isEmpty { try keyDirectory.create(tighten: false) }
            let key = SecretBytes.random(count: 32)
            try StateDirectory(path: keyDirectory.path).write(
                String(path[path.index(after: path.lastIndex(of: "/") ?? path.startIndex)...]),
                key.bytes
            )
            vault = Vault(key: key, mode: .keyFile)
            header = Header(mode: .keyFile, check: "")
        }
        header.check = Hex.encode(try vault.seal(Array("polychat".utf8), name: "vault-check"))
        try directory.write("vault.json", Self.encode(header))
        return vault
    }

    /// Opens the vault of `directory`; `passphrase` is asked for only in passphrase mode.
    package static func open(
        _ directory: StateDirectory,
        environment: [String: String],
        passphrase: () throws(ChatError) -> String
    ) throws(ChatError) -> Vault {
        guard let bytes = try directory.read("vault.json") else {
            throw ChatError(.noIdentity, "no polychat identity in \(directory.path); run 'polychat init' first")
        }
        guard let header = try? JSONDecoder().decode(Header.self, from: Data(bytes)), header.version == 1,
            let check = Hex.decode(header.check)
        else {
            throw ChatError(.badState, "\(directory.path)/vault.json is damaged or from a newer polychat")
        }
        let vault: Vault
        switch header.mode {
        case .keyFile:
            let path = Self.keyFilePath(for: directory, environment: environment)
            let slash = path.lastIndex(of: "/") ?? path.startIndex
            let keyDirectory = StateDirectory(path: String(path[..<slash]))
            guard let key = try keyDirectory.read(String(path[path.index(after: slash)...])), key.count == 32 else {
                throw ChatError(.badState, "the key file \(path) is missing or damaged; without it the state cannot be read")
            }
            vault = Vault(key: SecretBytes(key), mode: .keyFile)
        case .passphrase:
            guard let salt = header.salt.flatMap(Hex.decode) else { throw ChatError(.badState, "vault.json has no salt") }
            vault = Vault(key: try Self.derive(try passphrase(), salt), mode: .passphrase)
        }
        guard (try? vault.open(check, name: "vault-check")) == Array("polychat".utf8) else {
            throw ChatError(
                .badState,
                header.mode == .passphrase ? "wrong passphrase" : "the key file does not open this state directory"
            )
        }
        return vault
    }

    static func derive(_ passphrase: String, _ salt: [UInt8]) throws(ChatError) -> SecretBytes {
        guard !passphrase.isEmpty else { throw ChatError(.badArgument, "the passphrase is empty") }
        do {
            return try PasswordHash.argon2id(passphrase: Array(passphrase.utf8), salt: salt)
        } catch {
            throw ChatError(.badState, "cannot derive the key from the passphrase: \(error)")
        }
    }

    static func encode<T: Encodable>(_ value: T) throws(ChatError) -> [UInt8] {
        do {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys]
            return Array(try encoder.encode(value))
        } catch {
            throw ChatError(.io, "cannot encode state: \(error)")
        }
    }

    /// Encrypts the contents of file `name`.
    package func seal(_ plaintext: [UInt8], name: String) throws(ChatError) -> [UInt8] {
        let nonce = SecureRandom.bytes(count: Self.aead.nonceSize)
        do {
            return Self.magic + nonce
                + (try Self.aead.seal(
                    key: self.key.bytes,
                    nonce: nonce,
                    associatedData: Array("polychat:\(name)".utf8),
                    plaintext: plaintext
                ))
        } catch {
            throw ChatError(.io, "encryption failed")
        }
    }

    /// Decrypts the contents of file `name`.
    package func open(_ sealed: [UInt8], name: String) throws(ChatError) -> [UInt8] {
        guard sealed.count >= 4 + 12 + 16, Array(sealed.prefix(4)) == Self.magic else {
            throw ChatError(.badState, "\(name) is not a polychat vault file")
        }
        do {
            return try Self.aead.open(
                key: self.key.bytes,
                nonce: Array(sealed[4..<16]),
                associatedData: Array("polychat:\(name)".utf8),
                ciphertext: Array(sealed[16...])
            )
        } catch {
            throw ChatError(.badState, "\(name) does not decrypt: damaged, or not this vault's")
        }
    }

    /// Reads and decrypts a JSON file of the state directory (nil when absent).
    package func load<T: Decodable>(_ type: T.Type, _ name: String, from directory: StateDirectory) throws(ChatError) -> T? {
        guard let sealed = try directory.read(name) else { return nil }
        let bytes = try self.open(sealed, name: name)
        do {
            return try JSONDecoder().decode(T.self, from: Data(bytes))
        } catch {
            throw ChatError(.badState, "\(name) is damaged or from a newer polychat")
        }
    }

    /// Encrypts and writes a JSON file atomically.
    package func store<T: Encodable>(_ value: T, _ name: String, in directory: StateDirectory) throws(ChatError) {
        try directory.write(name, try self.seal(try Self.encode(value), name: name))
    }
}

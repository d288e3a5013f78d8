#if canImport(Glibc)
import Glibc
#endif

/// polychat's local state: a private directory (mode 0700) of files (mode 0600), each written
/// atomically — a temporary file, fsync, rename over the old one, fsync of the directory — so a
/// crash leaves either the old or the new version, never a mix.
///
/// The directory is `$POLYCHAT_HOME`, else `$XDG_DATA_HOME/polychat`, else
/// `~/.local/share/polychat`.
package struct StateDirectory: Sendable {
    package let path: String

    package init(path: String) { self.path = path }

    /// The default location (see the type's documentation).
    package static func standard(environment: [String: String]) -> StateDirectory {
        if let home = environment["POLYCHAT_HOME"], !home.isEmpty { return StateDirectory(path: Self.absolute(home)) }
        if let data = environment["XDG_DATA_HOME"], !data.isEmpty {
            return StateDirectory(path: Self.absolute(data) + "/polychat")
        }
        return StateDirectory(path: Self.absolute(environment["HOME"] ?? ".") + "/.local/share/polychat")
    }

    /// `path` made absolute (against the working directory), without a trailing slash.
    package static func absolute(_ path: String) -> String {
        var result = path
        if !result.hasPrefix("/") {
            var buffer = [CChar](repeating: 0, count: Int(PATH_MAX))
            let cwd =
                getcwd(&buffer, buffer.count) != nil
                ? String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self) : "/"
            result = (cwd == "/" ? "" : cwd) + "/" + (result.hasPrefix("./") ? String(result.dropFirst(2)) : result)
        }
        while result.count > 1, result.hasSuffix("/") { result.removeLast() }
        return result
    }

    /// Creates the directory (and its parents) with mode 0700; `tighten`: also when it exists
    /// (never for a directory that only holds the key file, such as the user's home).
    package func create(tighten: Bool = true) throws(ChatError) {
        var partial = self.path.hasPrefix("/") ? "" : "."
        for component in self.path.split(separator: "/") {
            partial += "/" + component
            if mkdir(partial, 0o700) != 0, errno != EEXIST {
                throw ChatError(.io, "cannot create \(partial): \(String(cString: strerror(errno)))")
            }
        }
        if tighten { chmod(self.path, 0o700) }
    }

    package func exists(_ name: String) -> Bool { access(self.file(name), F_OK) == 0 }

    func file(_ name: String) -> String { "\(self.path)/\(name)" }

    /// The bytes of a file, or nil when it does not exist.
    package func read(_ name: String) throws(ChatError) -> [UInt8]? { try Self.readFile(self.file(name)) }

    /// The bytes of the file at `path`, or nil when it does not exist.
    package static func readFile(_ path: String) throws(ChatError) -> [UInt8]? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else {
            if errno == ENOENT { return nil }
            throw ChatError(.io, "cannot read \(path): \(String(cString: strerror(errno)))")
        }
        defer { close(fd) }
        var out: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = Glibc.read(fd, &buffer, buffer.count)
            if n == 0 { break }
            guard n > 0 else {
                if errno == EINTR { continue }
                throw ChatError(.io, "cannot read \(path): \(String(cString: strerror(errno)))")
            }
            out += buffer[0..<n]
        }
        return out
    }

    /// Replaces a file atomically (mode 0600).
    package func write(_ name: String, _ bytes: [UInt8]) throws(ChatError) {
        let path = self.file(name)
        let temporary = "\(path).tmp.\(getpid())"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw ChatError(.io, "cannot write \(temporary): \(String(cString: strerror(errno)))") }
        var written = 0
        while written < bytes.count {
            let n = bytes[written...].withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
            guard n > 0 else {
                if n < 0, errno == EINTR { continue }
                let reason = String(cString: strerror(errno))
                close(fd)
                unlink(temporary)
                throw ChatError(.io, "cannot write \(temporary): \(reason)")
            }
            written += n
        }
        guard fsync(fd) == 0, close(fd) == 0 else {
            unlink(temporary)
            throw ChatError(.io, "cannot write \(temporary): \(String(cString: strerror(errno)))")
        }
        guard rename(temporary, path) == 0 else {
            let reason = String(cString: strerror(errno))
            unlink(temporary)
            throw ChatError(.io, "cannot replace \(path): \(reason)")
        }
        let directory = open(self.path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if directory >= 0 {
            fsync(directory)
            close(directory)
        }
    }

    package func remove(_ name: String) { unlink(self.file(name)) }

    /// Takes the directory's lock (`lock`, flock): one polychat at a time uses a state
    /// directory, or two would ratchet the same MLS groups apart.
    ///
    /// - Throws: ``ChatError`` `busy` when another process holds it.
    package func lock() throws(ChatError) -> StateLock {
        let path = self.file("lock")
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw ChatError(.io, "cannot open \(path): \(String(cString: strerror(errno)))") }
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
            close(fd)
            throw ChatError(.busy, "another polychat is using \(self.path) (quit it, or give this one its own POLYCHAT_HOME)")
        }
        return StateLock(fd: fd)
    }
}

/// A held state-directory lock; released when the value goes away (or the process ends).
package final class StateLock: Sendable {
    let fd: Int32
    init(fd: Int32) { self.fd = fd }
    deinit { close(self.fd) }
}

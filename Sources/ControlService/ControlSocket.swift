#if canImport(Glibc)
import Glibc
#endif

/// The control socket's file: a Unix stream socket bound at a path with mode 0660 and the
/// admin group, replacing a stale socket file but never one a running daemon answers on.
package enum ControlSocket {
    /// Why the socket could not be made.
    package struct Failure: Error, Sendable, CustomStringConvertible {
        /// The directory does not exist (then the daemon runs without this socket, and says so).
        package var directoryMissing: Bool
        package var description: String
    }

    /// `SO_PEERCRED` on Linux (not exported to Swift).
    static let peerCredentials: Int32 = 17

    /// Binds and listens at `path`.
    ///
    /// - Returns: the listening descriptor, and a warning when the group could not be applied.
    package static func bind(path: String, mode: UInt32, group: String?) throws(Failure) -> (fd: Int32, warning: String?) {
        guard path.utf8.count < 108 else {
            throw Failure(directoryMissing: false, description: "\(path) is longer than a socket path may be (107 bytes)")
        }
        let directory = path.contains("/") ? String(path[..<path.lastIndex(of: "/")!]) : "."
        var status = stat()
        guard stat(directory.isEmpty ? "/" : directory, &status) == 0 else {
            throw Failure(directoryMissing: true, description: "\(directory) does not exist")
        }
        if lstat(path, &status) == 0 {
            guard status.st_mode & S_IFMT == S_IFSOCK else {
                throw Failure(directoryMissing: false, description: "\(path) exists and is not a socket")
            }
            if Self.answers(path) {
                throw Failure(directoryMissing: false, description: "\(path) is in use (another polygated is running?)")
            }
            unlink(path)
        }
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw Failure(directoryMissing: false, description: "socket: \(Self.errorText())") }
        var address = Self.address(path)
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard bound == 0 else {
            let reason = Self.errorText()
            close(fd)
            throw Failure(directoryMissing: false, description: "cannot bind \(path): \(reason)")
        }
        var warning: String?
        if chmod(path, mode_t(mode)) != 0 { warning = "cannot set the mode of \(path): \(Self.errorText())" }
        if let group, !group.isEmpty {
            if let entry = getgrnam(group) {
                if chown(path, uid_t.max, entry.pointee.gr_gid) != 0 {
                    warning = "cannot give \(path) to group \(group): \(Self.errorText())"
                }
            } else {
                warning = "group \(group) does not exist: \(path) keeps the daemon's group"
            }
        }
        guard listen(fd, 16) == 0 else {
            let reason = Self.errorText()
            close(fd)
            unlink(path)
            throw Failure(directoryMissing: false, description: "cannot listen on \(path): \(reason)")
        }
        return (fd, warning)
    }

    /// Whether something accepts connections at `path`.
    static func answers(_ path: String) -> Bool {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var address = Self.address(path)
        return withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        } == 0
    }

    static func address(_ path: String) -> sockaddr_un {
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { buffer in
            for (index, byte) in path.utf8.prefix(buffer.count - 1).enumerated() { buffer[index] = byte }
        }
        return address
    }

    /// The process on the other end of a connected Unix socket.
    static func peer(_ fd: Int32) -> ControlPeer {
        var credentials: (Int32, UInt32, UInt32) = (0, UInt32.max, UInt32.max)
        var length = socklen_t(MemoryLayout<(Int32, UInt32, UInt32)>.size)
        _ = getsockopt(fd, SOL_SOCKET, Self.peerCredentials, &credentials, &length)
        return ControlPeer(pid: credentials.0, uid: credentials.1, gid: credentials.2)
    }

    static func errorText() -> String { String(cString: strerror(errno)) }
}

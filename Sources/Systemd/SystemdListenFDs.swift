import CSystemd

#if canImport(Glibc)
import Glibc
#endif

/// A listening socket passed by systemd socket activation.
public struct ListenFD: Sendable, Hashable {
    /// The descriptor (3, 4, …).
    public var fd: Int32
    /// Its `FileDescriptorName=` (systemd's default is the socket unit's name).
    public var name: String

    public init(fd: Int32, name: String) {
        self.fd = fd
        self.name = name
    }
}

/// Socket activation (`sd_listen_fds_with_names`).
public enum SystemdListenFDs {
    /// Takes the descriptors systemd passed to this process, with their names, and unsets
    /// `LISTEN_FDS`/`LISTEN_PID`/`LISTEN_FDNAMES` so that child processes do not inherit them.
    /// Returns an empty list when the process was not socket-activated (or `LISTEN_PID` names
    /// another process). Marks every descriptor close-on-exec.
    ///
    /// - Throws: ``SystemdError`` when the environment is malformed.
    public static func take() throws(SystemdError) -> [ListenFD] {
        var names: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?
        let count = sd_listen_fds_with_names(1, &names)
        defer { cshim_sd_free_names(names) }
        guard count >= 0 else {
            throw SystemdError(code: .listenFDs, errno: -count, message: "sd_listen_fds_with_names failed")
        }
        var result: [ListenFD] = []
        for index in 0..<Int(count) {
            let fd = SD_LISTEN_FDS_START + Int32(index)
            let name = names?[index].map { String(cString: $0) } ?? "unknown"
            _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
            result.append(ListenFD(fd: fd, name: name))
        }
        return result
    }
}

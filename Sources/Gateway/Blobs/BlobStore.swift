import Primitives

#if canImport(Glibc)
import Glibc
#endif

/// The blob files (docs/GATEWAY_SPEC.md §13.3): `DIR/ab/<64 hex>`, named by the SHA-256 of the
/// ciphertext they hold. An upload streams into `DIR/tmp/` (mode 0600), is fsynced and renamed
/// into place (and the directory fsynced), so a blob is either whole or absent, and an upload
/// cut short leaves nothing once its temporary file is removed. Plain POSIX calls: a write
/// blocks its task for as long as the disk takes.
package struct BlobStore: Sendable {
    /// A failure of the disk, with what to tell the client.
    package struct Failure: Error, Sendable {
        package var diskFull: Bool
        package var message: String
    }

    package let directory: String

    package init(directory: String) {
        self.directory = directory
    }

    /// Creates the directory (0750) and its `tmp/` when missing, and removes temporary files an
    /// earlier run left (uploads it was cut off in).
    package func prepare() throws(Failure) {
        for path in [self.directory, self.directory + "/tmp"] {
            if mkdir(path, 0o750) != 0, errno != EEXIST {
                throw Failure(diskFull: false, message: "cannot create \(path): \(String(cString: strerror(errno)))")
            }
        }
        guard let dir = opendir(self.directory + "/tmp") else { return }
        defer { closedir(dir) }
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            if name != ".", name != ".." { unlink(self.directory + "/tmp/" + name) }
        }
    }

    /// The file of blob `id`.
    package func path(of id: [UInt8]) -> String {
        let hex = Hex.encode(id)
        return "\(self.directory)/\(hex.prefix(2))/\(hex)"
    }

    /// An upload in progress: bytes go to a temporary file and into the hash.
    package final class Upload {
        let store: BlobStore
        let fd: Int32
        let temporary: String
        var hasher = StreamingSHA256()
        package private(set) var size = 0
        var finished = false

        init(store: BlobStore, fd: Int32, temporary: String) {
            self.store = store
            self.fd = fd
            self.temporary = temporary
        }

        deinit { self.abort() }

        /// Appends `bytes`.
        package func write(_ bytes: [UInt8]) throws(Failure) {
            var offset = 0
            while offset < bytes.count {
                let n = bytes.withUnsafeBytes { Glibc.write(self.fd, $0.baseAddress! + offset, $0.count - offset) }
                if n < 0, errno == EINTR { continue }
                guard n > 0 else { throw BlobStore.failure("cannot write the upload") }
                offset += n
            }
            self.hasher.update(bytes)
            self.size += bytes.count
        }

        /// Makes the upload durable as blob `SHA-256(bytes)`; the id. A blob with that id
        /// already there is kept (same bytes), and this copy dropped.
        package func finish() throws(Failure) -> [UInt8] {
            let id = self.hasher.finish()
            guard fsync(self.fd) == 0 else { throw BlobStore.failure("cannot write the upload") }
            close(self.fd)
            self.finished = true
            let path = self.store.path(of: id)
            let parent = String(path[..<path.lastIndex(of: "/")!])
            if mkdir(parent, 0o750) != 0, errno != EEXIST { throw BlobStore.failure("cannot create \(parent)") }
            guard rename(self.temporary, path) == 0 else {
                let failure = BlobStore.failure("cannot store the blob")
                unlink(self.temporary)
                throw failure
            }
            for directory in [parent, self.store.directory] {
                let fd = Glibc.open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
                if fd >= 0 {
                    fsync(fd)
                    close(fd)
                }
            }
            return id
        }

        /// Drops the upload (its temporary file).
        package func abort() {
            guard !self.finished else { return }
            self.finished = true
            close(self.fd)
            unlink(self.temporary)
        }
    }

    /// Starts an upload.
    package func begin() throws(Failure) -> Upload {
        let temporary = "\(self.directory)/tmp/\(Hex.encode(SecureRandom.bytes(count: 16)))"
        let fd = Glibc.open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw Self.failure("cannot start the upload") }
        return Upload(store: self, fd: fd, temporary: temporary)
    }

    /// An open blob for reading, and its size; nil when its file is gone.
    package func open(_ id: [UInt8]) -> (fd: Int32, size: Int)? {
        let fd = Glibc.open(self.path(of: id), O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        var status = stat()
        guard fstat(fd, &status) == 0 else {
            close(fd)
            return nil
        }
        return (fd, Int(status.st_size))
    }

    /// Up to `count` bytes of an open blob from `offset`.
    package static func read(_ fd: Int32, offset: Int, count: Int) -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: count)
        var done = 0
        while done < count {
            let n = bytes.withUnsafeMutableBytes { pread(fd, $0.baseAddress! + done, count - done, off_t(offset + done)) }
            if n < 0, errno == EINTR { continue }
            guard n > 0 else { break }
            done += n
        }
        return Array(bytes.prefix(done))
    }

    /// Deletes blob `id`'s file.
    package func remove(_ id: [UInt8]) {
        unlink(self.path(of: id))
    }

    /// A failure from `errno`: disk full (or over the filesystem's quota) is told apart.
    static func failure(_ what: String) -> Failure {
        let code = errno
        let full = code == ENOSPC || code == EDQUOT
        return Failure(
            diskFull: full,
            message: full ? "the server's disk is full: the upload was dropped" : "\(what): \(String(cString: strerror(code)))"
        )
    }
}

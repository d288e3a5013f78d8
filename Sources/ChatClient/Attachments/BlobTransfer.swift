import AsyncHTTPClient
import ClientTLS
import Foundation
import GatewayWire
import NIOCore
import NIOHTTP1
import Primitives

#if canImport(Glibc)
import Glibc
#endif

/// Moving attachments to and from the gateway's blob routes (docs/GATEWAY_SPEC.md §13): a file is
/// read, encrypted chunk by chunk and streamed up as it is made; a download is streamed, checked
/// against its id (the SHA-256 of the ciphertext) and decrypted chunk by chunk into a temporary
/// file that becomes the destination only when everything verified. Memory stays bounded
/// whatever the file's size.
package enum BlobTransfer {
    /// Called with the bytes moved so far and the total.
    package typealias Progress = @Sendable (Int, Int) -> Void

    /// The blob routes' base URL for the gateway at `url`.
    static func base(_ url: String) throws(ChatError) -> String {
        let endpoint = try GatewayEndpoint(parsing: url)
        let host = endpoint.host.contains(":") ? "[\(endpoint.host)]" : endpoint.host
        return "\(endpoint.tls ? "https" : "http")://\(host):\(endpoint.port)\(endpoint.prefix)/v1/blobs"
    }

    /// The file's chunks, encrypted, as the request body pulls them.
    struct EncryptedFile: AsyncSequence, Sendable {
        typealias Element = ByteBuffer
        let path: String
        let size: Int
        let cipher: AttachmentCipher
        let progress: Progress?

        struct Iterator: AsyncIteratorProtocol {
            let file: EncryptedFile
            var fd: Int32 = -1
            var index: UInt64 = 0
            var sentHeader = false
            var done = false
            var read = 0

            mutating func next() async throws -> ByteBuffer? {
                guard !self.done else { return nil }
                if !self.sentHeader {
                    self.sentHeader = true
                    self.fd = open(self.file.path, O_RDONLY | O_CLOEXEC)
                    guard self.fd >= 0 else {
                        throw ChatError(.io, "cannot read \(self.file.path): \(String(cString: strerror(errno)))")
                    }
                    return ByteBuffer(bytes: self.file.cipher.header)
                }
                let want = Swift.min(self.file.cipher.chunkSize, self.file.size - self.read)
                let chunk = BlobStoreReader.read(self.fd, count: want)
                guard chunk.count == want else {
                    close(self.fd)
                    throw ChatError(.io, "\(self.file.path) changed while it was sent")
                }
                self.read += chunk.count
                let last = self.read >= self.file.size
                let sealed = try self.file.cipher.seal(chunk, index: self.index, last: last)
                self.index += 1
                self.file.progress?(self.read, self.file.size)
                if last {
                    self.done = true
                    close(self.fd)
                }
                return ByteBuffer(bytes: sealed)
            }
        }

        func makeAsyncIterator() -> Iterator { Iterator(file: self) }
    }

    /// Encrypts the file at `path` with a fresh key and uploads it; the attachment to send.
    static func upload(
        path: String,
        name: String,
        mediaType: String,
        token: [UInt8],
        gatewayURL: String,
        tls: ClientTLS,
        progress: Progress?
    ) async throws(ChatError) -> Attachment {
        var status = stat()
        guard stat(path, &status) == 0, status.st_mode & S_IFMT == S_IFREG else {
            throw ChatError(.badArgument, "\(path) is not a file this device can read")
        }
        let size = Int(status.st_size)
        let cipher = AttachmentCipher.random()
        var request = HTTPClientRequest(url: try Self.base(gatewayURL))
        request.method = .POST
        request.headers.add(name: "Authorization", value: "Bearer \(Hex.encode(token))")
        request.headers.add(name: "Content-Type", value: "application/octet-stream")
        let total = cipher.ciphertextSize(forPlaintext: size)
        request.body = .stream(
            EncryptedFile(path: path, size: size, cipher: cipher, progress: progress),
            length: .known(Int64(total))
        )
        struct Uploaded: Decodable {
            var id: String
            var size: Int
        }
        let (code, body) = try await Self.execute(request, tls: tls, gatewayURL: gatewayURL, timeout: .hours(1))
        guard code == 200 || code == 201, let uploaded = try? JSONDecoder().decode(Uploaded.self, from: Data(body)) else {
            throw Self.refusal(code, body, what: "the upload")
        }
        guard uploaded.size == total else { throw ChatError(.refused, "the gateway stored \(uploaded.size) of \(total) bytes") }
        return Attachment(
            blob: uploaded.id,
            key: Hex.encode(cipher.key.bytes),
            size: size,
            ciphertextSize: total,
            chunkSize: cipher.chunkSize,
            mediaType: mediaType,
            name: name
        )
    }

    /// Downloads `attachment`, checks and decrypts it into `path` (created; replaced only when
    /// everything verified).
    static func download(
        _ attachment: Attachment,
        to path: String,
        gatewayURL: String,
        tls: ClientTLS,
        progress: Progress?
    ) async throws(ChatError) {
        guard let key = Hex.decode(attachment.key), key.count == 32, let id = Hex.decode(attachment.blob) else {
            throw ChatError(.badState, "the attachment's key or id is damaged")
        }
        let cipher = AttachmentCipher(key: SecretBytes(key), chunkSize: attachment.chunkSize)
        let temporary = "\(path).part.\(getpid())"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw ChatError(.io, "cannot write \(temporary): \(String(cString: strerror(errno)))") }
        var finished = false
        defer {
            close(fd)
            if !finished { unlink(temporary) }
        }
        let client = try HTTPClients.client(tls)
        let request = HTTPClientRequest(url: try Self.base(gatewayURL) + "/" + attachment.blob)
        do {
            let response = try await client.execute(request, timeout: .hours(1))
            guard response.status == .ok else {
                let body = Array(try await response.body.collect(upTo: 64 << 10).readableBytesView)
                throw Self.refusal(Int(response.status.code), body, what: "the download")
            }
            var hasher = StreamingSHA256()
            var pending: [UInt8] = []
            var received = 0
            var index: UInt64 = 0
            var written = 0
            var headerChecked = false
            let sealedChunk = cipher.chunkSize + AttachmentCipher.tagSize
            let chunks = max(1, (attachment.size + cipher.chunkSize - 1) / cipher.chunkSize)
            for try await buffer in response.body {
                let bytes = Array(buffer.readableBytesView)
                hasher.update(bytes)
                received += bytes.count
                guard received <= attachment.ciphertextSize else {
                    throw ChatError(.refused, "the file is longer than it should be: nothing was saved")
                }
                pending += bytes
                if !headerChecked, pending.count >= AttachmentCipher.headerSize {
                    guard
                        try AttachmentCipher.chunkSize(ofHeader: Array(pending.prefix(AttachmentCipher.headerSize)))
                            == cipher.chunkSize
                    else { throw ChatError(.refused, "the file's header was altered: nothing was saved") }
                    pending.removeFirst(AttachmentCipher.headerSize)
                    headerChecked = true
                }
                while headerChecked, pending.count >= sealedChunk, Int(index) < chunks - 1 {
                    let plain = try cipher.open(Array(pending.prefix(sealedChunk)), index: index, last: false)
                    pending.removeFirst(sealedChunk)
                    try Self.write(plain, to: fd, path: temporary)
                    written += plain.count
                    index += 1
                    progress?(written, attachment.size)
                }
            }
            guard received == attachment.ciphertextSize, Int(index) == chunks - 1 else {
                throw ChatError(
                    .refused,
                    "the file arrived incomplete (\(received) of \(attachment.ciphertextSize) bytes): nothing was saved"
                )
            }
            let last = try cipher.open(pending, index: index, last: true)
            try Self.write(last, to: fd, path: temporary)
            written += last.count
            progress?(written, attachment.size)
            guard ConstantTime.equal(hasher.finish(), id) else {
                throw ChatError(.refused, "the file was altered on the server (its digest does not match): nothing was saved")
            }
            guard written == attachment.size else {
                throw ChatError(.refused, "the file has \(written) bytes, not \(attachment.size): nothing was saved")
            }
        } catch let error as ChatError {
            throw error
        } catch {
            throw ChatError(.unreachable, "cannot download from the gateway at \(gatewayURL): \(error)")
        }
        guard fsync(fd) == 0, rename(temporary, path) == 0 else {
            throw ChatError(.io, "cannot write \(path): \(String(cString: strerror(errno)))")
        }
        finished = true
    }

    static func write(_ bytes: [UInt8], to fd: Int32, path: String) throws(ChatError) {
        var offset = 0
        while offset < bytes.count {
            let n = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress! + offset, $0.count - offset) }
            if n < 0, errno == EINTR { continue }
            guard n > 0 else { throw ChatError(.io, "cannot write \(path): \(String(cString: strerror(errno)))") }
            offset += n
        }
    }

    /// One request's status and body (for small answers).
    static func execute(
        _ request: HTTPClientRequest,
        tls: ClientTLS,
        gatewayURL: String,
        timeout: TimeAmount
    ) async throws(ChatError) -> (Int, [UInt8]) {
        let client = try HTTPClients.client(tls)
        do {
            let response = try await client.execute(request, timeout: timeout)
            let body = Array(try await response.body.collect(upTo: 64 << 10).readableBytesView)
            return (Int(response.status.code), body)
        } catch let error as ChatError {
            throw error
        } catch {
            throw ChatError(.unreachable, "cannot reach the gateway at \(gatewayURL): \(error)")
        }
    }

    /// A refusal from the blob routes in words.
    static func refusal(_ status: Int, _ body: [UInt8], what: String) -> ChatError {
        struct Failure: Decodable {
            var error, message: String
        }
        guard let failure = try? JSONDecoder().decode(Failure.self, from: Data(body)) else {
            return ChatError(.refused, "\(what) was refused (HTTP \(status))")
        }
        switch failure.error {
        case "not_found": return ChatError(.notFound, "the file is no longer on the server (expired or deleted)")
        case "too_large", "quota_exceeded": return ChatError(.refused, failure.message)
        case "disk_full":
            return ChatError(
                .refused,
                "the server's disk is full, so \(what) was dropped: try again later, or tell the server's operator"
            )
        default: return ChatError(.refused, "\(what) was refused: \(failure.message)")
        }
    }
}

/// Reading a file descriptor until `count` bytes or its end.
enum BlobStoreReader {
    static func read(_ fd: Int32, count: Int) -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: count)
        var done = 0
        while done < count {
            let n = bytes.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress! + done, count - done) }
            if n < 0, errno == EINTR { continue }
            guard n > 0 else { break }
            done += n
        }
        return Array(bytes.prefix(done))
    }
}

import Foundation
package import Gateway
import GatewayWire
import HTTPTypes
package import Hummingbird
import NIOCore
import Primitives

#if canImport(Glibc)
import Glibc
#endif

/// Encrypted attachments over HTTP (docs/GATEWAY_SPEC.md §13): `POST /v1/blobs` streams
/// ciphertext to disk (a bearer token from `BlobToken`), `GET`/`HEAD /v1/blobs/ID` serve it with
/// `Range`, `ETag` and `Cache-Control: public, …, immutable` (a CDN may keep it), and
/// `DELETE /v1/blobs/ID` lets the uploading device remove it.
package struct BlobRoutes: Sendable {
    let blobs: BlobService
    /// Who the client is behind a trusted proxy.
    let clientAddresses: ClientAddressPolicy

    package init(blobs: BlobService, clientAddresses: ClientAddressPolicy = ClientAddressPolicy()) {
        self.blobs = blobs
        self.clientAddresses = clientAddresses
    }

    package func register(on router: Router<GatewayRequestContext>) {
        router.post("/v1/blobs") { request, context in await self.upload(request, context) }
        router.get("/v1/blobs/:id") { request, context in await self.download(request, context, head: false) }
        router.head("/v1/blobs/:id") { request, context in await self.download(request, context, head: true) }
        router.delete("/v1/blobs/:id") { request, context in await self.delete(request, context) }
    }

    /// `POST /v1/blobs`' answer.
    struct Uploaded: Codable {
        var id: String
        var size: Int64
        var expiresMs: Int64
    }

    func peer(_ request: Request, _ context: GatewayRequestContext) -> String {
        self.clientAddresses.clientAddress(of: request, context)
    }

    static func bearer(_ request: Request) throws(BlobService.Refusal) -> [UInt8] {
        guard let authorization = request.headers[.authorization], authorization.hasPrefix("Bearer "),
            let token = Hex.decode(String(authorization.dropFirst(7)))
        else {
            throw BlobService.Refusal(
                status: 401,
                code: "bad_token",
                message: "send an upload token: Authorization: Bearer <hex of BlobToken's token>"
            )
        }
        return token
    }

    static func id(_ context: GatewayRequestContext) -> [UInt8]? {
        guard let text = context.parameters.get("id"), text.count == 64, let id = Hex.decode(text.lowercased()) else {
            return nil
        }
        return id
    }

    func upload(_ request: Request, _ context: GatewayRequestContext) async -> Response {
        do {
            let token = try Self.bearer(request)
            let declared = request.headers[.contentLength].flatMap { Int($0) }
            let stored = try await self.blobs.upload(
                bearer: token,
                declaredLength: declared,
                body: request.body.map { Array($0.readableBytesView) },
                peer: self.peer(request, context)
            )
            var response = JSONResponse.make(
                stored.created ? .created : .ok,
                Uploaded(id: Hex.encode(stored.id), size: stored.size, expiresMs: stored.expiresMs)
            )
            response.headers[.location] = "/v1/blobs/\(Hex.encode(stored.id))"
            return response
        } catch {
            return Self.failure(error)
        }
    }

    func download(_ request: Request, _ context: GatewayRequestContext, head: Bool) async -> Response {
        guard let id = Self.id(context) else {
            return JSONResponse.failure(.badRequest, "bad_request", "a blob id is 64 hex characters")
        }
        let opened: (fd: Int32, size: Int, blob: BlobRepository.Blob)?
        do {
            opened = try await self.blobs.open(id)
        } catch {
            return Self.failure(error)
        }
        guard let (fd, size, blob) = opened else {
            return JSONResponse.failure(.notFound, "not_found", "no blob \(Hex.encode(id)) (expired or deleted?)")
        }
        let etag = "\"\(Hex.encode(id))\""
        let maxAge = max(0, (blob.expiresMs - Int64(Date().timeIntervalSince1970 * 1000)) / 1000)
        var headers: HTTPFields = [
            .contentType: "application/octet-stream",
            .eTag: etag,
            .acceptRanges: "bytes",
            .cacheControl: "public, max-age=\(maxAge), immutable",
        ]
        if let match = request.headers[.ifNoneMatch], match == etag || match == "*" {
            close(fd)
            return Response(status: .notModified, headers: headers)
        }
        var status = HTTPResponse.Status.ok
        var requestedRange = 0..<size
        if let header = request.headers[.range] {
            guard let requested = Self.range(header, size: size) else {
                close(fd)
                headers[.contentRange] = "bytes */\(size)"
                return Response(status: .rangeNotSatisfiable, headers: headers)
            }
            requestedRange = requested
            status = .partialContent
            headers[.contentRange] = "bytes \(requested.lowerBound)-\(requested.upperBound - 1)/\(size)"
        }
        headers[.contentLength] = "\(requestedRange.count)"
        guard !head else {
            close(fd)
            return Response(status: status, headers: headers)
        }
        let blobs = self.blobs
        let range = requestedRange
        let body = ResponseBody(contentLength: range.count) { writer in
            defer { close(fd) }
            var offset = range.lowerBound
            while offset < range.upperBound {
                let chunk = BlobStore.read(fd, offset: offset, count: min(256 << 10, range.upperBound - offset))
                guard !chunk.isEmpty else { break }
                try await writer.write(ByteBuffer(bytes: chunk))
                offset += chunk.count
            }
            blobs.downloaded(offset - range.lowerBound)
            try await writer.finish(nil)
        }
        return Response(status: status, headers: headers, body: body)
    }

    /// A single byte range of `Range: bytes=…` within `size`; nil when it is not satisfiable
    /// or not understood (several ranges are not served).
    static func range(_ header: String, size: Int) -> Range<Int>? {
        guard header.hasPrefix("bytes="), !header.contains(","), size > 0 else { return nil }
        let spec = header.dropFirst(6)
        guard let dash = spec.firstIndex(of: "-") else { return nil }
        let first = spec[..<dash].trimmingCharacters(in: .whitespaces)
        let last = spec[spec.index(after: dash)...].trimmingCharacters(in: .whitespaces)
        if first.isEmpty {
            // The last N bytes.
            guard let count = Int(last), count > 0 else { return nil }
            return max(0, size - count)..<size
        }
        guard let start = Int(first), start < size else { return nil }
        if last.isEmpty { return start..<size }
        guard let end = Int(last), end >= start else { return nil }
        return start..<min(size, end + 1)
    }

    func delete(_ request: Request, _ context: GatewayRequestContext) async -> Response {
        guard let id = Self.id(context) else {
            return JSONResponse.failure(.badRequest, "bad_request", "a blob id is 64 hex characters")
        }
        do {
            try await self.blobs.delete(id, bearer: try Self.bearer(request))
            return Response(status: .noContent, headers: [.cacheControl: "no-store"])
        } catch {
            return Self.failure(error)
        }
    }

    static func failure(_ error: any Error) -> Response {
        guard let refusal = error as? BlobService.Refusal else { return JSONResponse.unavailable }
        return JSONResponse.failure(HTTPResponse.Status(code: refusal.status), refusal.code, refusal.message)
    }
}

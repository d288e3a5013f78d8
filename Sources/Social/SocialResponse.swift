import Hummingbird
import NIOCore
import Polycentric
import SwiftProtobuf

/// Responses of the social API with upstream's `Cache-Control` values.
enum SocialResponse {
    enum Cache {
        /// Signed, immutable reads: a shared cache keeps them an hour, browsers 5 s.
        case immutableRead
        /// `/explore`: 5 s everywhere.
        case explore
        /// `/ranges`, `/find_claim_and_vouch`: always revalidate.
        case noCache
        /// No header (`/search`, `/version`, `/health`, errors).
        case none

        var headerValue: String? {
            switch self {
            case .immutableRead: "public, s-maxage=3600, max-age=5"
            case .explore: "public, s-maxage=5, max-age=5"
            case .noCache: "no-cache"
            case .none: nil
            }
        }
    }

    static func protobuf(_ message: some SwiftProtobuf.Message, cache: Cache) -> Response {
        var headers = HTTPFields()
        headers[.contentType] = "application/octet-stream"
        if let value = cache.headerValue { headers[.cacheControl] = value }
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: message.serialized)))
    }

    /// An `Events` message of stored SignedEvent bytes.
    static func events(_ raw: [[UInt8]], cache: Cache) throws(PolycentricError) -> Response {
        var events = Userpackage_Events()
        events.events = try raw.map { bytes throws(PolycentricError) in
            try Userpackage_SignedEvent.parse(bytes, what: "stored event")
        }
        return Self.protobuf(events, cache: cache)
    }

    static func text(_ status: HTTPResponse.Status, _ message: String, cache: Cache = .none) -> Response {
        var headers = HTTPFields()
        headers[.contentType] = "text/plain; charset=utf-8"
        if let value = cache.headerValue { headers[.cacheControl] = value }
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(string: message + "\n")))
    }

    static func json(_ body: String, status: HTTPResponse.Status = .ok) -> Response {
        var headers = HTTPFields()
        headers[.contentType] = "application/json"
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(string: body)))
    }
}

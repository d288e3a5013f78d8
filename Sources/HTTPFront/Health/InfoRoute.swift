import BuildInfo
package import Gateway
package import Hummingbird
import NIOCore

/// `GET /v1/info`: the gateway's ``ServerInfo`` as JSON (docs/GATEWAY_SPEC.md §11). The same for
/// every client and for the daemon's whole life, so caches (a CDN in front) may keep it a minute.
package struct InfoRoute: Sendable {
    /// The response body, rendered once.
    let body: String

    package init(_ info: ServerInfo) {
        self.body = info.json + "\n"
    }

    /// How long a client or cache may reuse the answer.
    static let cacheControl = "public, max-age=60"

    package func register<Context: RequestContext>(on router: Router<Context>) {
        router.get("/v1/info") { _, _ in self.response() }
    }

    func response() -> Response {
        var headers: HTTPFields = [.cacheControl: Self.cacheControl]
        headers[.contentType] = "application/json"
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(string: self.body)))
    }
}

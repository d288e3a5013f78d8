import BuildInfo
package import Gateway
package import Hummingbird
import NIOCore
import Primitives

/// `GET /v1/info`: the gateway's ``ServerInfo`` as JSON (docs/GATEWAY_SPEC.md §11). The same for
/// every client; only the sealed-session keys change (on a reload after a rotation), so caches (a
/// CDN in front) may keep it a minute.
package struct InfoRoute: Sendable {
    let info: ServerInfo
    let keys: GatewayKeyStore?

    package init(_ info: ServerInfo, keys: GatewayKeyStore? = nil) {
        self.info = info
        self.keys = keys
    }

    /// The response body, with the keys in force now.
    var body: String {
        var info = self.info
        if let keys = self.keys {
            info.sealedKeys = keys.current.accepted(nowMs: GatewayClock().wallMs).map(ServerInfo.SealedKey.init)
        }
        return info.json + "\n"
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

import Foundation
import HTTPTypes
package import Hummingbird
import NIOCore

/// The JSON answers of the HTTP routes that are not the Polycentric API (pairing, blobs): one
/// object and a newline, keys sorted, never cached; refusals as `{"error": CODE, "message": TEXT}`.
package enum JSONResponse {
    struct Failure: Encodable {
        var error, message: String
    }

    static func make(_ status: HTTPResponse.Status, _ value: some Encodable) -> Response {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let body = ((try? encoder.encode(value)) ?? Data("{}".utf8)) + Data("\n".utf8)
        let headers: HTTPFields = [.contentType: "application/json", .cacheControl: "no-store"]
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: body)))
    }

    static func failure(_ status: HTTPResponse.Status, _ code: String, _ message: String) -> Response {
        Self.make(status, Failure(error: code, message: message))
    }

    /// The answer when the database did not answer.
    static var unavailable: Response {
        Self.failure(.serviceUnavailable, "unavailable", "the gateway cannot reach its database now: try again in a moment")
    }
}

extension ClientAddressPolicy {
    /// The client's address for `request` (§2.4 of GATEWAY_SPEC.md: the peer, or what a trusted
    /// proxy says).
    func clientAddress(of request: Request, _ context: GatewayRequestContext) -> String {
        self.clientAddress(
            peer: context.remoteAddress?.ipAddress ?? "unknown",
            values: request.headers[values: HTTPField.Name(self.header.rawValue)!]
        )
    }
}

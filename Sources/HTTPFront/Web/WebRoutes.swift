import Foundation
import HTTPTypes
package import Hummingbird
import NIOCore

/// The web client under `/app/` (ADR 0028; polygate(7)): the shell (`/app/` or `/app`, and
/// `/app/user/LINK`, `/app/post/LINK` for share links) is never cached; the assets under their
/// content-hashed names are immutable for a year, under their plain names revalidated on every
/// use. Every answer carries the client's Content-Security-Policy. `GET /` leads to `/app/`.
package struct WebRoutes: Sendable {
    /// What the daemon has to serve.
    package enum Content: Sendable {
        case served(WebAssets)
        /// `[web] enabled = false`.
        case disabled
        /// The files could not be loaded (the daemon logged why at startup).
        case broken
    }

    let content: Content

    package init(_ content: Content) {
        self.content = content
    }

    /// Cache-Control of hashed assets: a CDN and the browser keep them.
    static let immutable = "public, max-age=31536000, immutable"
    /// Cache-Control of the shell and of plain asset names: always revalidated.
    static let revalidate = "no-cache"

    static let securityPolicy = HTTPField.Name("Content-Security-Policy")!
    static let contentTypeOptions = HTTPField.Name("X-Content-Type-Options")!
    static let referrerPolicy = HTTPField.Name("Referrer-Policy")!
    static let openerPolicy = HTTPField.Name("Cross-Origin-Opener-Policy")!

    package func register<Context: RequestContext>(on router: Router<Context>) {
        let prefix = WebAssets.prefix
        if case .disabled = self.content {
        } else {
            router.get("/") { _, _ in Self.redirect("\(prefix)/", status: .found) }
        }
        // Hummingbird matches `/app` and `/app/` alike: both are the shell (its URLs are absolute).
        for path in [prefix, "\(prefix)/user/:link", "\(prefix)/post/:link"] {
            router.get(RouterPath(path)) { request, _ in self.shell(request, head: false) }
            router.head(RouterPath(path)) { request, _ in self.shell(request, head: true) }
        }
        router.get("\(prefix)/assets/:name") { request, context in
            self.asset(context.parameters.get("name") ?? "", request, head: false)
        }
        router.head("\(prefix)/assets/:name") { request, context in
            self.asset(context.parameters.get("name") ?? "", request, head: true)
        }
    }

    func shell(_ request: Request, head: Bool) -> Response {
        guard case .served(let assets) = self.content else { return self.unavailable() }
        return Self.answer(
            request,
            body: assets.shell,
            etag: assets.shellETag,
            contentType: "text/html; charset=utf-8",
            cacheControl: Self.revalidate,
            policy: assets.contentSecurityPolicy,
            head: head
        )
    }

    func asset(_ name: String, _ request: Request, head: Bool) -> Response {
        guard case .served(let assets) = self.content else { return self.unavailable() }
        guard let asset = assets.asset(name) else {
            return Self.text(.notFound, "no such file in the web client: \(name.prefix(100))")
        }
        return Self.answer(
            request,
            body: asset.body,
            etag: asset.etag,
            contentType: asset.contentType,
            cacheControl: name == asset.hashedName ? Self.immutable : Self.revalidate,
            policy: assets.contentSecurityPolicy,
            head: head
        )
    }

    /// 200 with the body, or 304 when `If-None-Match` names its ETag.
    static func answer(
        _ request: Request,
        body: [UInt8],
        etag: String,
        contentType: String,
        cacheControl: String,
        policy: String,
        head: Bool
    ) -> Response {
        var headers: HTTPFields = [
            .cacheControl: cacheControl,
            .eTag: etag,
            Self.securityPolicy: policy,
            Self.contentTypeOptions: "nosniff",
            Self.referrerPolicy: "no-referrer",
            Self.openerPolicy: "same-origin",
        ]
        let tags = request.headers[values: .ifNoneMatch].flatMap { $0.split(separator: ",") }
            .map { $0.trimmingCharacters(in: .whitespaces) }
        if tags.contains(etag) || tags.contains("*") {
            return Response(status: .notModified, headers: headers)
        }
        headers[.contentType] = contentType
        headers[.contentLength] = "\(body.count)"
        return Response(status: .ok, headers: headers, body: head ? .init() : .init(byteBuffer: ByteBuffer(bytes: body)))
    }

    func unavailable() -> Response {
        switch self.content {
        case .disabled:
            Self.text(.notFound, "the web client is disabled on this server ([web] enabled = false in polygated.conf)")
        case .broken, .served:
            Self.text(
                .serviceUnavailable,
                "the web client is not installed correctly on this server; its administrator finds why in polygated's log"
            )
        }
    }

    static func text(_ status: HTTPResponse.Status, _ message: String) -> Response {
        Response(
            status: status,
            headers: [.contentType: "text/plain; charset=utf-8", .cacheControl: "no-store"],
            body: .init(byteBuffer: ByteBuffer(string: message + "\n"))
        )
    }

    static func redirect(_ location: String, status: HTTPResponse.Status) -> Response {
        Response(status: status, headers: [.location: location, .cacheControl: "no-cache"])
    }
}

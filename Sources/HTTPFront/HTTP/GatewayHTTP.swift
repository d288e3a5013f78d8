import BuildInfo
package import Hummingbird
package import HummingbirdCore
package import Logging
import NIOCore
package import Social

/// Builds polygated's HTTP front: the router with every route and the per-request responder
/// that `HTTPServer` calls.
package enum GatewayHTTP {
    /// A router with the operational routes and, when given, the Polycentric social API
    /// (with upstream's CORS policy, which must wrap every route including not-found).
    package static func makeRouter(
        health: HealthRoutes,
        info: InfoRoute? = nil,
        social: SocialRoutes? = nil,
        sse: SSERoutes? = nil,
        pairing: PairingRoutes? = nil,
        blobs: BlobRoutes? = nil,
        web: WebRoutes? = nil
    ) -> Router<GatewayRequestContext> {
        let router = Router(context: GatewayRequestContext.self)
        router.add(middleware: MetricsMiddleware())
        if social != nil { router.add(middleware: SocialRoutes.cors(GatewayRequestContext.self)) }
        health.register(on: router)
        info?.register(on: router)
        social?.register(on: router)
        sse?.register(on: router)
        pairing?.register(on: router)
        blobs?.register(on: router)
        web?.register(on: router)
        return router
    }

    /// The per-request function: routes the request, adds `Date` and `Server`, turns an
    /// unexpected error into a 500 (logged, never shown to the client).
    package static func makeResponder(router: Router<GatewayRequestContext>, logger: Logger) -> HTTPChannelHandler.Responder {
        let responder = router.buildResponder()
        let serverName = "polygated/\(PolygateVersion.string)"
        return { request, writer, channel in
            let context = GatewayRequestContext(source: .init(channel: channel, logger: logger))
            var response: Response
            do {
                response = try await responder.respond(to: request, context: context)
            } catch let error as any HTTPResponseError {
                response =
                    (try? error.response(from: request, context: context))
                    ?? Response(status: error.status)
            } catch {
                logger.error("request failed", metadata: ["http.path": "\(request.uri.path)", "error": "\(error)"])
                response = Response(status: .internalServerError)
            }
            response.headers[.date] = HTTPDate.now()
            response.headers[.server] = serverName
            try await writer.write(response: response.head, body: response.body)
        }
    }
}

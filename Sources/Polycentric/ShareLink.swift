import Foundation
import Primitives
import SwiftProtobuf

/// Share links: URL-safe base64 of a serialized `URLInfo` whose body is a system link
/// (`url_type` 1) or an event link (2), each naming servers to find it on. Upstream's web app
/// routes them as `/user/<link>` and `/post/<link>`.
package enum ShareLink: Sendable, Equatable {
    case system(Userpackage_PublicKey, servers: [String])
    case event(Userpackage_PublicKey, process: Userpackage_Process, logicalClock: UInt64, servers: [String])

    /// The link text.
    package var encoded: String {
        var info = Userpackage_URLInfo()
        switch self {
        case .system(let system, let servers):
            var link = Userpackage_URLInfoSystemLink()
            link.system = system
            link.servers = servers
            info.urlType = 1
            info.body = Data(link.serialized)
        case .event(let system, let process, let clock, let servers):
            var link = Userpackage_URLInfoEventLink()
            link.system = system
            link.process = process
            link.logicalClock = clock
            link.servers = servers
            info.urlType = 2
            info.body = Data(link.serialized)
        }
        return Base64.encode(info.serialized, .urlSafe)
    }

    /// Parses a link (either base64 alphabet; a `polycentric://` prefix or a web URL whose last
    /// path segment is the link are accepted too).
    package init(_ text: String) throws(PolycentricError) {
        var text = Substring(text)
        if let slash = text.lastIndex(of: "/") { text = text[text.index(after: slash)...] }
        guard let bytes = Base64.decode(text) else { throw PolycentricError(.badBase64, "share link is not base64") }
        let info = try Userpackage_URLInfo.parse(bytes, what: "share link")
        switch info.urlType {
        case 1:
            let link = try Userpackage_URLInfoSystemLink.parse([UInt8](info.body), what: "system link")
            self = .system(try link.system.validated(), servers: link.servers)
        case 2:
            let link = try Userpackage_URLInfoEventLink.parse([UInt8](info.body), what: "event link")
            guard link.process.process.count == 16 else { throw PolycentricError(.badProcess, "a process is 16 bytes") }
            self = .event(
                try link.system.validated(),
                process: link.process,
                logicalClock: link.logicalClock,
                servers: link.servers
            )
        default:
            throw PolycentricError(.badParameter, "url_type \(info.urlType) is not a system (1) or event (2) link")
        }
    }
}

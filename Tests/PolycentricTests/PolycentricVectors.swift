import Foundation
import Primitives

/// `Tests/Vectors/polycentric/vectors-v1-selfderived.json`, found from this file's path.
struct PolycentricVectors: Decodable {
    struct Event: Decodable {
        var name: String
        var logicalClock: UInt64
        var contentType: UInt64
        var contentHex: String
        var eventBytesHex: String
        var signatureHex: String
        var digestHex: String
        var pointerHex: String
        var pointerID: String
        var signedEventHex: String

        enum CodingKeys: String, CodingKey {
            case name
            case logicalClock = "logical_clock"
            case contentType = "content_type"
            case contentHex = "content_hex"
            case eventBytesHex = "event_bytes_hex"
            case signatureHex = "signature_hex"
            case digestHex = "sha256_of_event_bytes_hex"
            case pointerHex = "Pointer_proto_hex"
            case pointerID = "pointer_std_base64 (search doc id / cache tag pointer-...)"
            case signedEventHex = "SignedEvent_proto_hex"
        }
    }

    struct Upstream: Decodable {
        var queryReferences: String
        var trustRoot: String

        enum CodingKeys: String, CodingKey {
            case queryReferences =
                "query_references_request_base64url_nopad (seen verbatim in a public client file; real production data)"
            case trustRoot =
                "FUTO_verifier_trust_root_public_key_std_base64 (raw 32-byte Ed25519 key, used as trust_root in /resolve_claim by Grayjay)"
        }
    }

    var seedHex: String
    var publicKeyHex: String
    var processHex: String
    var publicKeyProtoHex: String
    var systemID: String
    var systemQueryID: String
    var processProtoHex: String
    var processID: String
    var events: [Event]
    var postBodyHex: String
    var rangesHex: String
    var rangesQuery: String
    var eventsQuery: String
    var queryLatestQuery: String
    var queryReferencesQuery: String
    var upstream: Upstream

    enum CodingKeys: String, CodingKey {
        case seedHex = "private_key_seed_hex"
        case publicKeyHex = "public_key_hex"
        case processHex = "process_hex"
        case publicKeyProtoHex = "PublicKey_proto_hex"
        case systemID = "system_id_std_base64_padded (TS PublicKey.toString / Rust to_base64 / cache tags)"
        case systemQueryID = "system_id_base64url_nopad (query param ?system=)"
        case processProtoHex = "Process_proto_hex"
        case processID = "process_std_base64 (TS Process.toString)"
        case events
        case postBodyHex = "POST_/events_body_hex (Events{all six})"
        case rangesHex = "RangesForSystem{process:[1..6]}_hex"
        case rangesQuery = "GET_/ranges_query"
        case eventsQuery = "GET_/events_query"
        case queryLatestQuery = "GET_/query_latest_query (event_types=[5,6,9])"
        case queryReferencesQuery = "GET_/query_references_query (replies (type 3) to event 1)"
        case upstream = "upstream_fixtures"
    }

    static let directory = String(#filePath.split(separator: "/Tests/", maxSplits: 1)[0]) + "/Tests/Vectors/polycentric"

    static func load() throws -> PolycentricVectors {
        let data = try Data(contentsOf: URL(fileURLWithPath: "\(Self.directory)/vectors-v1-selfderived.json"))
        return try JSONDecoder().decode(PolycentricVectors.self, from: data)
    }
}

func hex(_ text: String) -> [UInt8] { Hex.decode(text)! }

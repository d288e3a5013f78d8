import Foundation
import Primitives
package import SwiftProtobuf

/// The request paths (with query strings) of the Polycentric v1 HTTP API, encoded as upstream's
/// client encodes them: binary parameters as URL-safe unpadded base64 of the serialized message.
/// The same inputs give the same URL, which is what lets a CDN cache reads.
package enum RequestPaths {
    package static func ranges(system: Userpackage_PublicKey) -> String {
        "/ranges?system=\(system.queryID)"
    }

    package static func events(system: Userpackage_PublicKey, ranges: Userpackage_RangesForSystem) -> String {
        "/events?system=\(system.queryID)&ranges=\(Self.parameter(ranges))"
    }

    package static func head(system: Userpackage_PublicKey) -> String {
        "/head?system=\(system.queryID)"
    }

    package static func queryLatest(system: Userpackage_PublicKey, contentTypes: [ContentType]) -> String {
        var types = Userpackage_RepeatedUInt64()
        types.numbers = contentTypes.map(\.rawValue)
        return "/query_latest?system=\(system.queryID)&event_types=\(Self.parameter(types))"
    }

    package static func queryIndex(
        system: Userpackage_PublicKey,
        contentType: ContentType,
        after: UInt64? = nil,
        limit: Int? = nil
    ) -> String {
        var path = "/query_index?system=\(system.queryID)&content_type=\(contentType.rawValue)"
        if let after { path += "&after=\(after)" }
        if let limit { path += "&limit=\(limit)" }
        return path
    }

    package static func queryReferences(_ request: Userpackage_QueryReferencesRequest) -> String {
        "/query_references?query=\(Self.parameter(request))"
    }

    package static func explore(cursor: [UInt8]? = nil, limit: Int? = nil) -> String {
        var items: [String] = []
        if let cursor { items.append("cursor=\(Base64.encode(cursor, .urlSafe))") }
        if let limit { items.append("limit=\(limit)") }
        return items.isEmpty ? "/explore" : "/explore?" + items.joined(separator: "&")
    }

    package static func search(_ text: String, type: String? = nil, cursor: [UInt8]? = nil, limit: Int? = nil) -> String {
        var path = "/search?search=\(Self.percentEncoded(text))"
        if let type { path += "&search_type=\(type)" }
        if let cursor { path += "&cursor=\(Base64.encode(cursor, .urlSafe))" }
        if let limit { path += "&limit=\(limit)" }
        return path
    }

    package static func resolveClaim(_ request: Userpackage_QueryClaimToSystemRequest) -> String {
        "/resolve_claim?query=\(Self.parameter(request))"
    }

    package static func findClaimAndVouch(_ request: Userpackage_FindClaimAndVouchRequest) -> String {
        "/find_claim_and_vouch?query=\(Self.parameter(request))"
    }

    /// URL-safe unpadded base64 of a serialized message.
    package static func parameter(_ message: some SwiftProtobuf.Message) -> String {
        Base64.encode(message.serialized, .urlSafe)
    }

    /// RFC 3986 percent-encoding of everything but unreserved characters.
    package static func percentEncoded(_ text: String) -> String {
        var out = ""
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
                UInt8(ascii: "0")...UInt8(ascii: "9"),
                UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"):
                out.unicodeScalars.append(Unicode.Scalar(byte))
            default:
                out += "%" + String(byte, radix: 16, uppercase: true).leftPadded(to: 2)
            }
        }
        return out
    }
}

extension String {
    fileprivate func leftPadded(to width: Int) -> String {
        self.count >= width ? self : String(repeating: "0", count: width - self.count) + self
    }
}

extension Userpackage_RangesForSystem {
    /// Ranges per process, processes in the given order.
    package init(_ ranges: [(process: Userpackage_Process, ranges: ClockRanges)]) {
        self.init()
        self.rangesForProcesses = ranges.map { entry in
            var forProcess = Userpackage_RangesForProcess()
            forProcess.process = entry.process
            forProcess.ranges = entry.ranges.ranges.map { range in
                var wire = Userpackage_Range()
                wire.low = range.lowerBound
                wire.high = range.upperBound
                return wire
            }
            return forProcess
        }
    }

    /// The ranges per process id (16 bytes); inverted ranges are refused.
    package func clockRanges() throws(PolycentricError) -> [(process: [UInt8], ranges: ClockRanges)] {
        var result: [(process: [UInt8], ranges: ClockRanges)] = []
        for entry in self.rangesForProcesses {
            guard entry.process.process.count == 16 else { throw PolycentricError(.badProcess, "a process is 16 bytes") }
            var ranges: [ClosedRange<UInt64>] = []
            for range in entry.ranges {
                guard range.low <= range.high else {
                    throw PolycentricError(.badParameter, "range \(range.low)-\(range.high) is inverted")
                }
                ranges.append(range.low...range.high)
            }
            result.append(([UInt8](entry.process.process), ClockRanges(ranges)))
        }
        return result
    }
}

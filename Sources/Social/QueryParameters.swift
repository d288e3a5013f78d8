import Hummingbird
package import Polycentric
import Primitives
import SwiftProtobuf

/// A request's query parameters, decoded as upstream encodes them; every failure is a
/// ``PolycentricError`` (a 400 with a message naming the parameter).
struct QueryParameters {
    let values: [Substring: Substring]

    init(_ request: Request) throws(PolycentricError) {
        var values: [Substring: Substring] = [:]
        for (name, value) in request.uri.queryParameters {
            guard values[name] == nil else { throw PolycentricError(.badParameter, "\(name): given twice") }
            values[name] = value
        }
        self.values = values
    }

    func string(_ name: String) -> String? {
        self.values[Substring(name)].map(String.init)
    }

    /// Base64 (either alphabet, padded or not).
    func bytes(_ name: String) throws(PolycentricError) -> [UInt8]? {
        guard let text = self.values[Substring(name)] else { return nil }
        guard let bytes = Base64.decode(text) else { throw PolycentricError(.badBase64, "\(name): not base64") }
        return bytes
    }

    /// A required protobuf message, base64-encoded.
    func message<M: SwiftProtobuf.Message>(_ name: String, _ type: M.Type) throws(PolycentricError) -> M {
        guard let bytes = try self.bytes(name) else { throw PolycentricError(.badParameter, "\(name): missing") }
        return try M.parse(bytes, what: name)
    }

    /// `system`: the raw key of a base64 `PublicKey`.
    func system() throws(PolycentricError) -> [UInt8] {
        let key = try self.message("system", Userpackage_PublicKey.self).validated()
        return [UInt8](key.key)
    }

    /// A decimal integer in 0..<2^63.
    func integer(_ name: String, required: Bool = false) throws(PolycentricError) -> Int64? {
        guard let text = self.values[Substring(name)] else {
            if required { throw PolycentricError(.badParameter, "\(name): missing") }
            return nil
        }
        guard let value = Int64(text), value >= 0 else {
            throw PolycentricError(.badParameter, "\(name): not a non-negative integer")
        }
        return value
    }
}

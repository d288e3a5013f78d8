package import SwiftProtobuf

extension SwiftProtobuf.Message {
    /// The serialized message. Serializing a message that was built or parsed cannot fail
    /// (no required fields in proto3), so this does not throw.
    package var serialized: [UInt8] {
        // swift-protobuf only throws for missing proto2 required fields or bad Any types.
        try! self.serializedBytes()
    }

    /// Parses `bytes`, mapping swift-protobuf's error to ``PolycentricError/Code/malformed``.
    package static func parse(_ bytes: [UInt8], what: String) throws(PolycentricError) -> Self {
        do {
            return try Self(serializedBytes: bytes)
        } catch {
            throw PolycentricError(.malformed, "\(what) is not valid protobuf")
        }
    }
}

/// `Event.content_type` numbers of Polycentric v1 (upstream's TypeScript and Rust numbering;
/// 17–21 differ in the Kotlin client and are treated as opaque).
package struct ContentType: RawRepresentable, Hashable, Sendable, Comparable, CustomStringConvertible {
    package var rawValue: UInt64
    package init(rawValue: UInt64) { self.rawValue = rawValue }
    package init(_ rawValue: UInt64) { self.rawValue = rawValue }

    package static let delete = ContentType(1)
    package static let systemProcesses = ContentType(2)
    package static let post = ContentType(3)
    package static let follow = ContentType(4)
    package static let username = ContentType(5)
    package static let description = ContentType(6)
    package static let blobMeta = ContentType(7)
    package static let blobSection = ContentType(8)
    package static let avatar = ContentType(9)
    package static let server = ContentType(10)
    package static let vouch = ContentType(11)
    package static let claim = ContentType(12)
    package static let banner = ContentType(13)
    package static let opinion = ContentType(14)
    package static let store = ContentType(15)
    package static let authority = ContentType(16)
    package static let joinTopic = ContentType(17)
    package static let block = ContentType(18)
    package static let blockTopic = ContentType(19)

    package static func < (lhs: ContentType, rhs: ContentType) -> Bool { lhs.rawValue < rhs.rawValue }
    package var description: String { String(self.rawValue) }
}

/// `Reference.reference_type` numbers.
package enum ReferenceType {
    /// bytes = a serialized `PublicKey`.
    package static let system: UInt64 = 1
    /// bytes = a serialized `Pointer`.
    package static let pointer: UInt64 = 2
    /// bytes = raw bytes (a topic, e.g. a URL in UTF-8).
    package static let bytes: UInt64 = 3
}

/// Opinion values (`LWWElement.value` of content type 14).
package enum Opinion {
    package static let like: [UInt8] = [1]
    package static let dislike: [UInt8] = [2]
    package static let neutral: [UInt8] = [3]
}

/// `Event.content_type` numbers of Polycentric v1 (upstream's TypeScript and Rust numbering;
/// 17–21 differ in the Kotlin client and are treated as opaque).
public struct ContentType: RawRepresentable, Hashable, Sendable, Comparable, CustomStringConvertible {
    public var rawValue: UInt64
    public init(rawValue: UInt64) { self.rawValue = rawValue }
    public init(_ rawValue: UInt64) { self.rawValue = rawValue }

    public static let delete = ContentType(1)
    public static let systemProcesses = ContentType(2)
    public static let post = ContentType(3)
    public static let follow = ContentType(4)
    public static let username = ContentType(5)
    public static let description = ContentType(6)
    public static let blobMeta = ContentType(7)
    public static let blobSection = ContentType(8)
    public static let avatar = ContentType(9)
    public static let server = ContentType(10)
    public static let vouch = ContentType(11)
    public static let claim = ContentType(12)
    public static let banner = ContentType(13)
    public static let opinion = ContentType(14)
    public static let store = ContentType(15)
    public static let authority = ContentType(16)
    public static let joinTopic = ContentType(17)
    public static let block = ContentType(18)
    public static let blockTopic = ContentType(19)

    public static func < (lhs: ContentType, rhs: ContentType) -> Bool { lhs.rawValue < rhs.rawValue }
    public var description: String { String(self.rawValue) }
}

/// `Reference.reference_type` numbers.
public enum ReferenceType {
    /// bytes = a serialized `PublicKey`.
    public static let system: UInt64 = 1
    /// bytes = a serialized `Pointer`.
    public static let pointer: UInt64 = 2
    /// bytes = raw bytes (a topic, e.g. a URL in UTF-8).
    public static let bytes: UInt64 = 3
}

/// Opinion values (`LWWElement.value` of content type 14).
public enum Opinion {
    public static let like: [UInt8] = [1]
    public static let dislike: [UInt8] = [2]
    public static let neutral: [UInt8] = [3]
}

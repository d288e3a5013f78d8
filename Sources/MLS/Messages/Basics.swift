/// `uint16 ProtocolVersion`; MLS 1.0 is 1. Other values are kept (capabilities may list them).
public typealias ProtocolVersion = UInt16
/// `uint16 CipherSuite` as it appears on the wire (resolve with `CipherSuite(id:)`).
public typealias CipherSuiteID = UInt16
/// `uint16 ExtensionType`.
public typealias ExtensionType = UInt16
/// `uint16 ProposalType`.
public typealias ProposalType = UInt16
/// `uint16 CredentialType`.
public typealias CredentialType = UInt16

/// Registered code points (RFC 9420 §17).
public enum MLSCode {
    public static let mls10: ProtocolVersion = 1

    public enum Extension {
        public static let applicationID: ExtensionType = 0x0001
        public static let ratchetTree: ExtensionType = 0x0002
        public static let requiredCapabilities: ExtensionType = 0x0003
        public static let externalPub: ExtensionType = 0x0004
        public static let externalSenders: ExtensionType = 0x0005
    }

    public enum Proposal {
        public static let add: ProposalType = 0x0001
        public static let update: ProposalType = 0x0002
        public static let remove: ProposalType = 0x0003
        public static let psk: ProposalType = 0x0004
        public static let reinit: ProposalType = 0x0005
        public static let externalInit: ProposalType = 0x0006
        public static let groupContextExtensions: ProposalType = 0x0007
    }

    public enum Credential {
        public static let basic: CredentialType = 0x0001
        public static let x509: CredentialType = 0x0002
    }
}

/// `uint16 WireFormat`.
public enum WireFormat: UInt16, Sendable, Hashable {
    case publicMessage = 1
    case privateMessage = 2
    case welcome = 3
    case groupInfo = 4
    case keyPackage = 5
}

/// `enum ContentType`.
public enum ContentType: UInt8, Sendable, Hashable {
    case application = 1
    case proposal = 2
    case commit = 3
}

extension WireFormat: MLSCodable {
    public init(from reader: inout MLSReader) throws(MLSDecodingError) {
        let raw = try reader.readUInt16()
        guard let value = WireFormat(rawValue: raw) else { throw reader.error(.unknownValue, "wire format \(raw)") }
        self = value
    }

    public func encode(to writer: inout MLSWriter) { writer.writeUInt16(self.rawValue) }
}

extension ContentType: MLSCodable {
    public init(from reader: inout MLSReader) throws(MLSDecodingError) {
        let raw = try reader.readUInt8()
        guard let value = ContentType(rawValue: raw) else { throw reader.error(.unknownValue, "content type \(raw)") }
        self = value
    }

    public func encode(to writer: inout MLSWriter) { writer.writeUInt8(self.rawValue) }
}

/// `struct { ExtensionType extension_type; opaque extension_data<V>; } Extension`.
public struct Extension: MLSCodable, Hashable {
    public var type: ExtensionType
    public var data: [UInt8]

    public init(type: ExtensionType, data: [UInt8]) {
        self.type = type
        self.data = data
    }

    public init(from reader: inout MLSReader) throws(MLSDecodingError) {
        self.type = try reader.readUInt16()
        self.data = try reader.readOpaque()
    }

    public func encode(to writer: inout MLSWriter) {
        writer.writeUInt16(self.type)
        writer.writeOpaque(self.data)
    }
}

/// `struct { opaque kem_output<V>; opaque ciphertext<V>; } HPKECiphertext`.
public struct HPKECiphertext: MLSCodable, Hashable {
    public var kemOutput: [UInt8]
    public var ciphertext: [UInt8]

    public init(kemOutput: [UInt8], ciphertext: [UInt8]) {
        self.kemOutput = kemOutput
        self.ciphertext = ciphertext
    }

    public init(from reader: inout MLSReader) throws(MLSDecodingError) {
        self.kemOutput = try reader.readOpaque()
        self.ciphertext = try reader.readOpaque()
    }

    public func encode(to writer: inout MLSWriter) {
        writer.writeOpaque(self.kemOutput)
        writer.writeOpaque(self.ciphertext)
    }
}

/// `uint16 ProtocolVersion`; MLS 1.0 is 1. Other values are kept (capabilities may list them).
package typealias ProtocolVersion = UInt16
/// `uint16 CipherSuite` as it appears on the wire (resolve with `CipherSuite(id:)`).
package typealias CipherSuiteID = UInt16
/// `uint16 ExtensionType`.
package typealias ExtensionType = UInt16
/// `uint16 ProposalType`.
package typealias ProposalType = UInt16
/// `uint16 CredentialType`.
package typealias CredentialType = UInt16

/// Registered code points (RFC 9420 §17).
package enum MLSCode {
    package static let mls10: ProtocolVersion = 1

    package enum Extension {
        package static let applicationID: ExtensionType = 0x0001
        package static let ratchetTree: ExtensionType = 0x0002
        package static let requiredCapabilities: ExtensionType = 0x0003
        package static let externalPub: ExtensionType = 0x0004
        package static let externalSenders: ExtensionType = 0x0005
    }

    package enum Proposal {
        package static let add: ProposalType = 0x0001
        package static let update: ProposalType = 0x0002
        package static let remove: ProposalType = 0x0003
        package static let psk: ProposalType = 0x0004
        package static let reinit: ProposalType = 0x0005
        package static let externalInit: ProposalType = 0x0006
        package static let groupContextExtensions: ProposalType = 0x0007
    }

    package enum Credential {
        package static let basic: CredentialType = 0x0001
        package static let x509: CredentialType = 0x0002
    }
}

/// `uint16 WireFormat`.
package enum WireFormat: UInt16, Sendable, Hashable {
    case publicMessage = 1
    case privateMessage = 2
    case welcome = 3
    case groupInfo = 4
    case keyPackage = 5
}

/// `enum ContentType`.
package enum ContentType: UInt8, Sendable, Hashable {
    case application = 1
    case proposal = 2
    case commit = 3
}

extension WireFormat: MLSCodable {
    package init(from reader: inout MLSReader) throws(MLSDecodingError) {
        let raw = try reader.readUInt16()
        guard let value = WireFormat(rawValue: raw) else { throw reader.error(.unknownValue, "wire format \(raw)") }
        self = value
    }

    package func encode(to writer: inout MLSWriter) { writer.writeUInt16(self.rawValue) }
}

extension ContentType: MLSCodable {
    package init(from reader: inout MLSReader) throws(MLSDecodingError) {
        let raw = try reader.readUInt8()
        guard let value = ContentType(rawValue: raw) else { throw reader.error(.unknownValue, "content type \(raw)") }
        self = value
    }

    package func encode(to writer: inout MLSWriter) { writer.writeUInt8(self.rawValue) }
}

/// `struct { ExtensionType extension_type; opaque extension_data<V>; } Extension`.
package struct Extension: MLSCodable, Hashable {
    package var type: ExtensionType
    package var data: [UInt8]

    package init(type: ExtensionType, data: [UInt8]) {
        self.type = type
        self.data = data
    }

    package init(from reader: inout MLSReader) throws(MLSDecodingError) {
        self.type = try reader.readUInt16()
        self.data = try reader.readOpaque()
    }

    package func encode(to writer: inout MLSWriter) {
        writer.writeUInt16(self.type)
        writer.writeOpaque(self.data)
    }
}

/// `struct { opaque kem_output<V>; opaque ciphertext<V>; } HPKECiphertext`.
package struct HPKECiphertext: MLSCodable, Hashable {
    package var kemOutput: [UInt8]
    package var ciphertext: [UInt8]

    package init(kemOutput: [UInt8], ciphertext: [UInt8]) {
        self.kemOutput = kemOutput
        self.ciphertext = ciphertext
    }

    package init(from reader: inout MLSReader) throws(MLSDecodingError) {
        self.kemOutput = try reader.readOpaque()
        self.ciphertext = try reader.readOpaque()
    }

    package func encode(to writer: inout MLSWriter) {
        writer.writeOpaque(self.kemOutput)
        writer.writeOpaque(self.ciphertext)
    }
}

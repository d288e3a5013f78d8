/// `Credential` (RFC 9420 §5.3): a basic identity or a chain of DER X.509 certificates.
package enum Credential: MLSCodable, Hashable {
    case basic(identity: [UInt8])
    case x509(certificates: [[UInt8]])

    package var type: CredentialType {
        switch self {
        case .basic: MLSCode.Credential.basic
        case .x509: MLSCode.Credential.x509
        }
    }

    package init(from reader: inout MLSReader) throws(MLSDecodingError) {
        let type = try reader.readUInt16()
        switch type {
        case MLSCode.Credential.basic:
            self = .basic(identity: try reader.readOpaque())
        case MLSCode.Credential.x509:
            self = .x509(
                certificates: try reader.readVector { (r: inout MLSReader) throws(MLSDecodingError) in try r.readOpaque() }
            )
        default:
            throw reader.error(.unknownValue, "credential type \(type)")
        }
    }

    package func encode(to writer: inout MLSWriter) {
        writer.writeUInt16(self.type)
        switch self {
        case .basic(let identity): writer.writeOpaque(identity)
        case .x509(let certificates): writer.writeVector(certificates) { w, certificate in w.writeOpaque(certificate) }
        }
    }
}

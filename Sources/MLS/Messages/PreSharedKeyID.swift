/// `PreSharedKeyID` (RFC 9420 §8.4): an external PSK by id, or a resumption PSK of a group epoch.
package struct PreSharedKeyID: MLSCodable, Hashable {
    package enum ResumptionUsage: UInt8, Sendable, Hashable {
        case application = 1
        case reinit = 2
        case branch = 3
    }

    package enum Kind: Hashable, Sendable {
        case external(pskID: [UInt8])
        case resumption(usage: ResumptionUsage, groupID: [UInt8], epoch: UInt64)
    }

    package var kind: Kind
    package var nonce: [UInt8]

    package init(kind: Kind, nonce: [UInt8]) {
        self.kind = kind
        self.nonce = nonce
    }

    package init(from reader: inout MLSReader) throws(MLSDecodingError) {
        let type = try reader.readUInt8()
        switch type {
        case 1:
            self.kind = .external(pskID: try reader.readOpaque())
        case 2:
            let raw = try reader.readUInt8()
            guard let usage = ResumptionUsage(rawValue: raw) else { throw reader.error(.unknownValue, "resumption usage \(raw)") }
            self.kind = .resumption(usage: usage, groupID: try reader.readOpaque(), epoch: try reader.readUInt64())
        default:
            throw reader.error(.unknownValue, "PSK type \(type)")
        }
        self.nonce = try reader.readOpaque()
    }

    package func encode(to writer: inout MLSWriter) {
        switch self.kind {
        case .external(let pskID):
            writer.writeUInt8(1)
            writer.writeOpaque(pskID)
        case .resumption(let usage, let groupID, let epoch):
            writer.writeUInt8(2)
            writer.writeUInt8(usage.rawValue)
            writer.writeOpaque(groupID)
            writer.writeUInt64(epoch)
        }
        writer.writeOpaque(self.nonce)
    }
}

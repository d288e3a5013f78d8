/// `ProposalOrRef`: a proposal by value or by its `ProposalRef`.
package enum ProposalOrRef: MLSCodable, Hashable {
    case proposal(Proposal)
    case reference([UInt8])

    package init(from reader: inout MLSReader) throws(MLSDecodingError) {
        let type = try reader.readUInt8()
        switch type {
        case 1: self = .proposal(try reader.read(Proposal.self))
        case 2: self = .reference(try reader.readOpaque())
        default: throw reader.error(.unknownValue, "proposal-or-ref type \(type)")
        }
    }

    package func encode(to writer: inout MLSWriter) {
        switch self {
        case .proposal(let proposal):
            writer.writeUInt8(1)
            writer.write(proposal)
        case .reference(let reference):
            writer.writeUInt8(2)
            writer.writeOpaque(reference)
        }
    }
}

/// `UpdatePathNode`.
package struct UpdatePathNode: MLSCodable, Hashable {
    package var encryptionKey: [UInt8]
    package var encryptedPathSecret: [HPKECiphertext]

    package init(encryptionKey: [UInt8], encryptedPathSecret: [HPKECiphertext]) {
        self.encryptionKey = encryptionKey
        self.encryptedPathSecret = encryptedPathSecret
    }

    package init(from reader: inout MLSReader) throws(MLSDecodingError) {
        self.encryptionKey = try reader.readOpaque()
        self.encryptedPathSecret = try reader.readVector(of: HPKECiphertext.self)
    }

    package func encode(to writer: inout MLSWriter) {
        writer.writeOpaque(self.encryptionKey)
        writer.writeVector(self.encryptedPathSecret)
    }
}

/// `UpdatePath`.
package struct UpdatePath: MLSCodable, Hashable {
    package var leafNode: LeafNode
    package var nodes: [UpdatePathNode]

    package init(leafNode: LeafNode, nodes: [UpdatePathNode]) {
        self.leafNode = leafNode
        self.nodes = nodes
    }

    package init(from reader: inout MLSReader) throws(MLSDecodingError) {
        self.leafNode = try reader.read(LeafNode.self)
        self.nodes = try reader.readVector(of: UpdatePathNode.self)
    }

    package func encode(to writer: inout MLSWriter) {
        writer.write(self.leafNode)
        writer.writeVector(self.nodes)
    }
}

/// `Commit` (RFC 9420 §12.4).
package struct Commit: MLSCodable, Hashable {
    package var proposals: [ProposalOrRef]
    package var path: UpdatePath?

    package init(proposals: [ProposalOrRef], path: UpdatePath?) {
        self.proposals = proposals
        self.path = path
    }

    package init(from reader: inout MLSReader) throws(MLSDecodingError) {
        self.proposals = try reader.readVector(of: ProposalOrRef.self)
        self.path = try reader.readOptional(of: UpdatePath.self)
    }

    package func encode(to writer: inout MLSWriter) {
        writer.writeVector(self.proposals)
        writer.writeOptional(self.path)
    }
}
